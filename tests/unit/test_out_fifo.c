/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/util/out_fifo.c src/util/log.c src/util/thread.c src/util/sandbox.c */
/* TSAN */
/* Guest output to a host fd: no loss for a slow reader, bounded for a stalled one. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/out_fifo.h"

static atomic_int spaces;

static void on_space(void *opaque)
{
    atomic_fetch_add(&spaces, 1);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

struct reader {
    int fd;
    size_t total;
    uint8_t expect; /* the next byte's value */
    bool in_order;
};

/* A slow reader: small reads with pauses. */
static void *slow_reader(void *arg)
{
    struct reader *r = arg;
    uint8_t b[512];
    ssize_t n;
    while ((n = read(r->fd, b, sizeof(b))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            r->in_order = r->in_order && b[i] == r->expect++;
        r->total += (size_t)n;
        if (r->total % 8192 < 512)
            sleep_ms(1);
    }
    return NULL;
}

static void test_slow_reader_loses_nothing(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    struct reader r = {.fd = p[0], .in_order = true};
    pthread_t t;
    pthread_create(&t, NULL, slow_reader, &r);
    struct out_fifo *f = out_fifo_new("slow", p[1], 4096, 2000, on_space, NULL);
    CHECK(f != NULL);
    uint8_t chunk[1000];
    uint8_t v = 0;
    size_t sent = 0;
    while (sent < 256 * 1024) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)(v + i);
        size_t off = 0;
        while (off < sizeof(chunk)) {
            size_t n = out_fifo_write(f, chunk + off, sizeof(chunk) - off);
            off += n;
            if (off < sizeof(chunk))
                sleep_ms(1); /* a producer waits for on_space; polling will do here */
        }
        v = (uint8_t)(v + sizeof(chunk));
        sent += sizeof(chunk);
    }
    out_fifo_close(f, 5000);
    close(p[1]);
    pthread_join(t, NULL);
    close(p[0]);
    CHECK_EQ(r.total, sent);
    CHECK(r.in_order);
    CHECK(atomic_load(&spaces) > 0);
}

static void stalled(int *p)
{
    struct out_fifo *f = out_fifo_new("stalled", p[1], 4096, 200, NULL, NULL);
    uint8_t chunk[4096] = {0};
    uint64_t start = now_ms();
    size_t taken = 0, total = 0;
    /* Fill the pipe (64 KiB) and the fifo; then writes are refused until the stall. */
    while (now_ms() - start < 150) {
        taken += out_fifo_write(f, chunk, sizeof(chunk));
        sleep_ms(5);
    }
    CHECK(taken < 512 * 1024);
    CHECK_EQ(out_fifo_dropped(f), 0);
    sleep_ms(200);
    /* Stalled: everything is taken and dropped, and nobody blocks. */
    for (int i = 0; i < 100; i++)
        total += out_fifo_write(f, chunk, sizeof(chunk));
    CHECK_EQ(total, 100 * sizeof(chunk));
    CHECK_EQ(out_fifo_dropped(f), 100 * sizeof(chunk));
    /* Closing does not wait for a reader that made no progress for longer than asked. */
    uint64_t t0 = now_ms();
    out_fifo_close(f, 300);
    uint64_t took = now_ms() - t0;
    CHECK(took < 1000);
    CHECK_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0); /* the caller's fd is left as it was */
    close(p[0]);
    close(p[1]);
}

static void test_stalled_reader_is_bounded(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0); /* nobody reads p[0] */
    stalled(p);
    /* The same through a socket that nobody reads (the caller's flags untouched). */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    stalled(p);
}

static void test_reader_gone(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    close(p[0]); /* EPIPE (SIGPIPE is blocked in the writer) */
    struct out_fifo *f = out_fifo_new("gone", p[1], 4096, 2000, NULL, NULL);
    uint8_t chunk[100] = {0};
    CHECK_EQ(out_fifo_write(f, chunk, sizeof(chunk)), sizeof(chunk));
    sleep_ms(50);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(out_fifo_write(f, chunk, sizeof(chunk)), sizeof(chunk));
    uint64_t t0 = now_ms();
    out_fifo_close(f, 5000);
    CHECK(now_ms() - t0 < 1000);
    close(p[1]);
}

int main(void)
{
    log_configure(2, LOG_OFF, 0, false);
    RUN(test_slow_reader_loses_nothing);
    RUN(test_stalled_reader_is_bounded);
    RUN(test_reader_gone);
    return TEST_EXIT();
}
