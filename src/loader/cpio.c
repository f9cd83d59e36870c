/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/cpio.h"

#include <stdio.h>
#include <string.h>

static int pad4(struct strbuf *out)
{
    static const char zeros[4] = {0};
    return out->len % 4 ? sb_append(out, zeros, 4 - out->len % 4) : 0;
}

/* Header: magic, then 13 fields of 8 hex digits; name (with NUL) padded to 4 bytes. */
static int entry(struct strbuf *out, const char *name, uint32_t mode, uint32_t nlink,
                 const void *data, size_t len)
{
    size_t namesize = strlen(name) + 1;
    int ret = sb_printf(out, "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x", 1u,
                        mode, 0u, 0u, nlink, 0u, len, 0u, 0u, 0u, 0u, namesize, 0u);
    if (!ret)
        ret = sb_append(out, name, namesize);
    if (!ret)
        ret = pad4(out);
    if (!ret && len)
        ret = sb_append(out, data, len);
    return ret ? ret : pad4(out);
}

int cpio_add_file(struct strbuf *out, const char *name, uint32_t mode, const void *data, size_t len)
{
    int ret = pad4(out);
    return ret ? ret : entry(out, name, 0100000 | (mode & 07777), 1, data, len);
}

int cpio_finish(struct strbuf *out)
{
    return entry(out, "TRAILER!!!", 0, 1, NULL, 0);
}
