/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loaders' error reports: a message for the caller's buffer, and the
 * code to return with it.
 */
#ifndef KRUN_LOADER_LOAD_ERROR_H
#define KRUN_LOADER_LOAD_ERROR_H

#include <stddef.h>

/* Formats the message into err (when err and errlen allow) and returns rc. */
__attribute__((format(printf, 4, 5))) int loader_fail(char *err, size_t errlen, int rc,
                                                      const char *fmt, ...);

#endif
