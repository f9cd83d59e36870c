/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/load_error.h"

#include <stdarg.h>
#include <stdio.h>

int loader_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
