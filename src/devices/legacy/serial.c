/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 16550A UART, enough for Linux's 8250 driver and earlycon: transmit goes
 * to the output fd through a bounded fifo with a writer thread of its own
 * (util/out_fifo.h), so a vCPU never waits for the host reader; while the
 * fifo is full the transmitter reads "busy" and the guest waits for the
 * THRE interrupt. Receive has a 16-byte FIFO fed from the input fd;
 * loopback mode for the driver's probe.
 */
#include "devices/legacy/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/out_fifo.h"

#define REG_DATA 0 /* RBR / THR, or DLL with DLAB */
#define REG_IER  1 /* or DLM with DLAB */
#define REG_IIR  2 /* read: IIR, write: FCR */
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define REG_MSR  6
#define REG_SCR  7

#define IER_RDI      0x01
#define IER_THRI     0x02
#define IIR_NONE     0x01
#define IIR_THRI     0x02
#define IIR_RDI      0x04
#define IIR_FIFO     0xc0
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB     0x80
#define MCR_LOOP     0x10
#define LSR_DR       0x01
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define MSR_IDLE     0xb0 /* DCD, DSR, CTS */

#define FIFO_SIZE 16
/* Output waiting for the host reader, and when a reader that does not read counts as stalled. */
#define OUT_FIFO_BYTES (64u << 10)
#define OUT_STALL_MS   10000
#define OUT_IDLE_MS    2000

struct serial {
    pthread_mutex_t lock;
    int in_fd;
    struct out_fifo *out; /* NULL: output is discarded */
    bool tx_waiting;      /* the fifo was full: THRE comes back with room */
    const struct serial_ops *ops;
    void *opaque;
    bool rx_stalled; /* input is not watched until the FIFO drains */
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thr_empty_pending; /* THRE interrupt until IIR is read or THR written */
    uint8_t rx[FIFO_SIZE];
    unsigned rx_head, rx_len;
    bool irq_level;
};

static void update_irq(struct serial *s);

/* From the fifo's writer thread: room again after it was full. */
static void out_has_room(void *opaque)
{
    struct serial *s = opaque;
    pthread_mutex_lock(&s->lock);
    if (s->tx_waiting) {
        s->tx_waiting = false;
        s->thr_empty_pending = true;
        update_irq(s);
    }
    pthread_mutex_unlock(&s->lock);
}

struct serial *serial_new(const char *name, int in_fd, int out_fd, const struct serial_ops *ops,
                          void *opaque)
{
    struct serial *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->in_fd = in_fd;
    s->ops = ops;
    s->opaque = opaque;
    s->dll = 12; /* 9600 baud, as after reset */
    if (out_fd >= 0 &&
        !(s->out = out_fifo_new(name, out_fd, OUT_FIFO_BYTES, OUT_STALL_MS, out_has_room, s))) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void serial_free(struct serial *s)
{
    if (!s)
        return;
    out_fifo_close(s->out, OUT_IDLE_MS);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Whether the transmitter can take a byte (the fifo has room, or drops for a stalled reader). */
static bool tx_ready(const struct serial *s)
{
    return !s->out || (s->mcr & MCR_LOOP) || out_fifo_can_take(s->out);
}

static uint8_t pending_iir(const struct serial *s)
{
    if ((s->ier & IER_RDI) && s->rx_len)
        return IIR_RDI;
    if ((s->ier & IER_THRI) && s->thr_empty_pending)
        return IIR_THRI;
    return IIR_NONE;
}

static void update_irq(struct serial *s)
{
    bool level = pending_iir(s) != IIR_NONE;
    if (level != s->irq_level) {
        s->irq_level = level;
        s->ops->set_irq(s->opaque, level);
    }
}

static void rx_push(struct serial *s, uint8_t c)
{
    if (s->rx_len < FIFO_SIZE) {
        s->rx[(s->rx_head + s->rx_len) % FIFO_SIZE] = c;
        s->rx_len++;
    }
}

static void transmit(struct serial *s, uint8_t c)
{
    if (s->mcr & MCR_LOOP) {
        rx_push(s, c);
    } else if (s->out) {
        /* A byte written while THRE was clear has nowhere to go: the guest ignored LSR. */
        out_fifo_write(s->out, &c, 1);
    }
    if (tx_ready(s))
        s->thr_empty_pending = true;
    else
        s->tx_waiting = true;
}

uint8_t serial_read(struct serial *s, unsigned offset)
{
    pthread_mutex_lock(&s->lock);
    uint8_t v = 0;
    switch (offset) {
    case REG_DATA:
        if (s->lcr & LCR_DLAB) {
            v = s->dll;
        } else if (s->rx_len) {
            v = s->rx[s->rx_head];
            s->rx_head = (s->rx_head + 1) % FIFO_SIZE;
            s->rx_len--;
            if (s->rx_stalled) {
                s->rx_stalled = false;
                s->ops->rx_space(s->opaque);
            }
        }
        break;
    case REG_IER:
        v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
        break;
    case REG_IIR:
        v = pending_iir(s) | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
        if ((v & 0x0f) == IIR_THRI)
            s->thr_empty_pending = false;
        break;
    case REG_LCR:
        v = s->lcr;
        break;
    case REG_MCR:
        v = s->mcr;
        break;
    case REG_LSR:
        v = (tx_ready(s) ? LSR_THRE | LSR_TEMT : 0) | (s->rx_len ? LSR_DR : 0);
        break;
    case REG_MSR:
        if (s->mcr & MCR_LOOP) {
            /* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
            v = (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4) |
                          ((s->mcr & 0x08) << 4));
        } else {
            v = MSR_IDLE;
        }
        break;
    case REG_SCR:
        v = s->scr;
        break;
    }
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return v;
}

void serial_write(struct serial *s, unsigned offset, uint8_t value)
{
    pthread_mutex_lock(&s->lock);
    switch (offset) {
    case REG_DATA:
        if (s->lcr & LCR_DLAB)
            s->dll = value;
        else
            transmit(s, value);
        break;
    case REG_IER:
        if (s->lcr & LCR_DLAB) {
            s->dlm = value;
        } else {
            /* Enabling THRI while the transmitter is empty raises it at once. */
            if (!(s->ier & IER_THRI) && (value & IER_THRI) && tx_ready(s))
                s->thr_empty_pending = true;
            s->ier = value & 0x0f;
        }
        break;
    case REG_IIR:
        s->fcr = value;
        if (value & FCR_CLEAR_RX)
            s->rx_len = 0;
        break;
    case REG_LCR:
        s->lcr = value;
        break;
    case REG_MCR:
        s->mcr = value & 0x1f;
        break;
    case REG_SCR:
        s->scr = value;
        break;
    }
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

enum serial_input serial_input_ready(struct serial *s)
{
    pthread_mutex_lock(&s->lock);
    enum serial_input ret = SERIAL_INPUT_MORE;
    unsigned room = FIFO_SIZE - s->rx_len;
    if (room && s->in_fd >= 0) {
        uint8_t buf[FIFO_SIZE];
        ssize_t n = read(s->in_fd, buf, room);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            ret = SERIAL_INPUT_EOF;
        for (ssize_t i = 0; i < n; i++)
            rx_push(s, buf[i]);
    }
    if (ret == SERIAL_INPUT_MORE && s->rx_len == FIFO_SIZE) {
        s->rx_stalled = true;
        ret = SERIAL_INPUT_FULL;
    }
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return ret;
}
