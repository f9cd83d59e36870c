/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/console.c src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c src/util/out_fifo.c */
/* LDLIBS: -Wl,--wrap=virtq_pop,--wrap=virtq_push */
/*
 * libFuzzer harness for virtio-console with multiport: what a hostile
 * driver sends (control messages with any id, event and value, data chains
 * on the ports' transmit queues, receive buffers of any shape) and what
 * the host sends (input on pipes, its end, window size changes). The
 * device's queues are served on this thread (console_process, what its
 * worker does on each wakeup).
 *
 * Ports: 0 a console port, 1 a named port, both with pipes for input and,
 * in some inputs, for output (through the device's output fifo and its
 * writer thread; else to a callback, which needs no thread per input); 2
 * a named port (a 63-byte name) whose output goes to a callback; 3 and up:
 * no host side at all. Invariants beyond "no crash":
 *   - each port's host output is exactly the readable bytes of the chains
 *     the device took from that port's transmit queue (through a fifo: at
 *     most that, and all of it once the device is gone): nothing reaches a
 *     port from another port's queue, or from a port that does not exist;
 *   - the bytes the device put in a port's receive buffers are the bytes
 *     it took from that port's input pipe, and no more than each chain's
 *     writable bytes;
 *   - every control message the device sends is well formed: a port that
 *     exists, a known event, the port's name for PORT_NAME, 8 to 64 bytes;
 *   - every chain taken is given back (but one waiting for room in a full
 *     output fifo), unless the device failed; it fails only on a broken ring.
 * Memory stays bounded by construction (LeakSanitizer and libFuzzer's RSS
 * limit watch it): the device allocates nothing per message.
 *
 * Input layout (console_seeds in gen_seeds.c builds the same):
 *   0      bits 0-2: ports (mod 5: 1, 2, 3, 4 or 15); bit 3: EVENT_IDX; bit 4:
 *          output of ports 0 and 1 to pipes
 *   1      log2 of the queue sizes (mod 7)
 *   2..    operations; the low 3 bits of the first byte say which:
 *   0 CTRL: a control message on the control transmit queue: id byte
 *          (0xff: le32), event byte (0xff: le16), value byte; bit 3: split
 *          over two descriptors, bit 4: only the first 6 bytes.
 *   1 CTRL_RX: segment count - 1 (byte, mod 4), a length byte each.
 *   2 TX: port byte, segment count - 1 (byte, mod 4), a length byte each
 *          (times 4 with bit 3).
 *   3 RX: port byte, segment count - 1 (mod 4), a length byte each; bit 3:
 *          a readable segment first.
 *   4 PROCESS: serve the queues and check.
 *   5 HOST: port byte (input pipe of port 0 or 1), length byte, bytes;
 *          bit 3: then close the pipe (end of input).
 *   6 POKE: le16 offset into RAM, length byte (mod 32), bytes; bit 3
 *          instead: queue byte, le16 head put in its available ring as is.
 *   7 RESIZE: the host's window size changed.
 *   The queues are served once more at the end.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libkrun.h"
#include "util/guest_mem.h"
#include "util/log.h"
#include "virtio/console.h"
#include "virtio/device.h"
#include "virtio/queue.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int __real_virtq_pop(struct virtq *q, struct virtq_chain *c);
void __real_virtq_push(struct virtq *q, uint16_t head, uint32_t written);
int __wrap_virtq_pop(struct virtq *q, struct virtq_chain *c);
void __wrap_virtq_push(struct virtq *q, uint16_t head, uint32_t written);

#define CTRL_RX        2
#define CTRL_TX        3
#define CTRL_MAX       64 /* the device's largest control message */
#define R0_SIZE        0x40000u
#define RING_BASE      0x0u
#define DATA_GPA       0x10000u
#define MAX_POP        4096
#define OUT_FIFO_BYTES (1u << 20) /* the console's output fifo per port */

static const char LONG_NAME[] = "a-port-name-of-sixty-three-bytes-which-is-as-long-as-they-can-be";

static uint8_t *ram;
static size_t dirty; /* RAM beyond this is still zero: clearing all of it costs too much */
static struct guest_mem gm;
static struct virtio_device *dev;
static struct console *con;
static unsigned n_ports;
static bool verbose;

static unsigned rx_queue(unsigned port)
{
    return port == 0 ? 0 : 2 + 2 * port;
}

static unsigned tx_queue(unsigned port)
{
    return rx_queue(port) + 1;
}

/* The port of a data queue, or -1 for the control queues. */
static int port_of(unsigned qi)
{
    if (qi < 2)
        return 0;
    if (qi < 4)
        return -1;
    return (int)(qi - 2) / 2;
}

/* ---- host side: pipes, and a thread that empties the output pipes ---- */

static int out_pipe[2][2] = {{-1, -1}, {-1, -1}}; /* ports 0 and 1 */
static int in_wr[2] = {-1, -1};                   /* write ends of the input pipes */
static int in_rd[2] = {-1, -1};
static uint64_t in_written[2];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t out_received[2]; /* under out_lock */
static uint64_t cb_received[3];  /* callbacks of ports 0-2 */
static bool pipes;               /* ports 0 and 1 write to pipes (else to callbacks) */

static void drain_outputs_locked(void)
{
    uint8_t buf[65536];
    for (int i = 0; i < 2; i++) {
        ssize_t n;
        while ((n = read(out_pipe[i][0], buf, sizeof(buf))) > 0)
            out_received[i] += (uint64_t)n;
    }
}

static void *output_reader(void *arg)
{
    struct pollfd p[2] = {{.fd = out_pipe[0][0], .events = POLLIN},
                          {.fd = out_pipe[1][0], .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            abort();
        pthread_mutex_lock(&out_lock);
        drain_outputs_locked();
        pthread_mutex_unlock(&out_lock);
    }
    return NULL;
}

static void on_output(void *opaque, const uint8_t *data, size_t len)
{
    uintptr_t port = (uintptr_t)opaque;
    assert(port < 3 && port < n_ports && (port == 2 || !pipes));
    cb_received[port] += len;
}

/* ---- what the wrappers see ---- */

static uint64_t tx_taken[CONSOLE_MAX_PORTS]; /* readable bytes of chains taken from tx queues */
static uint64_t rx_given[2];                 /* bytes pushed into rx chains of ports 0 and 1 */
static unsigned n_out;                       /* chains taken and not yet given back */
static struct {
    struct iovec iov[64];
    unsigned n_out, n_in;
    uint32_t in_len;
    uint16_t head;
    bool valid;
} last[VIRTIO_MAX_QUEUES];
static unsigned n_ctrl_msgs;

static unsigned queue_index(const struct virtq *q)
{
    ptrdiff_t i = q - dev->queues;
    assert(i >= 0 && (unsigned)i < dev->n_queues);
    return (unsigned)i;
}

static bool in_ram(const void *p, size_t len)
{
    const uint8_t *b = p;
    return b >= ram && b < ram + R0_SIZE && len <= (size_t)(ram + R0_SIZE - b);
}

int __wrap_virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    int rc = __real_virtq_pop(q, c);
    if (rc != 1)
        return rc;
    unsigned qi = queue_index(q);
    /* The device gives every chain back before it takes the next one. */
    assert(!last[qi].valid);
    assert(c->n_out + c->n_in <= 64);
    for (unsigned i = 0; i < c->n_out + c->n_in; i++) {
        assert(in_ram(c->iov[i].iov_base, c->iov[i].iov_len));
        size_t end = (size_t)((uint8_t *)c->iov[i].iov_base - ram) + c->iov[i].iov_len;
        if (end > dirty)
            dirty = end;
    }
    memcpy(last[qi].iov, c->iov, (c->n_out + c->n_in) * sizeof(struct iovec));
    last[qi].n_out = c->n_out;
    last[qi].n_in = c->n_in;
    last[qi].in_len = (uint32_t)c->in_len;
    last[qi].head = c->head;
    last[qi].valid = true;
    int port = port_of(qi);
    if (port >= 0 && qi == tx_queue((unsigned)port))
        tx_taken[port] += c->out_len;
    n_out++;
    return rc;
}

/* Whether the writable segments of a chain overlap (then their contents say nothing). */
static bool overlapping(const struct iovec *iov, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++) {
            const uint8_t *a = iov[i].iov_base, *b = iov[j].iov_base;
            if (a < b + iov[j].iov_len && b < a + iov[i].iov_len)
                return true;
        }
    return false;
}

static void check_ctrl_msg(unsigned qi, uint32_t written)
{
    uint8_t msg[CTRL_MAX];
    assert(written <= CTRL_MAX);
    if (written == 0 || overlapping(last[qi].iov + last[qi].n_out, last[qi].n_in))
        return;
    size_t n = iov_to_buf(last[qi].iov + last[qi].n_out, last[qi].n_in, 0, msg, written);
    assert(n == written);
    n_ctrl_msgs++;
    if (written < sizeof(struct virtio_console_control))
        return; /* a buffer too small for the message: cut, as the spec allows */
    struct virtio_console_control m;
    memcpy(&m, msg, sizeof(m));
    if (verbose)
        fprintf(stderr, "control message to the driver: id %u event %u value %u (%u bytes)\n", m.id,
                m.event, m.value, written);
    assert(m.id < n_ports);
    size_t full = sizeof(m); /* the whole message; a smaller buffer gets a cut one */
    switch (m.event) {
    case VIRTIO_CONSOLE_PORT_ADD:
        assert(m.value == 0);
        break;
    case VIRTIO_CONSOLE_CONSOLE_PORT:
        assert(m.id == 0 && m.value == 1);
        break;
    case VIRTIO_CONSOLE_PORT_OPEN:
        assert(m.value <= 1);
        break;
    case VIRTIO_CONSOLE_RESIZE:
        assert(m.id == 0);
        full += 4; /* columns, rows */
        break;
    case VIRTIO_CONSOLE_PORT_NAME: {
        const char *name = m.id == 1 ? "port1" : m.id == 2 ? LONG_NAME : NULL;
        static char nm[16];
        if (m.id >= 4) {
            snprintf(nm, sizeof(nm), "p%u", m.id);
            name = nm;
        }
        assert(name && m.value == 1);
        full += strlen(name);
        if (full > CTRL_MAX)
            full = CTRL_MAX;
        assert(memcmp(msg + sizeof(m), name, written - sizeof(m)) == 0);
        break;
    }
    default:
        fprintf(stderr, "the device sent control event %u\n", m.event);
        abort();
    }
    assert(written == (last[qi].in_len < full ? last[qi].in_len : full));
}

void __wrap_virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    unsigned qi = queue_index(q);
    assert(last[qi].valid && last[qi].head == head);
    assert(written <= last[qi].in_len);
    last[qi].valid = false;
    n_out--;
    int port = port_of(qi);
    if (qi == CTRL_RX)
        check_ctrl_msg(qi, written);
    else if (port < 0 || qi == tx_queue((unsigned)port))
        assert(written == 0); /* the control transmit queue, or a port's transmit queue */
    else if (port < 2)
        rx_given[port] += written;
    else
        assert(written == 0); /* ports without input never fill a buffer */
    __real_virtq_push(q, head, written);
}

/* ---- the fake driver ---- */

struct ring {
    uint64_t desc, avail, used;
    uint16_t next_desc, avail_idx;
};
static struct ring rings[VIRTIO_MAX_QUEUES];
static uint16_t num;
static uint32_t bump;

static uint64_t alloc(uint32_t len)
{
    if (bump + len > R0_SIZE)
        bump = DATA_GPA;
    uint64_t gpa = bump;
    bump += len;
    if (bump > dirty)
        dirty = bump < R0_SIZE ? bump : R0_SIZE;
    return gpa;
}

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

static void add_chain(unsigned qi, const struct seg *segs, unsigned n)
{
    if (qi >= dev->n_queues || n == 0)
        return;
    struct ring *r = &rings[qi];
    uint16_t head = r->next_desc % num;
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = r->next_desc++ % num;
        struct vring_desc d = {
            .addr = segs[i].gpa,
            .len = segs[i].len,
            .flags = (uint16_t)((segs[i].write ? VRING_DESC_F_WRITE : 0) |
                                (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
            .next = (uint16_t)(r->next_desc % num),
        };
        memcpy(ram + r->desc + 16u * idx, &d, sizeof(d));
    }
    memcpy(ram + r->avail + 4 + 2u * (r->avail_idx % num), &head, 2);
    r->avail_idx++;
    __atomic_store_n((uint16_t *)(ram + r->avail + 2), r->avail_idx, __ATOMIC_RELEASE);
}

static void op_ctrl(uint8_t op, struct in *in)
{
    uint64_t id = u8(in);
    if (id == 0xff)
        id = uN(in, 4);
    uint64_t event = u8(in);
    if (event == 0xff)
        event = uN(in, 2);
    struct virtio_console_control m = {
        .id = (uint32_t)id, .event = (uint16_t)event, .value = u8(in)};
    uint32_t len = (op & 16) ? 6 : sizeof(m);
    uint64_t gpa = alloc(sizeof(m));
    memcpy(ram + gpa, &m, sizeof(m));
    if (op & 8) {
        struct seg s[2] = {{gpa, 3, false}, {gpa + 3, len - 3, false}};
        add_chain(CTRL_TX, s, 2);
    } else {
        struct seg s = {gpa, len, false};
        add_chain(CTRL_TX, &s, 1);
    }
}

static void op_buffers(unsigned qi, unsigned n, bool readable_first, unsigned scale, bool write,
                       struct in *in)
{
    struct seg s[5];
    unsigned k = 0;
    if (readable_first) {
        s[k++] = (struct seg){alloc(8), 8, false};
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t len = (uint32_t)u8(in) * scale;
        uint64_t gpa = alloc(len);
        if (!write)
            memset(ram + gpa, 'a' + (int)(qi % 26), len);
        s[k++] = (struct seg){gpa, len, write};
    }
    add_chain(qi, s, k);
}

/* Output through a fifo reaches the pipe later: at most what was taken, all of it in the end. */
static void check_pipe_output(bool final)
{
    pthread_mutex_lock(&out_lock);
    drain_outputs_locked();
    for (unsigned p = 0; p < 2 && p < n_ports; p++) {
        /* More than the fifo holds may wait in a chain the device keeps; the end drops it. */
        bool all = final && tx_taken[p] <= OUT_FIFO_BYTES;
        if (all ? out_received[p] != tx_taken[p] : out_received[p] > tx_taken[p]) {
            fprintf(stderr, "port %u: %llu bytes out, %llu taken from its queue\n", p,
                    (unsigned long long)out_received[p], (unsigned long long)tx_taken[p]);
            abort();
        }
    }
    pthread_mutex_unlock(&out_lock);
}

static void collect_and_check(void)
{
    if (pipes)
        check_pipe_output(false);
    for (unsigned p = pipes ? 2 : 0; p < 3 && p < n_ports; p++)
        if (cb_received[p] != tx_taken[p]) {
            fprintf(stderr, "port %u: %llu bytes out, %llu taken from its queue\n", p,
                    (unsigned long long)cb_received[p], (unsigned long long)tx_taken[p]);
            abort();
        }
    for (unsigned p = 0; p < 2 && p < n_ports; p++) {
        int left = 0;
        if (in_rd[p] >= 0 && ioctl(in_rd[p], FIONREAD, &left) < 0)
            abort();
        if (rx_given[p] + (uint64_t)left != in_written[p]) {
            fprintf(stderr, "port %u: %llu bytes in the guest + %d in the pipe != %llu written\n",
                    p, (unsigned long long)rx_given[p], left, (unsigned long long)in_written[p]);
            abort();
        }
    }
    /* Every chain is given back, but one a full output fifo has not taken whole yet. */
    for (unsigned qi = 0; qi < dev->n_queues && !atomic_load(&dev->failed); qi++) {
        int port = port_of(qi);
        assert(!last[qi].valid ||
               (pipes && port >= 0 && port < 2 && qi == tx_queue((unsigned)port)));
    }
}

static void process(void)
{
    /* A failed device's worker stops, until the driver resets it. */
    if (!atomic_load(&dev->failed)) {
        int rc = console_process(con);
        assert(rc == 0 || atomic_load(&dev->failed));
        if (rc < 0) {
            /* The device fails only on a broken ring. */
            bool broken = false;
            for (unsigned i = 0; i < dev->n_queues; i++)
                broken |= dev->queues[i].broken;
            assert(broken);
        }
    }
    uint64_t v;
    while (read(dev->irq_fd, &v, sizeof(v)) == sizeof(v)) {
    }
    collect_and_check();
}

static void host_input(uint8_t op, struct in *in)
{
    unsigned p = u8(in) % 2;
    unsigned len = u8(in);
    uint8_t buf[256];
    for (unsigned i = 0; i < len; i++)
        buf[i] = u8(in);
    if (p >= n_ports || in_wr[p] < 0)
        return;
    ssize_t n = write(in_wr[p], buf, len);
    if (n > 0)
        in_written[p] += (uint64_t)n;
    if (op & 8) {
        close(in_wr[p]);
        in_wr[p] = -1;
    }
}

static void setup_device(uint8_t sel, uint8_t nlog)
{
    static const unsigned N_PORTS[5] = {1, 2, 3, 4, 15};
    n_ports = N_PORTS[(sel & 7) % 5];
    pipes = sel & 16;
    struct console_port_spec ports[CONSOLE_MAX_PORTS];
    static char names[CONSOLE_MAX_PORTS][16];
    memset(ports, 0, sizeof(ports));
    for (unsigned i = 0; i < n_ports; i++) {
        ports[i].in_fd = ports[i].out_fd = -1;
        if (i < 2) {
            int p[2];
            if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                abort();
            in_rd[i] = p[0];
            in_wr[i] = p[1];
            ports[i].in_fd = p[0];
            if (pipes) {
                ports[i].out_fd = out_pipe[i][1];
            } else {
                ports[i].on_output = on_output;
                ports[i].output_opaque = (void *)(uintptr_t)i;
            }
        } else if (i == 2) {
            ports[i].name = LONG_NAME;
            ports[i].on_output = on_output;
            ports[i].output_opaque = (void *)(uintptr_t)2;
        } else if (i >= 4) {
            snprintf(names[i], sizeof(names[i]), "p%u", i);
            ports[i].name = names[i];
        }
    }
    ports[0].console = true;
    if (n_ports > 1)
        ports[1].name = "port1";
    if (console_create("fuzz-console", ports, n_ports, -1, &con, &dev) != 0)
        abort();
    virtio_device_init(dev);
    dev->gm = &gm;
    dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    dev->acked = dev->features;
    if (!(sel & 8))
        dev->acked &= ~VIRTIO_FEAT_EVENT_IDX;

    num = (uint16_t)(1u << (nlog % 7));
    uint64_t base = RING_BASE;
    for (unsigned i = 0; i < dev->n_queues; i++) {
        struct ring *r = &rings[i];
        *r = (struct ring){.desc = base};
        r->avail = r->desc + 16ull * num;
        r->used = (r->avail + 6 + 2ull * num + 3) & ~3ull;
        base = (r->used + 6 + 8ull * num + 0xff) & ~0xffull;
        struct virtq *q = &dev->queues[i];
        q->num = num;
        q->desc_gpa = r->desc;
        q->avail_gpa = r->avail;
        q->used_gpa = r->used;
        q->ready = true;
        if (virtq_activate(q, &gm, sel & 8, false) != 0)
            abort();
    }
    assert(base <= DATA_GPA);
    if (base > dirty)
        dirty = base;
}

static void teardown_device(void)
{
    dev->ops->destroy(dev);
    close(dev->irq_fd);
    pthread_mutex_destroy(&dev->lock);
    log_limit_destroy(&dev->fail_log);
    free(dev);
    dev = NULL;
    for (int p = 0; p < 2; p++) {
        if (in_rd[p] >= 0)
            close(in_rd[p]);
        if (in_wr[p] >= 0)
            close(in_wr[p]);
        in_rd[p] = in_wr[p] = -1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct in in = {data, size};
    memset(ram, 0, dirty);
    dirty = 0;
    memset(last, 0, sizeof(last));
    memset(tx_taken, 0, sizeof(tx_taken));
    memset(rx_given, 0, sizeof(rx_given));
    memset(in_written, 0, sizeof(in_written));
    pthread_mutex_lock(&out_lock);
    drain_outputs_locked();
    out_received[0] = out_received[1] = 0;
    pthread_mutex_unlock(&out_lock);
    memset(cb_received, 0, sizeof(cb_received));
    n_out = n_ctrl_msgs = 0;
    bump = DATA_GPA;
    uint8_t sel = u8(&in);
    setup_device(sel, u8(&in));

    while (in.n) {
        uint8_t op = u8(&in);
        switch (op & 7) {
        case 0:
            op_ctrl(op, &in);
            break;
        case 1:
            op_buffers(CTRL_RX, 1 + u8(&in) % 4, false, 1, true, &in);
            break;
        case 2: {
            unsigned port = u8(&in) % 16;
            op_buffers(port < n_ports ? tx_queue(port) : VIRTIO_MAX_QUEUES, 1 + u8(&in) % 4, false,
                       (op & 8) ? 4 : 1, false, &in);
            break;
        }
        case 3: {
            unsigned port = u8(&in) % 16;
            op_buffers(port < n_ports ? rx_queue(port) : VIRTIO_MAX_QUEUES, 1 + u8(&in) % 4, op & 8,
                       1, true, &in);
            break;
        }
        case 4:
            process();
            break;
        case 5:
            host_input(op, &in);
            break;
        case 6:
            if (op & 8) {
                unsigned qi = u8(&in) % VIRTIO_MAX_QUEUES;
                uint16_t head = (uint16_t)uN(&in, 2);
                if (qi < dev->n_queues) {
                    struct ring *r = &rings[qi];
                    memcpy(ram + r->avail + 4 + 2u * (r->avail_idx % num), &head, 2);
                    r->avail_idx++;
                    __atomic_store_n((uint16_t *)(ram + r->avail + 2), r->avail_idx,
                                     __ATOMIC_RELEASE);
                }
            } else {
                uint32_t off = (uint32_t)uN(&in, 2);
                unsigned len = u8(&in) % 32;
                for (unsigned i = 0; i < len; i++) {
                    ram[(off + i) % R0_SIZE] = u8(&in);
                    if ((off + i) % R0_SIZE >= dirty)
                        dirty = (off + i) % R0_SIZE + 1;
                }
            }
            break;
        case 7:
            console_resize(con);
            break;
        }
    }
    process();
    if (verbose)
        fprintf(stderr,
                "taken from tx: %llu %llu %llu, into rx: %llu %llu, %u control messages%s\n",
                (unsigned long long)tx_taken[0], (unsigned long long)tx_taken[1],
                (unsigned long long)tx_taken[2], (unsigned long long)rx_given[0],
                (unsigned long long)rx_given[1], n_ctrl_msgs,
                atomic_load(&dev->failed) ? ", failed" : "");
    teardown_device();
    if (pipes)
        check_pipe_output(true); /* the device flushed its fifos when it went */
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    log_configure(2, verbose ? LOG_DEBUG : LOG_OFF, KRUN_LOG_STYLE_NEVER, false);
    ram = aligned_alloc(4096, R0_SIZE);
    dirty = R0_SIZE;
    if (!ram || gm_add_region(&gm, 0, R0_SIZE, ram))
        abort();
    for (int i = 0; i < 2; i++) {
        if (pipe2(out_pipe[i], O_CLOEXEC) < 0 || fcntl(out_pipe[i][0], F_SETFL, O_NONBLOCK) < 0)
            abort();
    }
    pthread_t t;
    if (pthread_create(&t, NULL, output_reader, NULL) != 0)
        abort();
    pthread_detach(t);
    return 0;
}
