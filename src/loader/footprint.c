/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>

#include "loader/kernel.h"

int kernel_footprint(const uint8_t *data, size_t len, uint64_t *end, char *err, size_t errlen)
{
    struct kernel_image img;
    int ret;
    if (kernel_is_bzimage(data, len))
        ret = kernel_load_bzimage(data, len, NULL, &img, err, errlen);
    else if (kernel_is_elf(data, len))
        ret = kernel_load_elf(data, len, NULL, &img, err, errlen);
    else {
        snprintf(err, errlen, "neither an ELF file nor a bzImage");
        return -ENOEXEC;
    }
    if (ret == 0)
        *end = img.load_end;
    return ret;
}
