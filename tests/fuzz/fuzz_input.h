/* SPDX-License-Identifier: Apache-2.0 */
/* A fuzz input read front to back; past its end every byte reads as 0. */
#ifndef KRUN_FUZZ_INPUT_H
#define KRUN_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* A little-endian number of `bytes` bytes (at most 8). */
static inline uint64_t uN(struct in *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)u8(in) << (8 * i);
    return v;
}

#endif
