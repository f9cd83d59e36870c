/* SPDX-License-Identifier: Apache-2.0 */
/* Writing "newc" cpio archives (the initramfs format). */
#ifndef KRUN_LOADER_CPIO_H
#define KRUN_LOADER_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Append one regular file (name without a leading '/') to an archive. */
int cpio_add_file(struct strbuf *out, const char *name, uint32_t mode, const void *data,
                  size_t len);

/* Append the end-of-archive entry. */
int cpio_finish(struct strbuf *out);

#endif
