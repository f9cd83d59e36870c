/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/devices/legacy/serial.c src/util/out_fifo.c src/util/log.c src/util/thread.c src/util/sandbox.c */
/* The 16550A: transmit, receive FIFO and flow control, interrupts, loopback. */
#include "test.h"

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "devices/legacy/serial.h"
#include "util/log.h"

#define DATA 0
#define IER  1
#define IIR  2
#define LCR  3
#define MCR  4
#define LSR  5

struct host {
    bool irq;
    int irq_changes;
    int rx_space_calls;
};

static void set_irq(void *opaque, bool level)
{
    struct host *h = opaque;
    h->irq = level;
    h->irq_changes++;
}

static void rx_space(void *opaque)
{
    struct host *h = opaque;
    h->rx_space_calls++;
}

static const struct serial_ops ops = {.set_irq = set_irq, .rx_space = rx_space};

static void test_transmit(void)
{
    int out[2];
    CHECK_EQ(pipe(out), 0);
    struct host h = {0};
    struct serial *s = serial_new("test", -1, out[1], &ops, &h);
    CHECK(serial_read(s, LSR) & 0x60); /* THRE and TEMT: always ready */
    serial_write(s, DATA, 'h');
    serial_write(s, DATA, 'i');
    char buf[4] = "";
    size_t got = 0;
    while (got < 2) { /* the output's own thread writes it */
        ssize_t n = read(out[0], buf + got, sizeof(buf) - got);
        CHECK(n > 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    CHECK(memcmp(buf, "hi", 2) == 0);
    /* THRI: raised when enabled while empty, cleared by reading IIR. */
    serial_write(s, IER, 0x02);
    CHECK(h.irq);
    CHECK_EQ(serial_read(s, IIR) & 0x0f, 0x02);
    CHECK(!h.irq);
    serial_write(s, DATA, '!'); /* each transmit raises it again */
    CHECK(h.irq);
    serial_free(s);
    close(out[0]);
    close(out[1]);
}

/* A host that stops reading: the transmitter reads busy, and THRE comes back with room. */
static void test_output_backpressure(void)
{
    int out[2];
    CHECK_EQ(pipe(out), 0);
    struct host h = {0};
    struct serial *s = serial_new("test", -1, out[1], &ops, &h);
    serial_write(s, IER, 0x02);
    CHECK_EQ(serial_read(s, IIR) & 0x0f, 0x02);
    /* The pipe (64 KiB) and the fifo (64 KiB) fill up; then LSR says busy. */
    int sent = 0;
    while (sent < 1 << 20 && (serial_read(s, LSR) & 0x20)) {
        serial_write(s, DATA, (uint8_t)sent);
        serial_read(s, IIR); /* acknowledge THRI as the driver does */
        if (++sent % 4096 == 0)
            usleep(2000); /* let the writer fill the pipe */
    }
    CHECK(sent >= 64 * 1024 && sent < 1 << 20);
    CHECK(!(serial_read(s, LSR) & 0x20));
    CHECK(!h.irq);
    /* The host reads: room comes back, and with it the THRE interrupt. */
    static uint8_t sink[65536];
    ssize_t n = read(out[0], sink, sizeof(sink));
    CHECK(n > 0);
    for (int i = 0; i < 2000 && !h.irq; i++)
        usleep(1000);
    CHECK(h.irq);
    CHECK(serial_read(s, LSR) & 0x20);
    close(out[0]); /* the reader goes: writes are discarded, nothing blocks */
    for (int i = 0; i < 200000; i++)
        serial_write(s, DATA, 'x');
    serial_free(s);
    close(out[1]);
}

static void test_divisor_latch(void)
{
    struct host h = {0};
    struct serial *s = serial_new("test", -1, -1, &ops, &h);
    serial_write(s, LCR, 0x83);
    CHECK_EQ(serial_read(s, DATA), 12); /* 9600 baud after reset */
    serial_write(s, DATA, 1);
    serial_write(s, IER, 0);
    CHECK_EQ(serial_read(s, DATA), 1);
    serial_write(s, LCR, 0x03);
    CHECK_EQ(serial_read(s, IER), 0);
    CHECK_EQ(h.irq_changes, 0); /* writing DLM is not an interrupt enable */
    serial_free(s);
}

static void test_receive_flow_control(void)
{
    int in[2];
    CHECK_EQ(pipe2(in, O_NONBLOCK), 0);
    struct host h = {0};
    struct serial *s = serial_new("test", in[0], -1, &ops, &h);
    serial_write(s, IER, 0x01);
    char many[40];
    memset(many, 'x', sizeof(many));
    many[0] = 'a';
    CHECK_EQ(write(in[1], many, sizeof(many)), (ssize_t)sizeof(many));
    /* 16 bytes fit; the rest waits in the pipe until the FIFO drains. */
    CHECK_EQ(serial_input_ready(s), SERIAL_INPUT_FULL);
    CHECK(h.irq);
    CHECK(serial_read(s, LSR) & 0x01);
    CHECK_EQ(serial_read(s, IIR) & 0x0f, 0x04);
    CHECK_EQ(serial_read(s, DATA), 'a');
    CHECK_EQ(h.rx_space_calls, 1);
    for (int i = 1; i < 16; i++)
        CHECK_EQ(serial_read(s, DATA), 'x');
    CHECK(!(serial_read(s, LSR) & 0x01));
    CHECK(!h.irq);
    CHECK_EQ(serial_input_ready(s), SERIAL_INPUT_FULL);
    for (int i = 0; i < 16; i++)
        serial_read(s, DATA);
    CHECK_EQ(serial_input_ready(s), SERIAL_INPUT_MORE); /* the last 8 */
    close(in[1]);
    for (int i = 0; i < 8; i++)
        serial_read(s, DATA);
    CHECK_EQ(serial_input_ready(s), SERIAL_INPUT_EOF);
    serial_free(s);
    close(in[0]);
}

static void test_loopback(void)
{
    int out[2];
    CHECK_EQ(pipe2(out, O_NONBLOCK), 0);
    struct host h = {0};
    struct serial *s = serial_new("test", -1, out[1], &ops, &h);
    serial_write(s, MCR, 0x10 | 0x0f);
    CHECK_EQ(serial_read(s, 6) & 0xf0, 0xf0); /* MSR mirrors the modem outputs */
    serial_write(s, DATA, 0x42);
    CHECK(serial_read(s, LSR) & 0x01);
    CHECK_EQ(serial_read(s, DATA), 0x42);
    char c;
    CHECK_EQ(read(out[0], &c, 1), -1); /* nothing reached the host */
    /* FCR clears the receive FIFO. */
    serial_write(s, DATA, 1);
    serial_write(s, IIR, 0x03);
    CHECK(!(serial_read(s, LSR) & 0x01));
    serial_free(s);
    close(out[0]);
    close(out[1]);
}

int main(void)
{
    log_configure(2, LOG_OFF, 0, false);
    RUN(test_transmit);
    RUN(test_output_backpressure);
    RUN(test_divisor_latch);
    RUN(test_receive_flow_control);
    RUN(test_loopback);
    return TEST_EXIT();
}
