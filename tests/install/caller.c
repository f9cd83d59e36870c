/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A caller of the display and input calls, written against the installed
 * headers only (libkrun.h, libkrun_display.h, libkrun_input.h) and built
 * with the installed libkrun.pc: that it compiles, links and gets
 * upstream's answers without a GPU or virtio-input (-ENOTSUP) is the test.
 */
#include <errno.h>
#include <stdio.h>

#include <libkrun.h>
#include <libkrun_display.h>
#include <libkrun_input.h>

static int32_t disable(void *instance, uint32_t scanout_id)
{
    (void)instance;
    (void)scanout_id;
    return 0;
}

static int32_t next_event(void *instance, struct krun_input_event *ev)
{
    (void)instance;
    (void)ev;
    return 0;
}

int main(void)
{
    int32_t ctx = krun_create_ctx();
    if (ctx < 0) {
        fprintf(stderr, "krun_create_ctx: %d\n", ctx);
        return 1;
    }
    struct krun_display_backend display = {
        .features = KRUN_DISPLAY_FEATURE_BASIC_FRAMEBUFFER,
        .vtable.basic_framebuffer.disable_scanout = disable,
    };
    struct krun_input_config config = {.features = KRUN_INPUT_CONFIG_FEATURE_QUERY};
    struct krun_input_event_provider events = {.vtable.next_event = next_event};
    int32_t d = krun_set_display_backend((uint32_t)ctx, &display, sizeof(display));
    int32_t i =
        krun_add_input_device((uint32_t)ctx, &config, sizeof(config), &events, sizeof(events));
    printf("display %d input %d\n", d, i);
    return d == -ENOTSUP && i == -ENOTSUP && krun_free_ctx((uint32_t)ctx) == 0 ? 0 : 1;
}
