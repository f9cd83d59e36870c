/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console (virtio 1.x, section 5.3) with the multiport feature.
 *
 * One worker thread per device moves the data: it waits on the queues'
 * kick eventfds and on the host input fds, hands guest output to a
 * bounded fifo per output fd (util/out_fifo.h: its own thread writes to the
 * host, so a reader that stops reading never blocks this thread) and reads
 * host input only into buffers the guest provided. A full fifo holds the
 * guest's output back in its ring: a slow reader slows the guest down
 * instead of losing data; a stalled one loses it, counted. End of input
 * reaches the guest as PORT_OPEN(0), after all the data.
 */
#include "virtio/console.h"

#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/log.h"
#include "util/log_limit.h"
#include "util/out_fifo.h"
#include "virtio/device.h"

#define QUEUE_SIZE       64
#define CTRL_RX          2
#define CTRL_TX          3
#define MAX_SEGS         64
#define CTRL_PENDING_MAX 256
#define CTRL_MSG_MAX     64
/* Guest output waiting for the host reader, per port. */
#define OUT_FIFO_BYTES (1u << 20)
/* A reader that has not read for this long is stalled: its output is dropped. */
#define OUT_STALL_MS 10000
/* How long a port close, and the end of the VM, wait for a reader that does not read. */
#define OUT_IDLE_MS 2000

static unsigned rx_queue(unsigned port)
{
    return port == 0 ? 0 : 2 + 2 * port;
}

static unsigned tx_queue(unsigned port)
{
    return rx_queue(port) + 1;
}

struct port {
    struct console_port_spec spec;
    char name[64];
    bool ready;           /* the guest sent PORT_READY */
    bool guest_open;      /* a guest process has the port open (PORT_OPEN 1) */
    bool input_eof;       /* host input ended (PORT_OPEN 0 sent) */
    bool input_wait;      /* no rx buffer: wait for a kick before reading input */
    struct out_fifo *out; /* in front of spec.out_fd, or NULL */
    /* A guest output chain that the fifo has not taken whole yet. */
    bool tx_busy;
    uint16_t tx_head;
    unsigned tx_n;
    size_t tx_off;
    struct iovec tx_iov[MAX_SEGS];
};

struct ctrl_msg {
    uint8_t data[CTRL_MSG_MAX];
    unsigned len;
};

struct console {
    struct virtio_device *dev;
    struct port ports[CONSOLE_MAX_PORTS];
    unsigned n_ports;
    int size_fd;

    pthread_mutex_t lock; /* ctrl queue and window size, shared with the VMM thread */
    struct ctrl_msg pending[CTRL_PENDING_MAX];
    unsigned n_pending;
    uint16_t cols, rows;

    struct log_limit drops; /* a guest that never takes control messages is logged once */
    int wake_fd;
    bool running;
    atomic_bool stop;
    pthread_t thread;
    struct iovec iov[MAX_SEGS];
};

/* ------------------------------------------------------------------ */
/* Control messages                                                    */
/* ------------------------------------------------------------------ */

static void wake(struct console *c)
{
    uint64_t one = 1;
    ssize_t r = write(c->wake_fd, &one, sizeof(one));
    (void)r;
}

/* Queue a control message for the guest (lock held). */
static void ctrl_queue(struct console *c, uint32_t id, uint16_t event, uint16_t value,
                       const void *extra, unsigned extra_len)
{
    if (c->n_pending == CTRL_PENDING_MAX) {
        uint64_t unlogged;
        if (log_limit_pass(&c->drops, "ctrl_queue", &unlogged))
            log_warn("%s: too many control messages queued, dropping one (and %llu more since "
                     "this was last logged)",
                     c->dev->name, (unsigned long long)unlogged);
        return;
    }
    struct ctrl_msg *m = &c->pending[c->n_pending++];
    struct virtio_console_control hdr = {.id = id, .event = event, .value = value};
    if (extra_len > CTRL_MSG_MAX - sizeof(hdr))
        extra_len = CTRL_MSG_MAX - sizeof(hdr);
    memcpy(m->data, &hdr, sizeof(hdr));
    if (extra_len)
        memcpy(m->data + sizeof(hdr), extra, extra_len);
    m->len = (unsigned)sizeof(hdr) + extra_len;
}

/* From a fifo's writer thread: output can move again. */
static void fifo_has_room(void *opaque)
{
    wake(opaque);
}

static void read_window_size(struct console *c)
{
    struct winsize ws;
    if (c->size_fd >= 0 && ioctl(c->size_fd, TIOCGWINSZ, &ws) == 0) {
        c->cols = ws.ws_col;
        c->rows = ws.ws_row;
    }
}

static void queue_resize(struct console *c, unsigned port)
{
    /* The control message carries columns, then rows. */
    uint16_t size[2] = {c->cols, c->rows};
    ctrl_queue(c, port, VIRTIO_CONSOLE_RESIZE, 0, size, sizeof(size));
}

void console_resize(struct console *c)
{
    pthread_mutex_lock(&c->lock);
    read_window_size(c);
    for (unsigned i = 0; i < c->n_ports; i++)
        if (c->ports[i].spec.console && c->ports[i].ready)
            queue_resize(c, i);
    pthread_mutex_unlock(&c->lock);
    wake(c);
}

/* A message from the guest on the control transmit queue. */
static void handle_ctrl(struct console *c, const struct virtio_console_control *m)
{
    log_debug("%s: control message id %u event %u value %u", c->dev->name, m->id, m->event,
              m->value);
    pthread_mutex_lock(&c->lock);
    switch (m->event) {
    case VIRTIO_CONSOLE_DEVICE_READY:
        if (m->value != 1)
            break;
        for (unsigned i = 0; i < c->n_ports; i++)
            ctrl_queue(c, i, VIRTIO_CONSOLE_PORT_ADD, 0, NULL, 0);
        break;
    case VIRTIO_CONSOLE_PORT_READY: {
        if (m->id >= c->n_ports || m->value != 1)
            break;
        struct port *p = &c->ports[m->id];
        p->ready = true;
        if (p->spec.console) {
            ctrl_queue(c, m->id, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL, 0);
            queue_resize(c, m->id);
        }
        if (p->name[0])
            ctrl_queue(c, m->id, VIRTIO_CONSOLE_PORT_NAME, 1, p->name, (unsigned)strlen(p->name));
        ctrl_queue(c, m->id, VIRTIO_CONSOLE_PORT_OPEN, p->input_eof ? 0 : 1, NULL, 0);
        break;
    }
    case VIRTIO_CONSOLE_PORT_OPEN:
        /* The guest driver drops what arrives on a port nobody has open,
         * so input waits for this. */
        if (m->id < c->n_ports)
            c->ports[m->id].guest_open = m->value != 0;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------ */
/* Queue processing (worker thread)                                    */
/* ------------------------------------------------------------------ */

static struct virtq *queue(struct console *c, unsigned i)
{
    return &c->dev->queues[i];
}

/* Pop one chain; on a broken ring fail the device. Returns 1, 0 (empty) or -1. */
static int pop(struct console *c, unsigned qi, struct virtq_chain *ch)
{
    ch->iov = c->iov;
    ch->iov_cap = MAX_SEGS;
    int r = virtq_pop(queue(c, qi), ch);
    if (r < 0) {
        virtio_device_fail(c->dev, "queue %u is broken", qi);
        return -1;
    }
    return r;
}

static void push(struct console *c, unsigned qi, uint16_t head, uint32_t written)
{
    virtq_push(queue(c, qi), head, written);
    virtio_device_notify_queue(c->dev, queue(c, qi));
}

/* Give the pending chain's bytes to the port's output. Returns true when all are taken. */
static bool take_output(struct port *p)
{
    if (p->spec.on_output) {
        for (unsigned i = 0; i < p->tx_n; i++)
            p->spec.on_output(p->spec.output_opaque, p->tx_iov[i].iov_base, p->tx_iov[i].iov_len);
        return true;
    }
    if (!p->out)
        return true; /* no output fd: discard */
    size_t skip = p->tx_off;
    for (unsigned i = 0; i < p->tx_n; i++) {
        const uint8_t *b = p->tx_iov[i].iov_base;
        size_t len = p->tx_iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t want = len - skip;
        size_t n = out_fifo_write(p->out, b + skip, want);
        p->tx_off += n;
        if (n < want)
            return false; /* full: on_space wakes us */
        skip = 0;
    }
    return true;
}

/* Move the port's output to the host until its ring is empty or its fifo full. */
static int drain_tx(struct console *c, unsigned port)
{
    struct port *p = &c->ports[port];
    for (;;) {
        if (!p->tx_busy) {
            struct virtq_chain ch;
            int r = pop(c, tx_queue(port), &ch);
            if (r != 1)
                return r;
            p->tx_head = ch.head;
            p->tx_n = ch.n_out;
            p->tx_off = 0;
            memcpy(p->tx_iov, ch.iov, ch.n_out * sizeof(ch.iov[0]));
            p->tx_busy = true;
        }
        if (!take_output(p))
            return 0;
        push(c, tx_queue(port), p->tx_head, 0);
        p->tx_busy = false;
    }
}

/*
 * Drain the port's output and wait, while its reader keeps reading (or for
 * at most idle_ms of no progress), for the fifo to take all of it.
 */
static int flush_tx(struct console *c, unsigned port, unsigned idle_ms)
{
    unsigned waited = 0;
    for (;;) {
        if (drain_tx(c, port) < 0)
            return -1;
        if (!c->ports[port].tx_busy || waited >= idle_ms)
            return 0;
        size_t before = c->ports[port].tx_off;
        struct pollfd pfd = {.fd = c->wake_fd, .events = POLLIN};
        poll(&pfd, 1, 50);
        uint64_t v;
        ssize_t r = read(c->wake_fd, &v, sizeof(v));
        (void)r;
        if (drain_tx(c, port) < 0)
            return -1;
        waited = c->ports[port].tx_off != before ? 0 : waited + 50;
    }
}

static int drain_ctrl_tx(struct console *c)
{
    struct virtq_chain ch;
    int r;
    while ((r = pop(c, CTRL_TX, &ch)) == 1) {
        struct virtio_console_control m;
        bool whole = iov_to_buf(ch.iov, ch.n_out, 0, &m, sizeof(m)) == sizeof(m);
        /*
         * Guest writes to a named port return before we consume them; only
         * control messages wait for us. So when the guest closes a port,
         * its output is written out before the close is acknowledged: that
         * is what makes "write, close, reboot" lose nothing. (The chain's
         * iov array is shared: it is not used after this.)
         */
        if (whole && m.event == VIRTIO_CONSOLE_PORT_OPEN && m.value == 0 && m.id < c->n_ports &&
            flush_tx(c, m.id, OUT_IDLE_MS) < 0)
            return -1;
        if (whole)
            handle_ctrl(c, &m);
        push(c, CTRL_TX, ch.head, 0);
    }
    return r;
}

static int deliver_ctrl(struct console *c)
{
    int r = 0;
    pthread_mutex_lock(&c->lock);
    unsigned done = 0;
    while (done < c->n_pending) {
        struct virtq_chain ch;
        r = pop(c, CTRL_RX, &ch);
        if (r != 1)
            break;
        const struct ctrl_msg *m = &c->pending[done++];
        size_t n = iov_from_buf(&ch.iov[ch.n_out], ch.n_in, 0, m->data, m->len);
        push(c, CTRL_RX, ch.head, (uint32_t)n);
    }
    memmove(c->pending, c->pending + done, (c->n_pending - done) * sizeof(c->pending[0]));
    c->n_pending -= done;
    pthread_mutex_unlock(&c->lock);
    return r < 0 ? -1 : 0;
}

/* Console ports (hvc) always take input; named ports only while open in the guest. */
static bool wants_input(const struct port *p)
{
    return p->spec.console || p->guest_open;
}

/* Move host input into guest buffers until either side runs dry. */
static int pump_input(struct console *c, unsigned port)
{
    struct port *p = &c->ports[port];
    if (p->spec.in_fd < 0 || p->input_eof || !p->ready || !wants_input(p))
        return 0;
    for (;;) {
        struct pollfd pfd = {.fd = p->spec.in_fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0)
            return 0;
        struct virtq_chain ch;
        int r = pop(c, rx_queue(port), &ch);
        if (r < 0)
            return -1;
        if (r == 0) {
            p->input_wait = true;
            return 0;
        }
        ssize_t n = readv(p->spec.in_fd, &ch.iov[ch.n_out], (int)ch.n_in);
        push(c, rx_queue(port), ch.head, n > 0 ? (uint32_t)n : 0);
        if (n <= 0) {
            /* End of input (or an error, which ends it too): everything read
             * before is in the guest's ring already, so EOF comes after it. */
            pthread_mutex_lock(&c->lock);
            p->input_eof = true;
            ctrl_queue(c, port, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL, 0);
            pthread_mutex_unlock(&c->lock);
            return deliver_ctrl(c);
        }
    }
}

static int process_all(struct console *c)
{
    for (unsigned i = 0; i < c->n_ports; i++)
        if (drain_tx(c, i) < 0)
            return -1;
    if (drain_ctrl_tx(c) < 0 || deliver_ctrl(c) < 0)
        return -1;
    for (unsigned i = 0; i < c->n_ports; i++)
        if (pump_input(c, i) < 0)
            return -1;
    return deliver_ctrl(c);
}

int console_process(struct console *c)
{
    return process_all(c);
}

/*
 * Whether new buffers on q are no reason to stay awake: a receive queue
 * whose port has no input to deliver keeps its buffers (input is polled on
 * its fd, not on the ring), and a port whose fifo is full waits for it.
 */
static bool is_idle(struct console *c, unsigned q)
{
    if (q == CTRL_RX)
        return c->n_pending == 0;
    for (unsigned i = 0; i < c->n_ports; i++)
        if (rx_queue(i) == q || (tx_queue(i) == q && c->ports[i].tx_busy))
            return true;
    return false;
}

static void clear_eventfd(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
}

static void *console_thread(void *arg)
{
    struct console *c = arg;
    struct virtio_device *dev = c->dev;
    struct pollfd pfd[2 + VIRTIO_MAX_QUEUES + CONSOLE_MAX_PORTS];
    while (!atomic_load(&c->stop) && !atomic_load(&dev->failed)) {
        if (process_all(c) < 0)
            break;
        /* Ask for kicks again (EVENT_IDX: publish how far we got); if the
         * guest queued more meanwhile, go round again instead of sleeping. */
        bool more = false;
        for (unsigned q = 0; q < dev->n_queues; q++)
            more |= virtq_enable_notify(queue(c, q)) && !is_idle(c, q);
        if (more)
            continue;
        unsigned n = 0;
        pfd[n++] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
        for (unsigned q = 0; q < dev->n_queues; q++)
            pfd[n++] = (struct pollfd){.fd = dev->kick_fds[q], .events = POLLIN};
        for (unsigned i = 0; i < c->n_ports; i++) {
            struct port *p = &c->ports[i];
            if (p->spec.in_fd >= 0 && !p->input_eof && p->ready && !p->input_wait && wants_input(p))
                pfd[n++] = (struct pollfd){.fd = p->spec.in_fd, .events = POLLIN};
        }
        if (poll(pfd, n, -1) < 0 && errno != EINTR) {
            log_error("%s: poll failed: %s", dev->name, strerror(errno));
            break;
        }
        clear_eventfd(c->wake_fd);
        for (unsigned q = 0; q < dev->n_queues; q++) {
            if (pfd[1 + q].revents) {
                clear_eventfd(dev->kick_fds[q]);
                /* A kick on a receive queue means new buffers for waiting input. */
                for (unsigned i = 0; i < c->n_ports; i++)
                    if (rx_queue(i) == q)
                        c->ports[i].input_wait = false;
            }
        }
    }
    log_debug("%s: worker stops (stop %d, failed %d)", dev->name, atomic_load(&c->stop),
              atomic_load(&dev->failed));
    /* Flush what the guest wrote last. */
    if (!atomic_load(&dev->failed))
        for (unsigned i = 0; i < c->n_ports; i++)
            flush_tx(c, i, OUT_IDLE_MS);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Device ops                                                          */
/* ------------------------------------------------------------------ */

static void console_read_config(struct virtio_device *dev, uint32_t offset, void *data,
                                uint32_t len)
{
    struct console *c = dev->priv;
    pthread_mutex_lock(&c->lock);
    struct virtio_console_config cfg = {
        .cols = c->cols, .rows = c->rows, .max_nr_ports = c->n_ports};
    pthread_mutex_unlock(&c->lock);
    virtio_config_read(&cfg, sizeof(cfg), offset, data, len);
}

static void stop_worker(struct console *c)
{
    if (!c->running)
        return;
    atomic_store(&c->stop, true);
    wake(c);
    pthread_join(c->thread, NULL);
    c->running = false;
}

static int console_activate(struct virtio_device *dev)
{
    struct console *c = dev->priv;
    if (!virtio_has_feature(dev, VIRTIO_F_BIT(VIRTIO_CONSOLE_F_MULTIPORT)))
        return -ENOTSUP; /* every guest we boot speaks multiport */
    atomic_store(&c->stop, false);
    int ret =
        virtio_device_thread(dev, &c->thread, "krun-console", SANDBOX_CONSOLE, console_thread, c);
    c->running = ret == 0;
    return ret;
}

static void console_reset(struct virtio_device *dev)
{
    struct console *c = dev->priv;
    stop_worker(c);
    pthread_mutex_lock(&c->lock);
    c->n_pending = 0;
    for (unsigned i = 0; i < c->n_ports; i++) {
        c->ports[i].ready = false;
        c->ports[i].guest_open = false;
        c->ports[i].input_wait = false;
        c->ports[i].tx_busy = false; /* its chain went with the queue */
    }
    pthread_mutex_unlock(&c->lock);
}

static void console_destroy(struct virtio_device *dev)
{
    struct console *c = dev->priv;
    stop_worker(c);
    for (unsigned i = 0; i < c->n_ports; i++) {
        struct port *p = &c->ports[i];
        out_fifo_close(p->out, OUT_IDLE_MS);
        if (p->spec.owns_fds) {
            if (p->spec.in_fd >= 0)
                close(p->spec.in_fd);
            if (p->spec.out_fd >= 0 && p->spec.out_fd != p->spec.in_fd)
                close(p->spec.out_fd);
        }
    }
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    log_limit_destroy(&c->drops);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static const struct virtio_device_ops console_ops = {
    .read_config = console_read_config,
    .activate = console_activate,
    .reset = console_reset,
    .destroy = console_destroy,
};

int console_create(const char *name, const struct console_port_spec *ports, unsigned n_ports,
                   int size_fd, struct console **out, struct virtio_device **dev_out)
{
    if (n_ports == 0 || n_ports > CONSOLE_MAX_PORTS)
        return -EINVAL;
    struct console *c = calloc(1, sizeof(*c));
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    if (!c || !dev) {
        free(c);
        free(dev);
        return -ENOMEM;
    }
    pthread_mutex_init(&c->lock, NULL);
    log_limit_init(&c->drops);
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->size_fd = size_fd;
    c->n_ports = n_ports;
    int err = c->wake_fd < 0 ? errno : 0;
    for (unsigned i = 0; i < n_ports; i++) {
        struct port *p = &c->ports[i];
        p->spec = ports[i];
        if (ports[i].name)
            snprintf(p->name, sizeof(p->name), "%s", ports[i].name);
        if (!err && ports[i].out_fd >= 0 && !ports[i].on_output) {
            char what[96];
            snprintf(what, sizeof(what), "%s port %u%s%s", name, i, p->name[0] ? " " : "", p->name);
            p->out =
                out_fifo_new(what, ports[i].out_fd, OUT_FIFO_BYTES, OUT_STALL_MS, fifo_has_room, c);
            if (!p->out)
                err = errno;
        }
    }
    read_window_size(c);
    c->dev = dev;

    snprintf(dev->name, sizeof(dev->name), "%s", name);
    dev->ops = &console_ops;
    dev->device_id = VIRTIO_ID_CONSOLE;
    dev->features = VIRTIO_F_BIT(VIRTIO_CONSOLE_F_SIZE) | VIRTIO_F_BIT(VIRTIO_CONSOLE_F_MULTIPORT) |
                    VIRTIO_FEAT_EVENT_IDX;
    dev->n_queues = 2 + 2 * n_ports;
    for (unsigned q = 0; q < dev->n_queues; q++)
        dev->queue_max[q] = QUEUE_SIZE;
    dev->priv = c;
    if (err) {
        console_destroy(dev);
        free(dev);
        return -err;
    }
    *out = c;
    *dev_out = dev;
    return 0;
}
