/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/virtio_fs.c src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c src/util/thread.c src/util/sandbox.c */
/* TSAN */
/*
 * Concurrency stress of the virtio-fs server and device, meant to run
 * under ThreadSanitizer and ASan (unit.mk builds it both ways; the
 * "TSAN" line above asks for the ThreadSanitizer build).
 *
 * A hostile guest does not wait for replies: it releases handle ids it
 * predicts (a freed slot comes back with the next generation), forgets
 * nodes other requests are using, and sends DESTROY while other requests
 * are in flight. Two phases, each bounded in time (FUSE_STRESS_MS each,
 * default 1500 ms):
 *
 *  1. server: threads call fuse_server_handle() at once, as the device's
 *     workers do, with OPEN, CREATE, MKNOD, OPENDIR, RELEASE, RELEASEDIR,
 *     READ, READDIRPLUS, LOOKUP, GETATTR, FORGET, BATCH_FORGET, DESTROY +
 *     INIT;
 *  2. device: the real virtio-fs device (its queue threads and workers)
 *     fed through stand-ins for the virtqueue, while the driver resets the
 *     device every few milliseconds and SETLKW requests wait on a lock the
 *     test holds. Every reset must finish in bounded time and no request
 *     may be lost.
 *
 * Afterwards every inode and handle fd must be closed and the share must
 * still work.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>

#include "virtio/device.h"
#include "virtio/fs/virtio_fs.h"

#define N_FILES 8
#define POOL    64
#define OWN     6

static long phase_ms = 1500;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Ids seen or predicted by any thread: what a hostile guest would aim at. */
static _Atomic uint64_t fh_pool[POOL], node_pool[POOL];

static void pool_put(_Atomic uint64_t *pool, uint64_t id, uint64_t *rs)
{
    atomic_store(&pool[rnd(rs) % POOL], id);
}

static uint64_t pool_get(_Atomic uint64_t *pool, uint64_t *rs)
{
    return atomic_load(&pool[rnd(rs) % POOL]);
}

/* The id a table hands out after freeing id: the same slot, the next generation. */
static uint64_t next_gen(uint64_t id)
{
    return id + (1ull << 32);
}

static const char *file_name(unsigned i)
{
    static const char *const names[N_FILES] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "locked"};
    return names[i % N_FILES];
}

static void make_tree(const char *root)
{
    char p[256];
    for (unsigned i = 0; i < N_FILES; i++) {
        snprintf(p, sizeof(p), "%s/%s", root, file_name(i));
        int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0 || write(fd, "data", 4) != 4) {
            perror(p);
            exit(1);
        }
        close(fd);
    }
    snprintf(p, sizeof(p), "%s/d", root);
    mkdir(p, 0755);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/d/e%d", root, i);
        close(open(p, O_CREAT | O_WRONLY, 0644));
    }
}

/* ---- phase 1: the server, called from several threads ---- */

struct sworker {
    struct fx f; /* a copy per thread: same server, own request counter */
    uint64_t rs;
    int id;
    long ops, bad;
    uint64_t own[OWN];
    bool own_dir[OWN];
    uint64_t own_node[OWN];
};

/* A reply that is not a well-formed answer to the request. */
static void check_reply(struct sworker *w, int ret)
{
    if (ret == -9999)
        w->bad++;
    if (ret == -EIO) /* not initialized: a DESTROY went by */
        fx_init_req(&w->f, 7, 38, NULL);
}

static void own_add(struct sworker *w, uint64_t fh, bool dir, uint64_t node)
{
    unsigned k = (unsigned)(rnd(&w->rs) % OWN);
    if (w->own[k])
        check_reply(w, fx_release(&w->f, w->own_dir[k] ? FUSE_RELEASEDIR : FUSE_RELEASE,
                                  w->own_node[k], w->own[k]));
    w->own[k] = fh;
    w->own_dir[k] = dir;
    w->own_node[k] = node;
    pool_put(fh_pool, fh, &w->rs);
}

/* LOOKUP of name in the root: its node id, or 0. */
static uint64_t lookup(struct sworker *w, const char *name)
{
    struct fuse_entry_out e;
    int ret = fx_lookup(&w->f, 1, name, &e);
    check_reply(w, ret);
    return ret == 0 ? e.nodeid : 0;
}

static void server_op(struct sworker *w)
{
    struct fx *f = &w->f;
    uint64_t r = rnd(&w->rs);
    unsigned k = (unsigned)(r >> 8) % OWN;
    uint64_t fh = 0, node;
    struct fuse_entry_out e;
    int ret = 0;
    switch (r % 16) {
    case 0:
    case 1:
    case 2:
        node = lookup(w, file_name((unsigned)(r >> 16)));
        if (node) {
            pool_put(node_pool, node, &w->rs);
            ret = fx_open_file(f, node, (r >> 20) & 1 ? O_RDWR : O_RDONLY, &fh);
            if (ret == 0)
                own_add(w, fh, false, node);
            fx_forget(f, node, 1);
        }
        break;
    case 3: {
        char name[32];
        snprintf(name, sizeof(name), "c%d-%u", w->id, (unsigned)(r >> 16) % 4);
        if ((r >> 20) % 4 == 0) {
            /* A device node of the guest (an empty file with a record on the host). */
            struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = (1 << 8) | 3};
            struct part p[] = {P_OBJ(mk), P_STR(name)};
            ret = fx_call(f, FUSE_MKNOD, 1, p, 2, &e, sizeof(e), NULL);
            if (ret == 0) {
                pool_put(node_pool, e.nodeid, &w->rs);
                fx_forget(f, e.nodeid, 1);
            }
            break;
        }
        ret = fx_create(f, 1, name, 0644, O_RDWR | O_CREAT, &e, &fh);
        if (ret == 0) {
            own_add(w, fh, false, e.nodeid);
            pool_put(node_pool, e.nodeid, &w->rs);
            fx_forget(f, e.nodeid, 1);
        }
        break;
    }
    case 4:
        node = (r >> 16) & 1 ? 1 : lookup(w, "d");
        if (node && (ret = fx_opendir(f, node, &fh)) == 0)
            own_add(w, fh, true, node);
        if (node > 1)
            fx_forget(f, node, 1);
        break;
    case 5:
    case 6:
        if (w->own[k]) {
            ret = fx_release(f, w->own_dir[k] ? FUSE_RELEASEDIR : FUSE_RELEASE, w->own_node[k],
                             w->own[k]);
            /* The slot is free now: the next OPEN anywhere gets this id. */
            pool_put(fh_pool, next_gen(w->own[k]), &w->rs);
            w->own[k] = 0;
        }
        break;
    case 7:
    case 8:
        /* Hostile: somebody else's handle, maybe one that is being handed out right now. */
        ret = fx_release(f, (r >> 16) & 1 ? FUSE_RELEASEDIR : FUSE_RELEASE, 0,
                         pool_get(fh_pool, &w->rs));
        break;
    case 9:
        if (w->own[k] && w->own_dir[k]) {
            struct dirlist dl;
            ret = fx_readdir(f, w->own_node[k], w->own[k], 0, 4096, true, &dl);
            for (unsigned i = 0; i < dl.n; i++)
                if (dl.nodeid[i])
                    fx_forget(f, dl.nodeid[i], 1);
        } else if (w->own[k]) {
            char buf[8];
            long n = fx_read(f, w->own_node[k], w->own[k], 0, sizeof(buf), buf);
            ret = n < 0 ? (int)n : 0;
        }
        break;
    case 10:
    case 11:
        node = lookup(w, file_name((unsigned)(r >> 16)));
        if (node)
            pool_put(node_pool, node, &w->rs);
        break;
    case 12:
        fx_forget(f, pool_get(node_pool, &w->rs), 1 + (r >> 16) % 2);
        break;
    case 13: {
        struct {
            struct fuse_batch_forget_in h;
            struct fuse_forget_one one[3];
        } bf = {.h = {.count = 3}};
        for (int i = 0; i < 3; i++)
            bf.one[i] = (struct fuse_forget_one){pool_get(node_pool, &w->rs), 1};
        struct part p = P_OBJ(bf);
        fx_call(f, FUSE_BATCH_FORGET, 0, &p, 1, NULL, 0, NULL);
        break;
    }
    case 14:
        ret = fx_getattr(f, pool_get(node_pool, &w->rs), NULL);
        break;
    case 15:
        if ((r >> 16) % 8 == 0) {
            ret = fx_call(f, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL);
            fx_init_req(f, 7, 38, NULL);
        } else {
            char name[32];
            snprintf(name, sizeof(name), "c%d-%u", w->id, (unsigned)(r >> 16) % 4);
            ret = fx_name_op(f, FUSE_UNLINK, 1, name);
        }
        break;
    }
    check_reply(w, ret);
    w->ops++;
}

static void *server_thread(void *arg)
{
    struct sworker *w = arg;
    long end = now_ms() + phase_ms;
    while (now_ms() < end && w->ops < 200000)
        server_op(w);
    for (unsigned k = 0; k < OWN; k++)
        if (w->own[k])
            fx_release(&w->f, w->own_dir[k] ? FUSE_RELEASEDIR : FUSE_RELEASE, 0, w->own[k]);
    return NULL;
}

static void test_server_stress(void)
{
    struct fx f;
    fx_open(&f);
    make_tree(f.root);
    int base = count_fds(); /* the share's root and /proc fds included */
    memset(fh_pool, 0, sizeof(fh_pool));
    memset(node_pool, 0, sizeof(node_pool));

    enum { N = 4 };
    struct sworker w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct sworker){.f = f, .id = i, .rs = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)};
        pthread_create(&t[i], NULL, server_thread, &w[i]);
    }
    long ops = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(w[i].bad, 0);
        ops += w[i].ops;
    }
    printf("     %ld requests from %d threads\n", ops, N);
    CHECK(ops > 1000);

    /* Everything forgotten: only the root's and /proc's fds stay. */
    CHECK_EQ(fx_call(&f, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL), 0);
    CHECK_EQ(count_fds(), base);
    /* And the share still works. */
    CHECK_EQ(fx_init_req(&f, 7, 38, NULL), 0);
    uint64_t n = fx_node(&f, 1, "f1"), fh = 0;
    CHECK(n > 1);
    CHECK_EQ(fx_open_file(&f, n, O_RDONLY, &fh), 0);
    char buf[8] = {0};
    CHECK_EQ(fx_read(&f, n, fh, 0, sizeof(buf), buf), 4);
    CHECK_STR(buf, "data");
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, n, fh), 0);
    fx_close(&f);
}

/* ---- phase 2: the device, with stand-ins for the virtqueue ---- */

#define SLOTS    32
#define CLIENTS  3
#define PER      4 /* requests in flight per client on the request queue */
#define REQ_MAX  512
#define REP_MAX  4096
#define HIPRIO   0
#define REQUESTQ 1

enum { C_IDLE, C_QUEUED, C_POPPED, C_DONE, C_DROPPED };

struct chain {
    unsigned q;
    uint8_t req[REQ_MAX];
    size_t req_len;
    uint8_t rep[REP_MAX];
    size_t rep_len;
    int state;
    uint32_t written;
};

static struct chain chains[SLOTS];
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static uint16_t fifo[2][SLOTS];
static unsigned fifo_n[2];
static struct virtio_device *the_dev;
static atomic_int fail_calls;

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    unsigned qi = (unsigned)(q - the_dev->queues);
    pthread_mutex_lock(&qlock);
    int ret = 0;
    if (fifo_n[qi] > 0) {
        uint16_t h = fifo[qi][0];
        memmove(&fifo[qi][0], &fifo[qi][1], (fifo_n[qi] - 1) * sizeof(fifo[qi][0]));
        fifo_n[qi]--;
        struct chain *ch = &chains[h];
        ch->state = C_POPPED;
        c->head = h;
        c->iov[0] = (struct iovec){ch->req, ch->req_len};
        c->n_out = 1;
        c->n_in = ch->rep_len ? 1 : 0;
        if (ch->rep_len)
            c->iov[1] = (struct iovec){ch->rep, ch->rep_len};
        c->out_len = ch->req_len;
        c->in_len = ch->rep_len;
        ret = 1;
    }
    pthread_mutex_unlock(&qlock);
    return ret;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    pthread_mutex_lock(&qlock);
    if (chains[head].state != C_POPPED)
        atomic_fetch_add(&fail_calls, 100); /* pushed twice, or never popped */
    chains[head].written = written;
    chains[head].state = C_DONE;
    pthread_cond_broadcast(&qcond);
    pthread_mutex_unlock(&qlock);
}

void virtq_disable_notify(struct virtq *q) {}

bool virtq_enable_notify(struct virtq *q)
{
    return false;
}

void virtio_device_notify_queue(struct virtio_device *dev, struct virtq *q) {}

void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
{
    atomic_store(&dev->failed, true);
    atomic_fetch_add(&fail_calls, 1);
}

static void submit(unsigned h)
{
    struct chain *ch = &chains[h];
    pthread_mutex_lock(&qlock);
    ch->state = C_QUEUED;
    fifo[ch->q][fifo_n[ch->q]++] = (uint16_t)h;
    pthread_mutex_unlock(&qlock);
    uint64_t one = 1;
    if (write(the_dev->kick_fds[ch->q], &one, sizeof(one)) != sizeof(one))
        perror("kick");
}

/* Wait until the request is answered or dropped by a reset; C_QUEUED after ms. */
static int wait_chain(unsigned h, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&qlock);
    while (chains[h].state == C_QUEUED || chains[h].state == C_POPPED)
        if (pthread_cond_timedwait(&qcond, &qlock, &dl) != 0)
            break;
    int st = chains[h].state;
    pthread_mutex_unlock(&qlock);
    return st;
}

/* A request in chain h; rep_room: payload bytes of the reply (-1: no reply space at all). */
static void build(unsigned h, uint32_t opcode, uint64_t nodeid, const struct part *parts,
                  unsigned n, long rep_room, uint64_t unique)
{
    struct chain *ch = &chains[h];
    size_t len = sizeof(struct fuse_in_header);
    for (unsigned i = 0; i < n; i++)
        len += parts[i].n;
    struct fuse_in_header hd = {
        .len = (uint32_t)len, .opcode = opcode, .unique = unique, .nodeid = nodeid};
    memcpy(ch->req, &hd, sizeof(hd));
    size_t pos = sizeof(hd);
    for (unsigned i = 0; i < n; i++) {
        memcpy(ch->req + pos, parts[i].p, parts[i].n);
        pos += parts[i].n;
    }
    ch->req_len = len;
    ch->rep_len = rep_room < 0 ? 0 : sizeof(struct fuse_out_header) + (size_t)rep_room;
    memset(ch->rep, 0, sizeof(ch->rep));
    ch->written = 0;
}

struct dclient {
    int id;
    uint64_t rs, unique;
    long sent, answered, dropped, lost, bad, eintr;
    /* What each request in flight was, to use its reply. */
    uint32_t op[PER];
    uint64_t node[PER];
    uint64_t own[OWN];
    bool own_dir[OWN];
    uint64_t locked_fh;
};

static atomic_bool clients_stop;
static atomic_int clients_running;

static void device_op(struct dclient *c, unsigned slot, unsigned h)
{
    uint64_t r = rnd(&c->rs);
    unsigned k = (unsigned)(r >> 8) % OWN;
    uint64_t u = ++c->unique;
    struct fuse_open_in oi = {.flags = O_RDWR};
    struct fuse_release_in ri = {0};
    struct fuse_getattr_in gi = {0};
    struct part p[2];
    c->node[slot] = 0;
    switch (r % 12) {
    case 0:
    case 1:
        c->op[slot] = FUSE_LOOKUP;
        p[0] = P_STR(file_name((unsigned)(r >> 16)));
        build(h, FUSE_LOOKUP, 1, p, 1, sizeof(struct fuse_entry_out), u);
        break;
    case 2:
    case 3: {
        /* OPEN of a node some request looked up (maybe forgotten by now). */
        uint64_t n = pool_get(node_pool, &c->rs);
        c->op[slot] = FUSE_OPEN;
        c->node[slot] = n;
        p[0] = P_OBJ(oi);
        build(h, FUSE_OPEN, n, p, 1, sizeof(struct fuse_open_out), u);
        break;
    }
    case 4: {
        struct fuse_create_in ci = {.flags = O_RDWR | O_CREAT, .mode = 0644};
        char name[32];
        snprintf(name, sizeof(name), "k%d-%u", c->id, (unsigned)(r >> 16) % 3);
        c->op[slot] = FUSE_CREATE;
        p[0] = P_OBJ(ci);
        p[1] = P_STR(name);
        build(h, FUSE_CREATE, 1, p, 2, sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
              u);
        break;
    }
    case 5:
        c->op[slot] = FUSE_OPENDIR;
        oi.flags = O_RDONLY;
        p[0] = P_OBJ(oi);
        build(h, FUSE_OPENDIR, 1, p, 1, sizeof(struct fuse_open_out), u);
        break;
    case 6:
    case 7:
        /* Our own handle, or a predicted one. */
        ri.fh = c->own[k] && (r >> 16) % 2 ? c->own[k] : pool_get(fh_pool, &c->rs);
        if (ri.fh == c->own[k])
            c->own[k] = 0;
        c->op[slot] = (r >> 17) & 1 ? FUSE_RELEASEDIR : FUSE_RELEASE;
        pool_put(fh_pool, next_gen(ri.fh), &c->rs);
        p[0] = P_OBJ(ri);
        build(h, c->op[slot], 1, p, 1, 0, u);
        break;
    case 8:
        c->op[slot] = FUSE_GETATTR;
        p[0] = P_OBJ(gi);
        build(h, FUSE_GETATTR, pool_get(node_pool, &c->rs), p, 1, sizeof(struct fuse_attr_out), u);
        break;
    case 9:
        if (c->locked_fh) {
            /* Waits on the test's lock until a reset, a DESTROY or a hostile RELEASE ends it. */
            struct fuse_lk_in li = {.fh = c->locked_fh,
                                    .owner = (uint64_t)c->id,
                                    .lk = {.start = 0, .end = INT64_MAX, .type = F_WRLCK}};
            c->op[slot] = FUSE_SETLKW;
            p[0] = P_OBJ(li);
            build(h, FUSE_SETLKW, 0, p, 1, 0, u);
        } else {
            c->op[slot] = FUSE_LOOKUP;
            c->node[slot] = 1; /* its reply opens "locked" */
            p[0] = P_STR("locked");
            build(h, FUSE_LOOKUP, 1, p, 1, sizeof(struct fuse_entry_out), u);
        }
        break;
    case 10:
        if ((r >> 16) % 6 == 0) {
            c->op[slot] = FUSE_DESTROY;
            build(h, FUSE_DESTROY, 0, NULL, 0, 0, u);
            break;
        }
        /* fall through */
    default: {
        struct fuse_init_in ii = {.major = 7, .minor = 38};
        c->op[slot] = FUSE_INIT;
        p[0] = P_OBJ(ii);
        build(h, FUSE_INIT, 0, p, 1, sizeof(struct fuse_init_out), u);
        break;
    }
    }
    c->sent++;
}

static void own_put(struct dclient *c, uint64_t fh, bool dir)
{
    unsigned k = (unsigned)(rnd(&c->rs) % OWN);
    c->own[k] = fh;
    c->own_dir[k] = dir;
    pool_put(fh_pool, fh, &c->rs);
}

static void device_reply(struct dclient *c, unsigned slot, unsigned h)
{
    struct chain *ch = &chains[h];
    struct fuse_out_header oh;
    memcpy(&oh, ch->rep, sizeof(oh));
    struct fuse_in_header ih;
    memcpy(&ih, ch->req, sizeof(ih));
    if (ch->written < sizeof(oh) || oh.len != ch->written || oh.unique != ih.unique) {
        c->bad++;
        return;
    }
    c->answered++;
    if (oh.error == -EINTR)
        c->eintr++;
    if (oh.error != 0)
        return;
    const uint8_t *pl = ch->rep + sizeof(oh);
    struct fuse_entry_out e;
    struct fuse_open_out o;
    switch (c->op[slot]) {
    case FUSE_LOOKUP:
        memcpy(&e, pl, sizeof(e));
        if (e.nodeid)
            pool_put(node_pool, e.nodeid, &c->rs);
        if (c->node[slot] == 1 && e.nodeid) {
            /* "locked": open it for the SETLKW requests (synchronously, on our own slot). */
            struct fuse_open_in oi = {.flags = O_RDWR};
            struct part p = P_OBJ(oi);
            build(h, FUSE_OPEN, e.nodeid, &p, 1, sizeof(struct fuse_open_out), ++c->unique);
            submit(h);
            if (wait_chain(h, 10000) == C_DONE) {
                memcpy(&oh, ch->rep, sizeof(oh));
                memcpy(&o, pl, sizeof(o));
                if (oh.error == 0)
                    c->locked_fh = o.fh;
            }
        }
        break;
    case FUSE_OPEN:
    case FUSE_OPENDIR:
        memcpy(&o, pl, sizeof(o));
        own_put(c, o.fh, c->op[slot] == FUSE_OPENDIR);
        break;
    case FUSE_CREATE:
        memcpy(&e, pl, sizeof(e));
        memcpy(&o, pl + sizeof(e), sizeof(o));
        pool_put(node_pool, e.nodeid, &c->rs);
        own_put(c, o.fh, false);
        break;
    }
}

static void *client_thread(void *arg)
{
    struct dclient *c = arg;
    unsigned base = (unsigned)c->id * (PER + 1);
    while (!atomic_load(&clients_stop)) {
        for (unsigned s = 0; s < PER; s++) {
            device_op(c, s, base + s);
            submit(base + s);
        }
        /* Forgets go on the high-priority queue, without reply. */
        unsigned hf = base + PER;
        uint64_t r = rnd(&c->rs);
        if (r % 2) {
            struct fuse_forget_in fi = {.nlookup = 1};
            struct part p = P_OBJ(fi);
            build(hf, FUSE_FORGET, pool_get(node_pool, &c->rs), &p, 1, -1, ++c->unique);
        } else {
            struct {
                struct fuse_batch_forget_in h;
                struct fuse_forget_one one[4];
            } bf = {.h = {.count = 4}};
            for (int i = 0; i < 4; i++)
                bf.one[i] = (struct fuse_forget_one){pool_get(node_pool, &c->rs), 1};
            struct part p = P_OBJ(bf);
            build(hf, FUSE_BATCH_FORGET, 0, &p, 1, -1, ++c->unique);
        }
        submit(hf);
        for (unsigned s = 0; s <= PER; s++) {
            int st = wait_chain(base + s, 10000);
            if (st != C_DONE && st != C_DROPPED)
                c->lost++;
            else if (s == PER) /* the forget */
                continue;
            else if (st == C_DONE)
                device_reply(c, s, base + s);
            else
                c->dropped++;
        }
        /* A reset or DESTROY ended the old session: start again. */
        if (c->locked_fh && (r >> 8) % 16 == 0)
            c->locked_fh = 0;
    }
    atomic_fetch_sub(&clients_running, 1);
    return NULL;
}

/* What the transport does on a driver reset: reset, drop what was not answered, activate. */
static long reset_device(void)
{
    long t0 = now_ms();
    the_dev->ops->reset(the_dev);
    long took = now_ms() - t0;
    pthread_mutex_lock(&qlock);
    for (unsigned h = 0; h < SLOTS; h++)
        if (chains[h].state == C_QUEUED || chains[h].state == C_POPPED)
            chains[h].state = C_DROPPED;
    fifo_n[0] = fifo_n[1] = 0;
    pthread_cond_broadcast(&qcond);
    pthread_mutex_unlock(&qlock);
    return took;
}

static void test_device_stress(void)
{
    char dir[] = "/tmp/test_fuse_stress.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    chmod(dir, 0755);
    make_tree(dir);
    char path[300];
    snprintf(path, sizeof(path), "%s/locked", dir);
    /* The test holds this lock all along: SETLKW requests on it wait. */
    int lfd = open(path, O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    CHECK_EQ(fcntl(lfd, F_OFD_SETLK, &fl), 0);
    memset(fh_pool, 0, sizeof(fh_pool));
    memset(node_pool, 0, sizeof(node_pool));
    int base = count_fds();

    struct fs_share s = {.tag = "stress", .path = dir};
    char err[256] = "";
    CHECK_EQ(virtio_fs_create(&s, NULL, NULL, &the_dev, err, sizeof(err)), 0);
    if (!the_dev) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    for (unsigned i = 0; i < the_dev->n_queues; i++) {
        the_dev->kick_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        the_dev->queues[i].ready = true;
    }
    for (unsigned h = 0; h < SLOTS; h++)
        chains[h].q = h % (PER + 1) == PER ? HIPRIO : REQUESTQ;
    CHECK_EQ(the_dev->ops->activate(the_dev), 0);
    int dev_base = count_fds(); /* the share's root, /proc, the device's eventfds */

    struct dclient c[CLIENTS];
    pthread_t t[CLIENTS];
    atomic_store(&clients_stop, false);
    atomic_store(&clients_running, CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = (struct dclient){.id = i, .rs = 0xda942042e4dd58b5ull * (uint64_t)(i + 3)};
        pthread_create(&t[i], NULL, client_thread, &c[i]);
    }
    /* The driver resets the device again and again. */
    long end = now_ms() + phase_ms, worst = 0;
    int resets = 0;
    uint64_t rs = 12345;
    while (atomic_load(&clients_running) > 0) {
        /* Past the end, and not before a dozen resets however slow the machine (a
         * sanitizer on a loaded host), the clients finish their last requests
         * (SETLKW waits for a reset). */
        if (now_ms() >= end && resets > 10)
            atomic_store(&clients_stop, true);
        struct timespec ts = {0, (long)(5 + rnd(&rs) % 25) * 1000000L};
        nanosleep(&ts, NULL);
        long took = reset_device();
        worst = took > worst ? took : worst;
        resets++;
        CHECK_EQ(the_dev->ops->activate(the_dev), 0);
    }
    long sent = 0, answered = 0, dropped = 0, eintr = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(c[i].bad, 0);
        CHECK_EQ(c[i].lost, 0);
        sent += c[i].sent;
        answered += c[i].answered;
        dropped += c[i].dropped;
        eintr += c[i].eintr;
    }
    printf("     %d resets (longest %ld ms), %ld requests: %ld answered, %ld dropped by a reset, "
           "%ld SETLKW ended by one\n",
           resets, worst, sent, answered, dropped, eintr);
    /* Every request was answered once or dropped by a reset. */
    CHECK_EQ(answered + dropped, sent);
    CHECK(worst < 2000);
    CHECK(resets > 10);
    CHECK(answered > 100);
    CHECK_EQ(atomic_load(&fail_calls), 0);

    /* After a last reset nothing is held any more, and the device still serves. */
    reset_device();
    CHECK_EQ(count_fds(), dev_base);
    CHECK_EQ(the_dev->ops->activate(the_dev), 0);
    struct fuse_init_in ii = {.major = 7, .minor = 38};
    struct part p = P_OBJ(ii);
    build(0, FUSE_INIT, 0, &p, 1, sizeof(struct fuse_init_out), 1);
    chains[0].q = REQUESTQ;
    submit(0);
    CHECK_EQ(wait_chain(0, 5000), C_DONE);
    p = P_STR("f2");
    build(0, FUSE_LOOKUP, 1, &p, 1, sizeof(struct fuse_entry_out), 2);
    submit(0);
    CHECK_EQ(wait_chain(0, 5000), C_DONE);
    struct fuse_out_header oh;
    memcpy(&oh, chains[0].rep, sizeof(oh));
    CHECK_EQ(oh.error, 0);
    CHECK_EQ(chains[0].written, sizeof(oh) + sizeof(struct fuse_entry_out));

    the_dev->ops->destroy(the_dev);
    close(the_dev->kick_fds[0]);
    close(the_dev->kick_fds[1]);
    free(the_dev);
    the_dev = NULL;
    close(lfd);
    CHECK_EQ(count_fds(), base - 1);
    rm_tree(dir);
}

int main(void)
{
    const char *ms = getenv("FUSE_STRESS_MS");
    if (ms && atol(ms) > 0)
        phase_ms = atol(ms);
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_server_stress);
    RUN(test_device_stress);
    return TEST_EXIT();
}
