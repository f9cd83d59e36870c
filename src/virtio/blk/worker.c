/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/blk/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* user_data of the worker's own SQEs; requests use their slot's address. */
#define TAG_KICK   1ull
#define TAG_STOP   2ull
#define TAG_CANCEL 3ull

struct blk_slot {
    struct blk_req req;
    uint16_t head;
    struct blk_slot *next; /* free list */
    struct iovec iov[BLK_CHAIN_MAX];
};

static void notify(struct blk_worker *w)
{
    if (w->pushed) {
        w->pushed = false;
        virtio_device_notify_queue(w->dev, w->vq);
    }
}

static void account(struct blk_worker *w, const struct blk_req *r)
{
    struct blk_stats *st = w->stats;
    atomic_fetch_add(&st->requests, 1);
    if (!r->status_ptr) {
        atomic_fetch_add(&st->unanswerable, 1);
    } else if (r->err) {
        atomic_fetch_add(&st->io_errors, 1);
        enum log_level lvl = atomic_exchange(&st->warned_io, true) ? LOG_DEBUG : LOG_WARN;
        log_msg(lvl, "%s: host I/O error at offset %" PRIu64 " (%" PRIu64 " bytes): %s", w->name,
                r->offset, r->len, strerror(r->err));
        return;
    } else if (r->why) {
        atomic_fetch_add(&st->refused, 1);
    } else {
        return;
    }
    enum log_level lvl = atomic_exchange(&st->warned_guest, true) ? LOG_DEBUG : LOG_WARN;
    log_msg(lvl, "%s: bad request from the guest: %s (status %u)", w->name, r->why,
            r->status_ptr ? (unsigned)r->status : 0);
}

/* Answer the slot's request and free the slot. */
static void complete(struct blk_worker *w, struct blk_slot *s)
{
    account(w, &s->req);
    uint32_t written = blk_req_finish(&s->req);
    if (!w->failed) {
        virtq_push(w->vq, s->head, written);
        w->pushed = true;
    }
    s->next = w->free;
    w->free = s;
    /* One request at a time: let the driver see each one as it ends. */
    if (!w->uring)
        notify(w);
}

static struct io_uring_sqe *get_sqe(struct blk_worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}

/* Submit the slot's request, or run it here if io_uring cannot take it. */
static void submit(struct blk_worker *w, struct blk_slot *s)
{
    struct blk_req *r = &s->req;
    struct io_uring_sqe *sqe = NULL;
    if (w->uring && blk_uring_can_submit(w->disk, r))
        sqe = get_sqe(w);
    if (!sqe) {
        blk_exec_sync(w->disk, r, &w->bounce);
        complete(w, s);
        return;
    }
    blk_uring_prep(sqe, w->disk, r);
    io_uring_sqe_set_data(sqe, s);
    w->inflight++;
}

static void handle_chain(struct blk_worker *w, struct blk_slot *s, const struct virtq_chain *c)
{
    struct blk_req *r = &s->req;
    s->head = c->head;
    blk_req_parse(r, w->disk, &w->mode, s->iov, c->n_out, c->n_in);
    if (r->status_ptr && r->op != BLK_OP_NONE)
        submit(w, s);
    else
        complete(w, s);
}

/* Take chains until the ring is empty (or no slot is free, or we stop). */
static void drain(struct blk_worker *w)
{
    for (;;) {
        virtq_disable_notify(w->vq);
        for (;;) {
            if (atomic_load(w->stop))
                return;
            struct blk_slot *s = w->free;
            if (!s) {
                w->starved = true; /* completions will resume draining */
                return;
            }
            struct virtq_chain c = {.iov = s->iov, .iov_cap = BLK_CHAIN_MAX};
            int ret = virtq_pop(w->vq, &c);
            if (ret == 0)
                break;
            if (ret < 0) {
                w->failed = true;
                virtio_device_fail(w->dev, "broken virtqueue: %s",
                                   w->vq->error ? w->vq->error : strerror(-ret));
                return;
            }
            w->free = s->next;
            handle_chain(w, s, &c);
        }
        if (!virtq_enable_notify(w->vq))
            return;
    }
}

static void arm(struct blk_worker *w, uint64_t tag)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    if (!sqe)
        return; /* cannot happen: the ring has room for every slot and ours */
    if (tag == TAG_KICK)
        io_uring_prep_read(sqe, w->kick_fd, &w->kick_buf, sizeof(w->kick_buf), 0);
    else
        io_uring_prep_poll_add(sqe, w->stop_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag);
}

static void request_done(struct blk_worker *w, struct blk_slot *s, int res)
{
    w->inflight--;
    switch (blk_uring_complete(w->disk, &s->req, res)) {
    case BLK_URING_AGAIN:
        submit(w, s);
        return;
    case BLK_URING_SYNC:
        blk_exec_sync(w->disk, &s->req, &w->bounce);
        break;
    case BLK_URING_DONE:
        break;
    }
    complete(w, s);
}

static void run_uring(struct blk_worker *w)
{
    bool stopping = false, kick_armed = true, kicked = false;
    arm(w, TAG_KICK);
    arm(w, TAG_STOP);
    for (;;) {
        int ret = io_uring_submit_and_wait(&w->ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            uint64_t unlogged;
            if (log_limit_pass(&w->errors, "io_uring_submit_and_wait", &unlogged))
                log_error("%s: io_uring: %s (%llu more times since this was last logged)", w->name,
                          strerror(-ret), (unsigned long long)unlogged);
            usleep(1000);
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&w->ring, head, cqe)
        {
            seen++;
            uint64_t tag = io_uring_cqe_get_data64(cqe);
            if (tag == TAG_KICK) {
                kick_armed = false;
                if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN &&
                    cqe->res != -ECANCELED) {
                    log_error("%s: reading the queue notifier: %s", w->name, strerror(-cqe->res));
                    stopping = true;
                } else {
                    kicked = true;
                }
            } else if (tag == TAG_STOP) {
                stopping = true;
            } else if (tag != TAG_CANCEL) {
                request_done(w, (struct blk_slot *)(uintptr_t)tag, cqe->res);
            }
        }
        io_uring_cq_advance(&w->ring, seen);
        notify(w);

        if (stopping || atomic_load(w->stop)) {
            stopping = true;
            if (w->inflight == 0)
                break;
            continue;
        }
        if (kicked && !kick_armed) {
            arm(w, TAG_KICK); /* before draining, so that no kick is lost */
            kick_armed = true;
        }
        if (!w->failed && (kicked || (w->starved && w->free))) {
            kicked = false;
            w->starved = false;
            drain(w);
            notify(w);
        }
    }

    /* The pending read of the kick fd points at kick_buf: cancel it first. */
    if (kick_armed) {
        struct io_uring_sqe *sqe = get_sqe(w);
        if (sqe) {
            io_uring_prep_cancel64(sqe, TAG_KICK, 0);
            io_uring_sqe_set_data64(sqe, TAG_CANCEL);
        }
        while (kick_armed) {
            struct io_uring_cqe *cqe;
            int ret = io_uring_submit_and_wait(&w->ring, 1);
            if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
                break; /* the ring teardown cancels it */
            while (io_uring_peek_cqe(&w->ring, &cqe) == 0) {
                if (io_uring_cqe_get_data64(cqe) == TAG_KICK)
                    kick_armed = false;
                io_uring_cqe_seen(&w->ring, cqe);
            }
        }
    }
}

static void run_sync(struct blk_worker *w)
{
    struct pollfd fds[2] = {{.fd = w->kick_fd, .events = POLLIN},
                            {.fd = w->stop_fd, .events = POLLIN}};
    while (!atomic_load(w->stop)) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("%s: poll: %s", w->name, strerror(errno));
            return;
        }
        if (fds[1].revents)
            return;
        if (fds[0].revents & (POLLERR | POLLNVAL)) {
            log_error("%s: the queue notifier failed", w->name);
            return;
        }
        if (fds[0].revents & POLLIN) {
            uint64_t v;
            if (read(w->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN && errno != EINTR) {
                log_error("%s: reading the queue notifier: %s", w->name, strerror(errno));
                return;
            }
            if (!w->failed)
                drain(w);
            notify(w);
        }
    }
}

/* io_uring with every opcode we use, or false (then requests run synchronously). */
static bool setup_uring(struct blk_worker *w)
{
    static const int ops[] = {IORING_OP_READV,       IORING_OP_WRITEV, IORING_OP_FSYNC,
                              IORING_OP_FALLOCATE,   IORING_OP_READ,   IORING_OP_POLL_ADD,
                              IORING_OP_ASYNC_CANCEL};
    /* Room for every slot plus the kick read, the stop poll and a cancel. */
    int ret = io_uring_queue_init(w->n_slots + 4, &w->ring, 0);
    if (ret < 0) {
        log_info("%s: io_uring unavailable (%s), serving requests synchronously", w->name,
                 strerror(-ret));
        return false;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&w->ring);
    bool ok = probe != NULL;
    for (size_t i = 0; ok && i < sizeof(ops) / sizeof(ops[0]); i++)
        ok = io_uring_opcode_supported(probe, ops[i]);
    if (probe)
        io_uring_free_probe(probe);
    if (!ok) {
        log_info("%s: io_uring lacks an opcode we need, serving requests synchronously", w->name);
        io_uring_queue_exit(&w->ring);
    }
    return ok;
}

static void *worker_main(void *arg)
{
    struct blk_worker *w = arg;
    /* Here, not in the vCPU that activated the device: its sandbox has no io_uring_setup. */
    w->uring = w->try_uring && setup_uring(w);
    if (w->uring)
        run_uring(w);
    else
        run_sync(w);
    return NULL;
}

static void free_resources(struct blk_worker *w)
{
    if (w->uring)
        io_uring_queue_exit(&w->ring);
    w->uring = false;
    free(w->slots);
    w->slots = NULL;
    w->free = NULL;
    blk_bounce_free(&w->bounce);
}

/* Slots: everything but the thread and the I/O engine. */
static int prepare(struct blk_worker *w)
{
    w->n_slots = w->vq->num ? w->vq->num : 1;
    w->slots = calloc(w->n_slots, sizeof(*w->slots));
    if (!w->slots)
        return -ENOMEM;
    w->free = NULL;
    for (unsigned i = w->n_slots; i-- > 0;) {
        w->slots[i].next = w->free;
        w->free = &w->slots[i];
    }
    w->inflight = 0;
    w->starved = w->failed = w->pushed = false;
    w->uring = false;
    log_limit_init(&w->errors);
    return 0;
}

int blk_worker_start(struct blk_worker *w)
{
    int ret = prepare(w);
    if (ret < 0)
        return ret;
    ret = virtio_device_thread(w->dev, &w->thread, "krun-blk", SANDBOX_BLK, worker_main, w);
    if (ret < 0) {
        free_resources(w);
        log_limit_destroy(&w->errors);
        return ret;
    }
    w->started = true;
    return 0;
}

void blk_worker_join(struct blk_worker *w)
{
    if (!w->started && !w->slots)
        return; /* never started, or joined already */
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
    free_resources(w);
    log_limit_destroy(&w->errors);
}

int blk_worker_start_inline(struct blk_worker *w)
{
    int ret = prepare(w);
    if (ret == 0)
        w->uring = w->try_uring && setup_uring(w);
    return ret;
}

void blk_worker_rearm_inline(struct blk_worker *w)
{
    w->starved = w->failed = w->pushed = false;
}

void blk_worker_serve(struct blk_worker *w)
{
    if (!w->failed)
        drain(w);
    while (w->uring && w->inflight > 0) {
        int ret = io_uring_submit_and_wait(&w->ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            log_error("%s: io_uring: %s", w->name, strerror(-ret));
            usleep(1000);
        }
        struct io_uring_cqe *cqe;
        while (io_uring_peek_cqe(&w->ring, &cqe) == 0) {
            struct blk_slot *s = (struct blk_slot *)(uintptr_t)io_uring_cqe_get_data64(cqe);
            int res = cqe->res;
            io_uring_cqe_seen(&w->ring, cqe);
            request_done(w, s, res);
        }
        if (!w->failed && w->starved && w->free) {
            w->starved = false;
            drain(w);
        }
    }
    notify(w);
}
