/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A strict JSON (RFC 8259) parser for the workload config. The input comes
 * from a container image, so it is hostile: nesting is bounded, the number
 * of values is bounded, strings must be valid UTF-8, and the whole document
 * lives in one allocation whose size is computed by a first pass, so memory
 * is proportional to what was accepted and never grows on bad input.
 */
#ifndef KRUN_INIT_JSON_H
#define KRUN_INIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH  64
#define JSON_MAX_VALUES (128 * 1024)

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
};

struct json_value {
    enum json_type type;
    const char *key;          /* member name if the parent is an object, else NULL */
    size_t key_len;           /* keys may hold \u0000, hence the length */
    const char *str;          /* STRING: decoded UTF-8; NUMBER: its text; NUL-terminated */
    size_t len;               /* STRING, NUMBER: bytes in str; ARRAY, OBJECT: children */
    struct json_value *child; /* first element or member */
    struct json_value *next;  /* next sibling */
};

struct json_doc {
    struct json_value *root;
    void *mem;
};

struct json_error {
    size_t offset; /* byte offset in the input */
    const char *msg;
};

/* Parse text[0..len). Returns 0, or -1 with err filled (doc untouched).
 * Duplicate member names in one object are an error. */
int json_parse(const char *text, size_t len, struct json_doc *doc, struct json_error *err);
void json_free(struct json_doc *doc);

/* The member named key of an object, or NULL (also if obj is no object). */
const struct json_value *json_member(const struct json_value *obj, const char *key);

/* True if v is a string without an embedded NUL (usable as a C string). */
bool json_is_cstr(const struct json_value *v);

/* v as a non-negative integer without fraction or exponent. 0, or -1 if v
 * is not such a number or exceeds UINT64_MAX. */
int json_to_u64(const struct json_value *v, uint64_t *out);

#endif
