/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/virtio_fs.c src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c src/util/thread.c src/util/sandbox.c */
/*
 * The virtio-fs device glue: creation and config space, then its threads
 * driven through stand-ins for the virtqueue and transport functions (the
 * real ring is tested in test_queue.c): requests popped from the request
 * queue are answered by the workers, several at once; FORGETs on the
 * high-priority queue; the exit-status callback; a broken ring fails the
 * device; reset and destroy stop everything.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vm/config.h"
#include "virtio/device.h"
#include "virtio/fs/virtio_fs.h"

/* ---- stand-ins for the queue and the transport ---- */

#define MAX_CHAINS 64

struct fake_chain {
    uint8_t req[512];
    size_t req_len;
    uint8_t rep[512];
    size_t rep_len;
    atomic_bool done;
    uint32_t written;
};

struct fake_queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct fake_chain *chains[MAX_CHAINS];
    unsigned n, next;
    bool broken;
    unsigned pushes;
    atomic_uint notifies;
};

static struct fake_queue fq[VIRTIO_MAX_QUEUES];
static struct virtio_device *the_dev;
static atomic_int fail_calls;

static struct fake_queue *fake(struct virtq *q)
{
    return &fq[q - the_dev->queues];
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    struct fake_queue *f = fake(q);
    pthread_mutex_lock(&f->lock);
    int ret = 0;
    if (f->broken) {
        ret = -EIO;
    } else if (f->next < f->n) {
        unsigned i = f->next++;
        struct fake_chain *ch = f->chains[i];
        /* Split the request into two readable segments to exercise the iovecs. */
        size_t half = ch->req_len / 2;
        c->head = (uint16_t)i;
        c->iov[0] = (struct iovec){ch->req, half};
        c->iov[1] = (struct iovec){ch->req + half, ch->req_len - half};
        c->n_out = 2;
        c->n_in = ch->rep_len ? 1 : 0;
        if (ch->rep_len)
            c->iov[2] = (struct iovec){ch->rep, ch->rep_len};
        c->out_len = ch->req_len;
        c->in_len = ch->rep_len;
        ret = 1;
    }
    pthread_mutex_unlock(&f->lock);
    return ret;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    struct fake_queue *f = fake(q);
    pthread_mutex_lock(&f->lock);
    f->chains[head]->written = written;
    atomic_store(&f->chains[head]->done, true);
    f->pushes++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

void virtq_disable_notify(struct virtq *q) {}

bool virtq_enable_notify(struct virtq *q)
{
    return false;
}

void virtio_device_notify_queue(struct virtio_device *dev, struct virtq *q)
{
    atomic_fetch_add(&fake(q)->notifies, 1);
}

void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
{
    atomic_store(&dev->failed, true);
    atomic_fetch_add(&fail_calls, 1);
}

/* ---- helpers ---- */

static struct fake_chain *queue_req(unsigned qi, uint32_t opcode, uint64_t nodeid, const void *arg,
                                    size_t arg_len, size_t rep_len)
{
    static uint64_t unique;
    struct fake_chain *ch = calloc(1, sizeof(*ch));
    struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + arg_len),
                               .opcode = opcode,
                               .unique = ++unique,
                               .nodeid = nodeid};
    memcpy(ch->req, &h, sizeof(h));
    memcpy(ch->req + sizeof(h), arg, arg_len);
    ch->req_len = sizeof(h) + arg_len;
    ch->rep_len = rep_len;
    struct fake_queue *f = &fq[qi];
    pthread_mutex_lock(&f->lock);
    f->chains[f->n++] = ch;
    pthread_mutex_unlock(&f->lock);
    uint64_t one = 1;
    if (write(the_dev->kick_fds[qi], &one, sizeof(one)) != sizeof(one))
        perror("kick");
    return ch;
}

static bool wait_done(unsigned qi, struct fake_chain *ch, int ms)
{
    struct fake_queue *f = &fq[qi];
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->lock);
    while (!atomic_load(&ch->done))
        if (pthread_cond_timedwait(&f->cond, &f->lock, &dl) != 0)
            break;
    pthread_mutex_unlock(&f->lock);
    return atomic_load(&ch->done);
}

static int reply_error(const struct fake_chain *ch)
{
    struct fuse_out_header oh;
    memcpy(&oh, ch->rep, sizeof(oh));
    return oh.error;
}

struct exit_rec {
    atomic_int calls;
    atomic_int status;
};

static void on_exit_status(void *opaque, int status)
{
    struct exit_rec *r = opaque;
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

static void reset_fakes(void)
{
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        for (unsigned c = 0; c < fq[i].n; c++)
            free(fq[i].chains[c]);
        fq[i].n = fq[i].next = 0;
        fq[i].broken = false;
        fq[i].pushes = 0;
        atomic_store(&fq[i].notifies, 0);
    }
}

static void *reset_thread(void *arg)
{
    struct virtio_device *dev = arg;
    dev->ops->reset(dev);
    return NULL;
}

/* dev->ops->reset, which must return within ms: a reset that hangs ends the test. */
static void reset_bounded(struct virtio_device *dev, int ms)
{
    pthread_t t;
    pthread_create(&t, NULL, reset_thread, dev);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    if (pthread_timedjoin_np(t, NULL, &dl) != 0) {
        fprintf(stderr, "%s: the device reset did not end within %d ms\n", test_current, ms);
        exit(1);
    }
}

/* ---- tests ---- */

static void test_create_errors(void)
{
    char err[256] = "";
    struct virtio_device *dev = NULL;
    struct fs_share s = {.tag = "t", .path = "/nonexistent/dir"};
    CHECK_EQ(virtio_fs_create(&s, NULL, NULL, &dev, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "/nonexistent/dir") != NULL);
    s.path = "/etc/hostname";
    CHECK(virtio_fs_create(&s, NULL, NULL, &dev, err, sizeof(err)) < 0);
    CHECK(strstr(err, "/etc/hostname") != NULL);
    s.path = NULL;
    s.tag = "";
    CHECK_EQ(virtio_fs_create(&s, NULL, NULL, &dev, err, sizeof(err)), -EINVAL);
    s.tag = "0123456789012345678901234567890123456"; /* 37 bytes */
    CHECK_EQ(virtio_fs_create(&s, NULL, NULL, &dev, err, sizeof(err)), -EINVAL);
    struct fs_overlay bad = {.kind = FS_OVERLAY_FILE, .path = "a/b"};
    s.tag = "t";
    s.overlays = &bad;
    s.n_overlays = 1;
    CHECK_EQ(virtio_fs_create(&s, NULL, NULL, &dev, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "a/b") != NULL);
}

static void test_device(void)
{
    char dir[] = "/tmp/test_fuse_dev.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/file", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    close(fd);

    struct exit_rec rec = {0};
    struct fs_share s = {.tag = "123456789012345678901234567890123456", .path = dir};
    struct virtio_device *dev = NULL;
    char err[256] = "";
    CHECK_EQ(virtio_fs_create(&s, on_exit_status, &rec, &dev, err, sizeof(err)), 0);
    if (!dev) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    the_dev = dev;
    CHECK_EQ(dev->device_id, 26);
    CHECK_EQ(dev->n_queues, 2);
    CHECK_EQ(dev->queue_max[0], 1024);
    CHECK_EQ(dev->queue_max[1], 1024);
    CHECK(dev->features & VIRTIO_FEAT_EVENT_IDX);
    CHECK(strncmp(dev->name, "virtio-fs ", 10) == 0);

    /* Config space: a 36-byte tag without NUL, then num_request_queues. */
    struct virtio_fs_config cfg;
    dev->ops->read_config(dev, 0, &cfg, sizeof(cfg));
    CHECK(memcmp(cfg.tag, s.tag, 36) == 0);
    CHECK_EQ(le32toh(cfg.num_request_queues), 1);
    uint32_t v = 0xdeadbeef;
    dev->ops->read_config(dev, 38, &v, 4);
    CHECK_EQ(v, 0x0000);
    dev->ops->read_config(dev, 40, &v, 4);
    CHECK_EQ(v, 0);
    dev->ops->read_config(dev, 4096, &v, 4);
    CHECK_EQ(v, 0);
    dev->ops->write_config(dev, 0, "x", 1);
    dev->ops->read_config(dev, 0, &cfg, sizeof(cfg));
    CHECK_EQ(cfg.tag[0], '1');

    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        pthread_mutex_init(&fq[i].lock, NULL);
        pthread_cond_init(&fq[i].cond, NULL);
    }
    /* What the transport does before activate(): fds, and rings that are ready. */
    for (unsigned i = 0; i < dev->n_queues; i++) {
        dev->kick_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        dev->queues[i].ready = true;
    }

    /* Activate, reset, activate again: threads start and stop cleanly. */
    CHECK_EQ(dev->ops->activate(dev), 0);
    dev->ops->reset(dev);
    CHECK_EQ(dev->ops->activate(dev), 0);

    struct fuse_init_in init = {.major = 7, .minor = 41, .flags = FUSE_HAS_IOCTL_DIR};
    struct fake_chain *c = queue_req(1, FUSE_INIT, 0, &init, sizeof(init), 16 + 64);
    CHECK(wait_done(1, c, 5000));
    CHECK_EQ(c->written, 16 + 64);
    CHECK_EQ(reply_error(c), 0);

    /* A host lock, a SETLKW waiting on it, and other requests answered meanwhile. */
    struct fake_chain *lk = queue_req(1, FUSE_LOOKUP, 1, "file", 5, 16 + 128);
    CHECK(wait_done(1, lk, 5000));
    struct fuse_entry_out e;
    memcpy(&e, lk->rep + 16, sizeof(e));
    CHECK(e.nodeid > 1);
    struct fuse_open_in oi = {.flags = O_RDWR};
    struct fake_chain *op = queue_req(1, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), 16 + 16);
    CHECK(wait_done(1, op, 5000));
    struct fuse_open_out oo;
    memcpy(&oo, op->rep + 16, sizeof(oo));
    int hfd = open(path, O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    CHECK_EQ(fcntl(hfd, F_OFD_SETLK, &fl), 0);
    struct fuse_lk_in li = {.fh = oo.fh, .lk = {.start = 0, .end = INT64_MAX, .type = F_WRLCK}};
    struct fake_chain *w = queue_req(1, FUSE_SETLKW, e.nodeid, &li, sizeof(li), 16);
    struct fuse_getattr_in gi = {0};
    struct fake_chain *ga[8];
    for (int i = 0; i < 8; i++)
        ga[i] = queue_req(1, FUSE_GETATTR, 1, &gi, sizeof(gi), 16 + 104);
    for (int i = 0; i < 8; i++) {
        CHECK(wait_done(1, ga[i], 5000));
        CHECK_EQ(reply_error(ga[i]), 0);
    }
    CHECK(!atomic_load(&w->done));
    fl.l_type = F_UNLCK;
    fcntl(hfd, F_OFD_SETLK, &fl);
    CHECK(wait_done(1, w, 5000));
    CHECK_EQ(reply_error(w), 0);
    close(hfd);

    /* The exit status, from a worker thread to the callback. */
    struct fuse_ioctl_in io = {.flags = FUSE_IOCTL_DIR, .cmd = 0x7602, .arg = 7};
    c = queue_req(1, FUSE_IOCTL, 1, &io, sizeof(io), 16 + 16);
    CHECK(wait_done(1, c, 5000));
    CHECK_EQ(atomic_load(&rec.calls), 1);
    CHECK_EQ(atomic_load(&rec.status), 7);
    /* Every answer was followed by a notification (the transport decides on the interrupt). */
    for (int i = 0; i < 100 && atomic_load(&fq[1].notifies) < fq[1].n; i++)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    CHECK_EQ(atomic_load(&fq[1].notifies), fq[1].n);

    /* FORGET on the high-priority queue: consumed, nothing written. */
    struct fuse_forget_in fi = {.nlookup = 1};
    c = queue_req(0, FUSE_FORGET, e.nodeid, &fi, sizeof(fi), 0);
    CHECK(wait_done(0, c, 5000));
    CHECK_EQ(c->written, 0);

    /* SETLKWs still waiting when the driver resets the device are ended: as many as may
       wait (three: one worker stays free), each on a handle of its own, and the
       reset, which joins the workers, ends in bounded time. */
    struct fuse_lk_in ul = li;
    ul.lk.type = F_UNLCK;
    c = queue_req(1, FUSE_SETLK, e.nodeid, &ul, sizeof(ul), 16);
    CHECK(wait_done(1, c, 5000));
    CHECK_EQ(reply_error(c), 0);
    hfd = open(path, O_RDWR);
    fl.l_type = F_WRLCK;
    CHECK_EQ(fcntl(hfd, F_OFD_SETLK, &fl), 0);
    /* The FORGET above dropped the node: look it up again. */
    c = queue_req(1, FUSE_LOOKUP, 1, "file", 5, 16 + 128);
    CHECK(wait_done(1, c, 5000));
    memcpy(&e, c->rep + 16, sizeof(e));
    struct fake_chain *ws[4];
    for (int i = 0; i < 4; i++) {
        struct fake_chain *o = queue_req(1, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), 16 + 16);
        CHECK(wait_done(1, o, 5000));
        CHECK_EQ(reply_error(o), 0);
        struct fuse_open_out oo2;
        memcpy(&oo2, o->rep + 16, sizeof(oo2));
        struct fuse_lk_in l2 = li;
        l2.fh = oo2.fh;
        ws[i] = queue_req(1, FUSE_SETLKW, e.nodeid, &l2, sizeof(l2), 16);
        if (i == 2)
            nanosleep(&(struct timespec){0, 20000000L}, NULL);
    }
    /* The fourth finds every waiting place taken. */
    CHECK(wait_done(1, ws[3], 5000));
    CHECK_EQ(reply_error(ws[3]), -EDEADLK);
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 3; i++)
        CHECK(!atomic_load(&ws[i]->done));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    reset_bounded(dev, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms < 1000);
    for (int i = 0; i < 3; i++) {
        CHECK(atomic_load(&ws[i]->done));
        CHECK_EQ(reply_error(ws[i]), -EINTR);
    }
    close(hfd);
    reset_fakes();

    /* After reset: INIT again, old handles are gone. */
    CHECK_EQ(dev->ops->activate(dev), 0);
    c = queue_req(1, FUSE_INIT, 0, &init, sizeof(init), 16 + 64);
    CHECK(wait_done(1, c, 5000));
    CHECK_EQ(reply_error(c), 0);
    struct fuse_read_in ri = {.fh = oo.fh, .size = 4};
    c = queue_req(1, FUSE_READ, e.nodeid, &ri, sizeof(ri), 16 + 4);
    CHECK(wait_done(1, c, 5000));
    CHECK_EQ(reply_error(c), -EBADF);

    /* A broken ring fails the device and stops that queue's thread. */
    fq[1].broken = true;
    uint64_t one = 1;
    CHECK_EQ(write(dev->kick_fds[1], &one, sizeof(one)), sizeof(one));
    for (int i = 0; i < 500 && !atomic_load(&fail_calls); i++)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    CHECK_EQ(atomic_load(&fail_calls), 1);
    CHECK(atomic_load(&dev->failed));

    /* Teardown as the VM does it: destroy, then close the fds and free the device. */
    dev->ops->destroy(dev);
    CHECK(dev->priv == NULL);
    close(dev->kick_fds[0]);
    close(dev->kick_fds[1]);
    free(dev);
    reset_fakes();
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK_EQ(system(path), 0);
}

int main(void)
{
    RUN(test_create_errors);
    RUN(test_device);
    return TEST_EXIT();
}
