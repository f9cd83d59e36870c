/* SPDX-License-Identifier: Apache-2.0 */
/* A growable string. Functions return 0 or -ENOMEM (the buffer stays valid). */
#ifndef KRUN_UTIL_STRBUF_H
#define KRUN_UTIL_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *s; /* NUL-terminated, or NULL while empty */
    size_t len;
    size_t cap;
};

int sb_append(struct strbuf *sb, const char *s, size_t n);
int sb_puts(struct strbuf *sb, const char *s);
int sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct strbuf *sb);

#endif
