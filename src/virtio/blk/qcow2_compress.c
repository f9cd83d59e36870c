/* SPDX-License-Identifier: Apache-2.0 */
/* Reading compressed qcow2 clusters: raw deflate (zlib) or zstd (see qcow2.h). */
#include "virtio/blk/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

static int inflate_cluster(struct qcow2 *q, uint64_t csize)
{
    z_stream z = {0};
    /* Negative window bits: a raw deflate stream without zlib header. */
    if (inflateInit2(&z, -12) != Z_OK)
        return -ENOMEM;
    z.next_in = q->zin;
    z.avail_in = (uInt)csize;
    z.next_out = q->zout;
    z.avail_out = (uInt)q->cluster_size;
    int zr = inflate(&z, Z_FINISH);
    bool full = z.avail_out == 0;
    inflateEnd(&z);
    /* The data may end before the stream does (a cut-off last sector). */
    if ((zr == Z_STREAM_END || zr == Z_BUF_ERROR || zr == Z_OK) && full)
        return 0;
    return -EIO;
}

static int unzstd_cluster(struct qcow2 *q, uint64_t csize)
{
    if (!q->zstd) {
        q->zstd = ZSTD_createDCtx();
        if (!q->zstd)
            return -ENOMEM;
    }
    ZSTD_DCtx *dc = q->zstd;
    ZSTD_DCtx_reset(dc, ZSTD_reset_session_only);
    ZSTD_inBuffer in = {q->zin, (size_t)csize, 0};
    ZSTD_outBuffer out = {q->zout, (size_t)q->cluster_size, 0};
    /* Each call makes progress or fails; the sizes bound the loop. */
    while (out.pos < out.size && in.pos < in.size) {
        size_t before_in = in.pos, before_out = out.pos;
        size_t r = ZSTD_decompressStream(dc, &out, &in);
        if (ZSTD_isError(r))
            return -EIO;
        if (r == 0 && out.pos < out.size)
            return -EIO; /* the frame ended short of a cluster */
        if (in.pos == before_in && out.pos == before_out)
            return -EIO;
    }
    return out.pos == out.size ? 0 : -EIO;
}

int qcow2_decompress(struct qcow2 *q, const struct qcow2_map *m)
{
    if (q->zout_host == m->host && m->host != 0)
        return 0;
    q->zout_host = 0;
    /* csize is at most two clusters (see qcow2_decode). */
    if (m->host == 0 || m->host >= QCOW2_MAX_HOST_OFFSET || m->csize > 2 * q->cluster_size)
        return qcow2_corrupt(q, "bad compressed cluster offset", m->host);
    if (!q->zin)
        q->zin = malloc(2 * q->cluster_size);
    if (!q->zout)
        q->zout = malloc(q->cluster_size);
    if (!q->zin || !q->zout)
        return -ENOMEM;
    int ret = blk_file_read(q->fd, q->zin, (size_t)m->csize, m->host);
    if (ret < 0)
        return ret;
    ret = q->h.compression_type == QCOW2_COMPRESSION_ZSTD ? unzstd_cluster(q, m->csize)
                                                          : inflate_cluster(q, m->csize);
    if (ret == -EIO)
        return qcow2_corrupt(q, "undecodable compressed cluster at", m->host);
    if (ret == 0)
        q->zout_host = m->host;
    return ret;
}

void qcow2_compress_free(struct qcow2 *q)
{
    ZSTD_freeDCtx(q->zstd);
    q->zstd = NULL;
}
