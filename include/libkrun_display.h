/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The display backend interface of libkrun (krun_set_display_backend): a
 * table of callbacks through which the host application shows what the
 * guest draws on a virtio-gpu scanout. The layout, constants and calling
 * rules are those of upstream libkrun's libkrun_display.h, so that callers
 * written for it compile unchanged.
 *
 * libkrun-c does not build a GPU device yet: krun_set_display_backend
 * returns -ENOTSUP, as upstream's library built without one does.
 */
#ifndef LIBKRUN_DISPLAY_H
#define LIBKRUN_DISPLAY_H

#include <inttypes.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Errors a callback returns (negative). */
#define KRUN_DISPLAY_ERR_INTERNAL           -1
#define KRUN_DISPLAY_ERR_METHOD_UNSUPPORTED -2
#define KRUN_DISPLAY_ERR_INVALID_SCANOUT_ID -3
#define KRUN_DISPLAY_ERR_INVALID_PARAM      -4
#define KRUN_DISPLAY_ERR_OUT_OF_BUFFERS     -5

/* Pixel formats: the values of the virtio-gpu formats of the same names. */
#define KRUN_DISPLAY_FORMAT_B8G8R8A8_UNORM 1
#define KRUN_DISPLAY_FORMAT_B8G8R8X8_UNORM 2
#define KRUN_DISPLAY_FORMAT_A8R8G8B8_UNORM 3
#define KRUN_DISPLAY_FORMAT_X8R8G8B8_UNORM 4
#define KRUN_DISPLAY_FORMAT_R8G8B8A8_UNORM 67
#define KRUN_DISPLAY_FORMAT_X8B8G8R8_UNORM 68
#define KRUN_DISPLAY_FORMAT_A8B8G8R8_UNORM 121
#define KRUN_DISPLAY_FORMAT_R8G8B8X8_UNORM 134

/*
 * Features (struct krun_display_backend.features):
 * BASIC_FRAMEBUFFER needs disable_scanout, configure_scanout, alloc_frame and
 * present_frame; DMABUF_CONSUMER needs those of struct krun_display_dmabuf_vtable.
 */
#define KRUN_DISPLAY_FEATURE_BASIC_FRAMEBUFFER 1
#define KRUN_DISPLAY_FEATURE_DMABUF_CONSUMER   2

/*
 * All callbacks are made from one thread of the GPU device and should not
 * block for long. Those returning int32_t return 0 (or an id) on success and
 * a KRUN_DISPLAY_ERR_* code on failure. "instance" is what create stored.
 */

/* Make an instance: store it in *instance (any value, NULL too). */
typedef int32_t (*krun_display_create_fn)(void **instance, const void *userdata,
                                          const void *reserved);
typedef int32_t (*krun_display_destroy_fn)(void *instance);

/* (Re)configure a scanout: the display's size, the scanout's size and its KRUN_DISPLAY_FORMAT_*. */
typedef int32_t (*krun_display_configure_scanout_fn)(void *instance, uint32_t scanout_id,
                                                     uint32_t display_width,
                                                     uint32_t display_height, uint32_t width,
                                                     uint32_t height, uint32_t format);
typedef int32_t (*krun_display_disable_scanout_fn)(void *instance, uint32_t scanout_id);

/*
 * Give libkrun a writable buffer for the next frame of a scanout (*buffer,
 * *buffer_size bytes). Returns the frame's id (>= 0).
 */
typedef int32_t (*krun_display_alloc_frame_fn)(void *instance, uint32_t scanout_id,
                                               uint8_t **buffer, size_t *buffer_size);

struct krun_rect {
    uint32_t x;
    uint32_t y;
    uint32_t width;
    uint32_t height;
};

/*
 * Show a frame from alloc_frame; the frame id is spent. damage_area, when
 * not NULL, is the part that changed since the last frame.
 */
typedef int32_t (*krun_display_present_frame_fn)(void *instance, uint32_t scanout_id,
                                                 uint32_t frame_id,
                                                 const struct krun_rect *damage_area);

/* A dmabuf libkrun hands to the backend: up to four planes. */
struct krun_display_dmabuf_export {
    int dmabuf_fds[4];
    uint32_t n_planes;
    uint32_t width;
    uint32_t height;
    uint32_t fourcc;
    uint32_t strides[4];
    uint32_t offsets[4];
    uint64_t modifier;
};

/* Import a dmabuf; returns its id (> 0). */
typedef int32_t (*krun_display_import_dmabuf_fn)(
    void *instance, const struct krun_display_dmabuf_export *dmabuf_export);
typedef int32_t (*krun_display_unref_dmabuf_fn)(void *instance, uint32_t dmabuf_id);
/* Scan out an imported dmabuf (src_rect NULL: all of it). */
typedef int32_t (*krun_display_configure_scanout_dmabuf_fn)(void *instance, uint32_t scanout_id,
                                                            uint32_t display_width,
                                                            uint32_t display_height,
                                                            uint32_t dmabuf_id,
                                                            const struct krun_rect *src_rect);
typedef int32_t (*krun_display_present_dmabuf_fn)(void *instance, uint32_t scanout_id,
                                                  const struct krun_rect *damage_area);

/*
 * The callback tables. Zero-initialise them: fields added later stay NULL.
 * destroy is optional.
 */
struct krun_display_basic_framebuffer_vtable {
    krun_display_destroy_fn destroy;
    krun_display_disable_scanout_fn disable_scanout;
    krun_display_configure_scanout_fn configure_scanout;
    krun_display_alloc_frame_fn alloc_frame;
    krun_display_present_frame_fn present_frame;
};

struct krun_display_dmabuf_vtable {
    struct krun_display_basic_framebuffer_vtable basic_framebuffer;
    krun_display_import_dmabuf_fn import_dmabuf;
    krun_display_unref_dmabuf_fn unref_dmabuf;
    krun_display_configure_scanout_dmabuf_fn configure_scanout_dmabuf;
    krun_display_present_dmabuf_fn present_dmabuf;
};

union krun_display_vtable {
    struct krun_display_basic_framebuffer_vtable basic_framebuffer;
    struct krun_display_dmabuf_vtable dmabuf;
};

/* What krun_set_display_backend takes (with sizeof(struct krun_display_backend)). */
struct krun_display_backend {
    uint64_t features;             /* KRUN_DISPLAY_FEATURE_* */
    void *create_userdata;         /* passed to create (optional) */
    krun_display_create_fn create; /* optional: without it, instance is NULL */
    union krun_display_vtable vtable;
};

#ifdef __cplusplus
}
#endif

#endif
