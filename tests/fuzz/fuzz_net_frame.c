/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/net/frame.c */
/*
 * The virtio-net frame path on arbitrary bytes, in buffers of exactly
 * their size so that a read or write past one is caught:
 *   - net_hdr_parse/net_hdr_write: writing a parsed header gives the raw
 *     bytes back;
 *   - net_frame_finish: returns 0, -EPROTO or -EINVAL, each exactly when a
 *     reading of the virtio spec written here says so; a refused frame or
 *     one without NEEDS_CSUM is left as it was; otherwise only the two
 *     bytes of the checksum field change, to the complement of the
 *     one's-complement sum of [csum_start, len) as the guest left it (0
 *     going out as 0xffff), and, with the field at an even offset, a
 *     receiver that adds the guest's seed (the pseudo-header sum) back to
 *     the finished range gets a sum that checks;
 *   - net_csum: the same as the sum here;
 *   - the stream deframer, fed in chunks whose sizes come from the input,
 *     each chunk in its own buffer: it never takes more than it is given,
 *     takes all of it unless a frame became whole, and every frame it
 *     hands out lies in NET_FRAME_MIN..NET_FRAME_MAX and has the bytes and
 *     the end position that a plain walk over the prefixes finds; after
 *     each call its dropped count and whether it is mid-frame match that
 *     walk at the same position.
 *
 * Input:
 *   0        mode: bit 0 csum_start and csum_offset taken modulo the frame
 *            length + 1 (so that in-range checksums are common), bit 1 no
 *            segmentation offload (gso_type kept to its ECN bit), bit 2
 *            NEEDS_CSUM forced on, bit 3 feed once more while a frame is
 *            ready (it must take nothing)
 *   1..12    the virtio-net header
 *   13..14   frame length (le16), cut to what the input holds
 *   ...      the frame
 *   then     k (a byte), k chunk sizes (a byte each, 0: all that is left,
 *            used in turn), then the stream: the rest of the input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "fuzz_input.h"
#include "virtio/net/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_net_frame: %s\n", what);
    abort();
}

/* The one's-complement sum of big-endian 16-bit words, folded (RFC 1071). */
static uint16_t ref_sum(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += i % 2 ? p[i] : (uint64_t)p[i] << 8;
    while (s > 0xffff)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static uint16_t fold_add(uint16_t a, uint16_t b)
{
    uint32_t s = (uint32_t)a + b;
    return (uint16_t)((s & 0xffff) + (s >> 16));
}

static void check_header(const uint8_t raw[NET_HDR_LEN], struct net_hdr *h)
{
    uint8_t back[NET_HDR_LEN];
    net_hdr_parse(raw, h);
    net_hdr_write(back, h);
    if (memcmp(raw, back, NET_HDR_LEN) != 0)
        fail("a header written back differs from the one parsed");
}

static void check_finish(const struct net_hdr *h, const uint8_t *in, size_t len)
{
    /* Exactly len bytes (at least one, for malloc): an access past them is caught. */
    uint8_t *f = malloc(len ? len : 1);
    if (!f)
        return;
    memcpy(f, in, len);
    if (net_csum(f, len) != (uint16_t)~ref_sum(f, len))
        fail("net_csum differs from the reference sum");

    int rc = net_frame_finish(h, f, len);
    bool gso = (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE;
    bool needs = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
    size_t start = h->csum_start, field = start + h->csum_offset;
    bool in_range = start < len && field + 2 <= len;
    int want = gso ? -EPROTO : !needs ? 0 : in_range ? 0 : -EINVAL;
    if (rc != 0 && rc != -EPROTO && rc != -EINVAL)
        fail("net_frame_finish returned something else than 0, -EPROTO, -EINVAL");
    if (rc != want)
        fail("net_frame_finish's verdict differs from the reference");
    if (rc != 0 || !needs) {
        if (memcmp(f, in, len) != 0)
            fail("a frame changed without a checksum finished");
        free(f);
        return;
    }
    for (size_t i = 0; i < len; i++)
        if ((i < field || i > field + 1) && f[i] != in[i])
            fail("a byte outside the checksum field changed");
    uint16_t written = (uint16_t)(f[field] << 8 | f[field + 1]);
    uint16_t expect = (uint16_t)~ref_sum(in + start, len - start);
    if (written != (expect ? expect : 0xffff))
        fail("the checksum written is not the complement of the range's sum");
    if (h->csum_offset % 2 == 0) {
        /*
         * As a receiver checks it: the finished range plus the pseudo-header
         * sum. The written field is never 0, so the sum cannot fold to 0.
         */
        uint16_t seed = (uint16_t)(in[field] << 8 | in[field + 1]);
        if (fold_add(ref_sum(f + start, len - start), seed) != 0xffff)
            fail("the finished checksum does not verify");
    }
    free(f);
}

/* What a plain walk over the stream finds. */
struct ref {
    size_t *frame_off; /* where each good frame's bytes start */
    uint32_t *frame_len;
    size_t nframes;
    size_t *drop_at; /* position just after each bad length's prefix */
    size_t ndrops;
    bool *boundary; /* [n + 1]: position p starts a prefix (or is the end of one item) */
};

static bool ref_walk(const uint8_t *s, size_t n, struct ref *r)
{
    size_t max_items = n / 4 + 1;
    r->frame_off = malloc(max_items * sizeof(*r->frame_off));
    r->frame_len = malloc(max_items * sizeof(*r->frame_len));
    r->drop_at = malloc(max_items * sizeof(*r->drop_at));
    r->boundary = calloc(n + 1, sizeof(bool));
    r->nframes = r->ndrops = 0;
    if (!r->frame_off || !r->frame_len || !r->drop_at || !r->boundary)
        return false;
    size_t p = 0;
    r->boundary[0] = true;
    while (n - p >= 4) {
        uint32_t len =
            (uint32_t)s[p] << 24 | (uint32_t)s[p + 1] << 16 | (uint32_t)s[p + 2] << 8 | s[p + 3];
        p += 4;
        bool good = len >= NET_FRAME_MIN && len <= NET_FRAME_MAX;
        if (!good)
            r->drop_at[r->ndrops++] = p;
        if (len > n - p)
            return true; /* the stream ends inside this item */
        if (good) {
            r->frame_off[r->nframes] = p;
            r->frame_len[r->nframes++] = len;
        }
        p += len;
        r->boundary[p] = true;
    }
    return true;
}

static void ref_free(struct ref *r)
{
    free(r->frame_off);
    free(r->frame_len);
    free(r->drop_at);
    free(r->boundary);
}

static void check_stream(const uint8_t *sizes, size_t nsizes, const uint8_t *s, size_t n,
                         bool feed_when_ready)
{
    static uint8_t *frame_buf;
    /* Exactly NET_FRAME_MAX bytes: the deframer may write no further. */
    if (!frame_buf && !(frame_buf = malloc(NET_FRAME_MAX)))
        return;
    struct ref r;
    if (!ref_walk(s, n, &r)) {
        ref_free(&r);
        return;
    }
    struct net_stream_rx rx;
    net_stream_rx_init(&rx, frame_buf);
    if (net_stream_rx_feed(&rx, s, 0) != 0)
        fail("took bytes from an empty chunk");

    size_t pos = 0, next_frame = 0, drops_seen = 0, k = 0;
    while (pos < n) {
        size_t want = nsizes ? sizes[k++ % nsizes] : 0;
        if (want == 0 || want > n - pos)
            want = n - pos;
        /* Each chunk in a buffer of its own size: no peeking past it. */
        uint8_t *chunk = malloc(want);
        if (!chunk)
            break;
        memcpy(chunk, s + pos, want);
        size_t off = 0;
        while (off < want) {
            size_t used = net_stream_rx_feed(&rx, chunk + off, want - off);
            if (used > want - off)
                fail("took more bytes than it was given");
            off += used;
            size_t at = pos + off;
            while (drops_seen < r.ndrops && r.drop_at[drops_seen] <= at)
                drops_seen++;
            if (rx.dropped != drops_seen)
                fail("a dropped count different from the reference");
            if (!rx.ready) {
                if (off != want)
                    fail("stopped early without a frame");
                if (net_stream_rx_mid_frame(&rx) == r.boundary[at])
                    fail("mid-frame seen differently from the reference");
                continue;
            }
            if (net_stream_rx_mid_frame(&rx))
                fail("mid-frame with a frame ready");
            if (rx.want < NET_FRAME_MIN || rx.want > NET_FRAME_MAX)
                fail("a frame out of NET_FRAME_MIN..NET_FRAME_MAX");
            if (next_frame >= r.nframes)
                fail("a frame the reference does not see");
            if (rx.want != r.frame_len[next_frame] ||
                at != r.frame_off[next_frame] + r.frame_len[next_frame])
                fail("a frame of another length or at another place than the reference's");
            if (memcmp(frame_buf, s + r.frame_off[next_frame], rx.want) != 0)
                fail("a frame's bytes differ from the stream's");
            next_frame++;
            if (feed_when_ready && off < want &&
                net_stream_rx_feed(&rx, chunk + off, want - off) != 0)
                fail("took bytes while a frame was ready");
            net_stream_rx_next(&rx);
            if (net_stream_rx_mid_frame(&rx))
                fail("mid-frame right after a frame was taken");
        }
        free(chunk);
        pos += want;
    }
    if (pos == n) {
        if (next_frame != r.nframes)
            fail("fewer frames than the reference");
        if (rx.dropped != r.ndrops)
            fail("a final dropped count different from the reference");
        if (net_stream_rx_mid_frame(&rx) == r.boundary[n])
            fail("the end of the stream seen differently from the reference");
    }
    ref_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    uint8_t mode = u8(&in);
    uint8_t raw[NET_HDR_LEN];
    for (unsigned i = 0; i < NET_HDR_LEN; i++)
        raw[i] = u8(&in);
    struct net_hdr h;
    check_header(raw, &h);

    size_t flen = (size_t)uN(&in, 2);
    if (flen > in.n)
        flen = in.n;
    if (mode & 1) {
        h.csum_start = (uint16_t)(h.csum_start % (flen + 1));
        h.csum_offset = (uint16_t)(h.csum_offset % (flen + 1));
    }
    if (mode & 2)
        h.gso_type &= VIRTIO_NET_HDR_GSO_ECN;
    if (mode & 4)
        h.flags |= VIRTIO_NET_HDR_F_NEEDS_CSUM;
    check_finish(&h, in.p, flen);
    in.p += flen;
    in.n -= flen;

    size_t nsizes = u8(&in);
    if (nsizes > in.n)
        nsizes = in.n;
    const uint8_t *sizes = in.p;
    in.p += nsizes;
    in.n -= nsizes;
    check_stream(sizes, nsizes, in.p, in.n, mode & 8);
    return 0;
}
