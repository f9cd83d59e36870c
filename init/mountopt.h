/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mount options as users write them ("ro,nosuid,mode=755,size=64m"):
 * the generic words become mount(2) flags, the rest stays as the
 * filesystem's data string.
 */
#ifndef KRUN_INIT_MOUNTOPT_H
#define KRUN_INIT_MOUNTOPT_H

#include <stddef.h>

/* Split opts (may be NULL) into *flags and data (give it strlen(opts)+1
 * bytes). Propagation and bind words (shared, rprivate, bind...) are
 * dropped. Returns 0, or -EINVAL if data is too small. */
int mountopt_split(const char *opts, unsigned long *flags, char *data, size_t datalen);

#endif
