/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input backend interface of libkrun (krun_add_input_device): two
 * objects with callback tables, one describing a virtio-input device (its
 * name, ids, capabilities) and one delivering its events. The layout,
 * constants and calling rules are those of upstream libkrun's
 * libkrun_input.h, so that callers written for it compile unchanged.
 *
 * libkrun-c does not build virtio-input yet: krun_add_input_device returns
 * -ENOTSUP, as upstream's library built without it does.
 */
#ifndef LIBKRUN_INPUT_H
#define LIBKRUN_INPUT_H

#include <inttypes.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Errors a callback returns (negative). */
#define KRUN_INPUT_ERR_INTERNAL           -1
#define KRUN_INPUT_ERR_EAGAIN             -2
#define KRUN_INPUT_ERR_METHOD_UNSUPPORTED -3
#define KRUN_INPUT_ERR_INVALID_PARAM      -4

/* Features of the two objects. */
#define KRUN_INPUT_CONFIG_FEATURE_QUERY         1
#define KRUN_INPUT_EVENT_PROVIDER_FEATURE_QUEUE 1

/* One event, as a virtio-input event (and a Linux input_event) carries it. */
struct krun_input_event {
    uint16_t type; /* EV_KEY, EV_REL, EV_ABS, ... */
    uint16_t code; /* the key, axis, ... */
    uint32_t value;
};

/* Make an instance: store it in *instance (any value, NULL too). */
typedef int32_t (*krun_input_create_fn)(void **instance, const void *userdata,
                                        const void *reserved);
typedef int32_t (*krun_input_destroy_fn)(void *instance);

/* An fd that polls readable while events are pending (an eventfd, say). */
typedef int (*krun_input_get_ready_efd_fn)(void *instance);

/* Without blocking: 1 and *out_event filled, 0 when none is pending, or an error. */
typedef int32_t (*krun_input_next_event_fn)(void *instance, struct krun_input_event *out_event);

struct krun_input_event_provider_vtable {
    krun_input_destroy_fn destroy; /* optional */
    krun_input_get_ready_efd_fn get_ready_efd;
    krun_input_next_event_fn next_event;
};

struct krun_input_device_ids {
    uint16_t bustype;
    uint16_t vendor;
    uint16_t product;
    uint16_t version;
};

struct krun_input_absinfo {
    uint32_t min;
    uint32_t max;
    uint32_t fuzz;
    uint32_t flat;
    uint32_t res;
};

/* What the guest's driver asks of the device (virtio-input's config selectors). */
typedef int32_t (*krun_input_query_device_name_fn)(void *instance, uint8_t *name_buf,
                                                   size_t name_buf_len);
typedef int32_t (*krun_input_query_serial_name_fn)(void *instance, uint8_t *name_buf,
                                                   size_t name_buf_len);
typedef int32_t (*krun_input_query_device_ids_fn)(void *instance,
                                                  struct krun_input_device_ids *ids);
typedef int32_t (*krun_input_query_event_capabilities_fn)(void *instance, uint8_t event_type,
                                                          uint8_t *bitmap_buf,
                                                          size_t bitmap_buf_len);
typedef int32_t (*krun_input_query_abs_info_fn)(void *instance, uint8_t abs_axis,
                                                struct krun_input_absinfo *abs_info);
typedef int32_t (*krun_input_query_properties_fn)(void *instance, uint8_t *bitmap_buf,
                                                  size_t bitmap_buf_len);

struct krun_input_config_vtable {
    krun_input_destroy_fn destroy;
    krun_input_query_device_name_fn query_device_name;
    krun_input_query_serial_name_fn query_serial_name;
    krun_input_query_device_ids_fn query_device_ids;
    krun_input_query_event_capabilities_fn query_event_capabilities;
    krun_input_query_abs_info_fn query_abs_info;
    krun_input_query_properties_fn query_properties;
};

/* The two objects krun_add_input_device takes, each with its sizeof. */
struct krun_input_config {
    uint64_t features;     /* KRUN_INPUT_CONFIG_FEATURE_* */
    void *create_userdata; /* optional */
    krun_input_create_fn create;
    struct krun_input_config_vtable vtable;
};

struct krun_input_event_provider {
    uint64_t features;     /* KRUN_INPUT_EVENT_PROVIDER_FEATURE_* */
    void *create_userdata; /* optional */
    krun_input_create_fn create;
    struct krun_input_event_provider_vtable vtable;
};

#ifdef __cplusplus
}
#endif

#endif
