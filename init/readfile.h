/* SPDX-License-Identifier: Apache-2.0 */
/* Read a whole file into memory, with a size cap (the file may be hostile
 * or a virtual file whose size stat does not know). */
#ifndef KRUN_INIT_READFILE_H
#define KRUN_INIT_READFILE_H

#include <stddef.h>

/* On success *buf holds *len bytes plus a NUL (not counted) and 0 is
 * returned; else -errno (-EFBIG if the file is larger than max). */
int read_file(const char *path, size_t max, char **buf, size_t *len);

#endif
