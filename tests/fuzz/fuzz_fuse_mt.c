/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * libFuzzer harness for the FUSE server with several requests in flight
 * at once: the concurrent variant of fuzz_fuse.c, sharing its scratch
 * tree, checks and id table (tests/fuzz/fuse_env.h).
 *
 * Build: as every harness (tests/fuzz/fuzz.mk). Seeds: gen_seeds fuse_mt DIR.
 *
 * Each input is a session against one fresh server on a fresh share. The
 * requests are dealt out to 2-4 streams; each stream runs on a thread of
 * its own, all started at once, calling fuse_server_handle() as the
 * device's workers do. Node ids and handles returned to any stream go into
 * one table that every stream refers to (a hostile guest predicts ids), so
 * RELEASE, FORGET, BATCH_FORGET and DESTROY race with the requests that
 * use what they drop. Checked, beyond ASan/UBSan: every stream ends (in
 * STREAM_DEADLINE seconds), every reply is well formed (fuse_out_header.len
 * is what was written, error 0 or a negative errno), nothing outside the
 * share changed, a final DESTROY closes every fd the session's nodes and
 * handles held, and freeing the server closes the rest. Interleavings are
 * not reproducible run to run; a crash input usually is within a few runs.
 *
 * Input layout:
 *   0      bits 0-4: request segment size (0: one segment); bits 5-6:
 *          streams, 2 + value % 3; bit 7: fix up fuse_in_header.len to the
 *          real length
 *   1      bits 0-4: reply segment size; bits 5-7: reply room (index in ROOMS)
 *   2..    records: a tag byte (bits 0-1: stream, modulo the number of
 *          streams; bits 2-4: sched_yield()s before the request, to vary
 *          interleavings), le16 length, then that many bytes (header +
 *          body). Ids below 16 are references as in fuzz_fuse.c. At most
 *          MAX_REQS requests per stream; later ones for a full stream are
 *          dropped.
 * FUSE_INIT is sent before the streams start.
 */
#include <time.h>

#include "fuse_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_STREAMS     4
#define MAX_REQS        64
#define STREAM_DEADLINE 60

struct req {
    uint8_t *buf;
    size_t len;
    unsigned yields;
};

struct session {
    struct fuse_server *srv;
    struct ids ids;
    unsigned in_seg, out_seg;
    size_t room;
    pthread_barrier_t start;
};

struct stream {
    struct session *s;
    pthread_t thread;
    uint8_t *reply;
    struct req reqs[MAX_REQS];
    unsigned n;
};

static struct session sess = {.ids = {.lock = PTHREAD_MUTEX_INITIALIZER}};
static struct stream streams[MAX_STREAMS];

static void send_req(struct session *s, uint8_t *req, size_t len, uint8_t *reply, size_t room)
{
    struct iovec in[256], out[256];
    uint32_t op = 0;
    if (len >= HDR)
        memcpy(&op, req + offsetof(struct fuse_in_header, opcode), 4);
    ids_patch(&s->ids, req, len);
    unsigned ni = split(req, len, s->in_seg, in, 256);
    unsigned no = split(reply, room, s->out_seg, out, 256);
    size_t n = fuse_server_handle(s->srv, in, ni, out, no);
    ids_learn(&s->ids, op, reply, n, room);
}

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    /* A worker's own umask and fs ids, as in the device. */
    if (fs_thread_init() < 0)
        die("unshare(CLONE_FS)");
    pthread_barrier_wait(&st->s->start);
    for (unsigned i = 0; i < st->n; i++) {
        for (unsigned y = 0; y < st->reqs[i].yields; y++)
            sched_yield();
        send_req(st->s, st->reqs[i].buf, st->reqs[i].len, st->reply, st->s->room);
    }
    return NULL;
}

/* A request of the harness itself (INIT, DESTROY), with room for any reply; it must succeed. */
static void control(struct session *s, uint32_t op, int allowed)
{
    struct {
        struct fuse_in_header h;
        struct fuse_init_in i;
    } r = {.h = {.len = sizeof(r.h), .opcode = op, .unique = 1}};
    if (op == FUSE_INIT) {
        r.h.len = sizeof(r);
        r.i = (struct fuse_init_in){.major = 7, .minor = 41, .flags = 0xffffffffu};
    }
    unsigned in_seg = s->in_seg, out_seg = s->out_seg;
    s->in_seg = s->out_seg = 0;
    send_req(s, (uint8_t *)&r, r.h.len, streams[0].reply, 4096);
    s->in_seg = in_seg;
    s->out_seg = out_seg;
    struct fuse_out_header oh;
    memcpy(&oh, streams[0].reply, sizeof(oh));
    if (oh.error != 0 && oh.error != allowed) {
        fprintf(stderr, "opcode %u of the harness failed: %d\n", op, oh.error);
        abort();
    }
}

static void join_all(unsigned n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += STREAM_DEADLINE;
    for (unsigned i = 0; i < n; i++) {
        int ret = pthread_timedjoin_np(streams[i].thread, NULL, &dl);
        if (ret != 0) {
            fprintf(stderr, "stream %u did not end in %d s (%s)\n", i, STREAM_DEADLINE,
                    strerror(ret));
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* libFuzzer installs a SIGXFSZ handler after LLVMFuzzerInitialize: we want EFBIG. */
    signal(SIGXFSZ, SIG_IGN);
    int fds = count_fds();
    struct session *s = &sess;
    ids_reset(&s->ids);
    s->srv = fresh_server();
    s->in_seg = data[0] & 0x1f;
    s->out_seg = data[1] & 0x1f;
    s->room = ROOMS[data[1] >> 5];
    unsigned n_streams = 2 + ((data[0] >> 5) & 3) % 3;
    bool fix_len = data[0] & 0x80;
    control(s, FUSE_INIT, 0);
    int fds_ready = count_fds();

    for (unsigned i = 0; i < n_streams; i++)
        streams[i].n = 0;
    size_t pos = 2;
    while (pos + 3 <= size) {
        struct stream *st = &streams[(data[pos] & 3) % n_streams];
        unsigned yields = (data[pos] >> 2) & 7;
        size_t len = data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        if (st->n < MAX_REQS) {
            struct req *r = &st->reqs[st->n++];
            r->buf = malloc(len ? len : 1);
            memcpy(r->buf, data + pos, len);
            r->len = len;
            r->yields = yields;
            if (fix_len && len >= HDR) {
                uint32_t l = (uint32_t)len;
                memcpy(r->buf, &l, 4);
            }
        }
        pos += len;
    }

    pthread_barrier_init(&s->start, NULL, n_streams);
    for (unsigned i = 0; i < n_streams; i++)
        if (pthread_create(&streams[i].thread, NULL, stream_main, &streams[i]) != 0)
            die("pthread_create");
    join_all(n_streams);
    pthread_barrier_destroy(&s->start);
    for (unsigned i = 0; i < n_streams; i++)
        for (unsigned k = 0; k < streams[i].n; k++)
            free(streams[i].reqs[k].buf);

    /* A stream may have ended the session (DESTROY): start one, so that DESTROY has one to end. */
    control(s, FUSE_INIT, -EPROTO);
    control(s, FUSE_DESTROY, 0);
    int left = count_fds();
    if (left != fds_ready) {
        fprintf(stderr, "DESTROY left %d fds open (%d before the streams)\n", left, fds_ready);
        abort();
    }
    fuse_server_free(s->srv);
    end_session(fds);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    env_init("fuzz_fuse_mt");
    for (unsigned i = 0; i < MAX_STREAMS; i++) {
        streams[i].s = &sess;
        if (!(streams[i].reply = malloc(ROOMS[7])))
            die("malloc");
    }
    return 0;
}
