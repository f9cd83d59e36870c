/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inside of the vsock device: the multiplexer ("core") between guest
 * packets and host sockets. It knows nothing of virtqueues: the device
 * (device.c) hands it each packet the guest sent (vsock_core_tx) and asks
 * it to fill each receive buffer the guest gave (vsock_core_rx), and it
 * owns an epoll set of host sockets that the device's thread waits on.
 * Unit tests drive it the same way, without a VM.
 *
 * Everything runs on one thread (the device's); nothing here locks.
 *
 * Bounds (a guest cannot make the VMM grow past them):
 *   VSOCK_MAX_CONNS     connections and TSI proxies of all kinds, lingering
 *                       ones included; a REQUEST past it gets RST, a
 *                       PROXY_CREATE is refused (later requests: -ENFILE)
 *   VSOCK_BUF_ALLOC     the credit each stream gets: what we may have to
 *                       hold for it when its host socket does not read
 *   VSOCK_BUFFER_BUDGET all such held bytes together; a stream whose data
 *                       would exceed it is reset
 *   VSOCK_CTRL_PAUSE    queued control packets (answers, resets) at which
 *                       the tx queue is no longer read until the guest
 *                       takes some: a guest that sends requests and never
 *                       reads cannot queue more
 *   VSOCK_ACCEPT_MAX    ACCEPTs waiting on one TSI listener
 */
#ifndef KRUN_VIRTIO_VSOCK_INTERNAL_H
#define KRUN_VIRTIO_VSOCK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio/vsock/buf.h"
#include "virtio/vsock/config.h"
#include "virtio/vsock/credit.h"
#include "virtio/vsock/packet.h"
#include "virtio/vsock/tsi_msg.h"
#include "virtio/vsock/vsock.h"

#define VSOCK_MAX_CONNS      1024
#define VSOCK_BUF_ALLOC      (256u * 1024u)
#define VSOCK_BUFFER_BUDGET  (64ull * 1024 * 1024)
#define VSOCK_CTRL_PAUSE     256
#define VSOCK_CTRL_MAX       (VSOCK_CTRL_PAUSE + 4 * VSOCK_MAX_CONNS)
#define VSOCK_ACCEPT_MAX     128
#define VSOCK_HASH_BUCKETS   1024
#define VSOCK_LINGER_MS      30000 /* to flush a closed stream's data to a slow host */
#define VSOCK_RETRY_MS       20    /* a unix listener with a full backlog: retry */
#define VSOCK_RETRY_LIMIT_MS 10000
#define VSOCK_MAX_SEGS       256 /* segments of a chain: the queue size */

/* First host port handed out for connections the host side opens. */
#define VSOCK_EPHEMERAL_FIRST 0x40000000u

/* What an epoll entry is (the first member of every registered object). */
enum vsock_ev_kind {
    VSOCK_EV_CONN,
    VSOCK_EV_LISTENER,
    VSOCK_EV_DEVICE, /* the device's own fds (kicks, wake); not the core's */
};

struct vsock_ev {
    enum vsock_ev_kind kind;
};

/* A doubly linked list node / head. */
struct vsock_link {
    struct vsock_link *prev, *next;
};

enum vsock_conn_kind {
    CONN_PORT_OUT,     /* the guest connected to a krun_add_vsock_port port */
    CONN_PORT_IN,      /* a host client of a listening port, forwarded to the guest */
    CONN_TSI_STREAM,   /* PROXY_CREATE of a stream: connects or listens on the host */
    CONN_TSI_DGRAM,    /* PROXY_CREATE of a datagram socket */
    CONN_TSI_ACCEPTED, /* accepted on a TSI listener, forwarded to the guest's vm_port */
};

enum vsock_conn_state {
    ST_IDLE,           /* a TSI proxy with nothing going on */
    ST_CONNECTING,     /* host connect() in progress */
    ST_HOST_CONNECTED, /* TSI: connected on the host, the guest's stream not there yet */
    ST_LISTENING,      /* TSI listener */
    ST_REQUESTED,      /* we sent the guest a REQUEST */
    ST_ESTABLISHED,    /* the vsock stream is up */
    ST_LINGER,         /* the guest is gone; flushing held data to the host */
};

struct vsock;

/*
 * One host socket and what the guest knows of it. Its key in the table is
 * (gport, hport): the guest's port and ours. Packets to the guest go from
 * (CID 2, hport) to (CID 3, gport).
 */
struct vsock_conn {
    struct vsock_ev ev; /* first */
    struct vsock *v;
    uint32_t gport, hport;
    enum vsock_conn_kind kind;
    enum vsock_conn_state state;
    int fd;
    int family, type; /* of the host socket */
    bool hashed, dead;

    /* Edge-triggered readiness of fd, cleared on EAGAIN. */
    bool readable, writable;

    /* Stream. */
    struct vsock_credit cr;
    struct vsock_buf buf;
    bool guest_shut_send, guest_shut_rcv;
    bool host_eof;     /* the host will send no more (SHUTDOWN sent to the guest) */
    bool host_wr_shut; /* shutdown(SHUT_WR) done on fd */
    bool credit_update_queued;

    /* Pending TSI answers: the guest control port to answer, 0 if none. */
    uint32_t connect_reply;
    uint32_t accept_reply; /* listener: ACCEPTs; accepted child: its ACCEPT */
    unsigned pending_accepts;
    bool accept_nonblock;
    bool acceptable;  /* listener: connections may be waiting */
    uint32_t vm_port; /* listener: where the guest waits for accepted connections */

    /* Datagrams: the SENDTO_ADDR destination, or connected. */
    struct sockaddr_storage dst;
    socklen_t dst_len;
    bool dgram_connected;

    /* A unix socket file we created (TSI listener), removed at close if still ours. */
    char *unlink_path;
    dev_t unlink_dev;
    ino_t unlink_ino;

    uint64_t deadline_ms; /* linger end, or next connect retry */
    uint64_t give_up_ms;  /* connect retries end */

    struct vsock_conn *hnext; /* hash chain */
    struct vsock_link all;    /* every live connection */
    struct vsock_link rx;     /* waiting to send data to the guest */
    bool in_rx;
    struct vsock_conn *zombie_next;
};

/* A unix socket the VMM listens on for krun_add_vsock_port2(listen=true). */
struct vsock_listener {
    struct vsock_ev ev; /* first */
    uint32_t port;
    int fd;
    char *path;
    dev_t dev;
    ino_t ino;
    bool acceptable;
};

/* A control packet waiting for a receive buffer. */
struct vsock_ctrl {
    struct vsock_ctrl *next;
    struct vsock_hdr h;
    uint32_t len;
    uint8_t payload[TSI_RSP_MAX];
};

struct vsock_stats {
    unsigned long tx_packets, rx_packets;
    unsigned long malformed; /* dropped: short, bad header, wrong CID */
    unsigned long rst_sent;
    unsigned long credit_violations;
    unsigned long budget_resets;
    unsigned long refused; /* connections or proxies past VSOCK_MAX_CONNS */
    unsigned long dgram_dropped;
    unsigned long dgram_truncated; /* host datagrams larger than the guest's buffers */
    unsigned long ctrl_dropped;
    bool warned_guest, warned_limit;
};

struct vsock {
    const char *name; /* for messages */
    uint32_t tsi;
    struct vsock_port_map_entry *port_map;
    size_t n_port_map;
    struct vsock_port_config *ports; /* connect-to ports (listen = false) */
    size_t n_ports;
    struct vsock_listener *listeners;
    size_t n_listeners;

    int epfd;
    struct vsock_conn *buckets[VSOCK_HASH_BUCKETS];
    struct vsock_link all;
    unsigned n_conns;
    struct vsock_conn *zombies;
    uint32_t next_hport;
    uint64_t buffered; /* held guest->host bytes, all streams */

    struct vsock_ctrl *ctrl_head, *ctrl_tail;
    unsigned n_ctrl;
    struct vsock_link rx_ready;
    bool retry_listeners;
    unsigned n_timed; /* connections with a deadline */

    struct vsock_stats stats;
};

/* ---- core.c: lifetime, packets from and to the guest, host events ---- */

/* Set up (epoll, listening sockets). Returns 0 or -errno with a message in err. */
int vsock_core_init(struct vsock *v, const char *name, const struct vsock_dev_config *cfg,
                    char *err, size_t errlen);
/* Drop every connection and queued packet (device reset); listeners stay. */
void vsock_core_reset(struct vsock *v);
/* Everything, listeners and their socket files included. */
void vsock_core_destroy(struct vsock *v);

/* One packet from the tx queue: the chain's readable segments. */
void vsock_core_tx(struct vsock *v, const struct iovec *iov, unsigned n);
/* Whether the tx queue should rest until the guest takes queued packets. */
bool vsock_core_tx_paused(const struct vsock *v);
/* Whether there may be something for the guest. */
bool vsock_core_rx_pending(const struct vsock *v);
/*
 * Write the next packet for the guest into a receive buffer (its writable
 * segments). Returns the bytes written, or 0 if there was nothing after
 * all (the caller keeps the buffer for later).
 */
size_t vsock_core_rx(struct vsock *v, const struct iovec *iov, unsigned n);

/* An epoll event of one of the core's objects. */
void vsock_core_event(struct vsock *v, struct vsock_ev *ev, uint32_t events);
/* Timers, retries, deferred frees; call once per loop. */
void vsock_core_tick(struct vsock *v);
/* How long the loop may sleep (ms, -1: until an event). */
int vsock_core_timeout(const struct vsock *v);
/* Wait up to timeout_ms for host events and handle them, then tick (for tests). */
int vsock_core_poll(struct vsock *v, int timeout_ms);

/* Queue a packet for the guest; payload up to TSI_RSP_MAX bytes. */
void vsock_queue_ctrl(struct vsock *v, const struct vsock_hdr *h, const void *payload,
                      uint32_t len);
/* Queue a stream control packet of conn (REQUEST, RESPONSE, RST, SHUTDOWN, CREDIT_UPDATE). */
void vsock_queue_op(struct vsock *v, struct vsock_conn *c, uint16_t op, uint32_t flags);
/* A RST from (CID 2, src_port) to (CID 3, dst_port) of this type. */
void vsock_queue_rst(struct vsock *v, uint32_t src_port, uint32_t dst_port, uint16_t type);
/* A TSI answer to the guest control port `to`, from the request's port `type`. */
void vsock_queue_tsi(struct vsock *v, uint32_t type, uint32_t to, const void *payload,
                     uint32_t len);
void vsock_tsi_result(struct vsock *v, uint32_t type, uint32_t to, int32_t result);

uint64_t vsock_now_ms(void);
/* Log a guest protocol fault: the first as a warning, the rest at debug level. */
void vsock_guest_fault(struct vsock *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- conn.c: the connection table ---- */

/* A new connection, in the table under (gport, hport), its socket watched; NULL past
 * VSOCK_MAX_CONNS or without memory. fd is taken over (closed on failure). */
struct vsock_conn *vsock_conn_new(struct vsock *v, enum vsock_conn_kind kind, uint32_t gport,
                                  uint32_t hport, int fd, int family, int type);
struct vsock_conn *vsock_conn_find(const struct vsock *v, uint32_t gport, uint32_t hport);
/* A host port no connection of the guest's port uses, for connections the host opens. */
uint32_t vsock_conn_alloc_hport(struct vsock *v, uint32_t gport);
/* Take the connection out of the table (it may linger on). */
void vsock_conn_unhash(struct vsock_conn *c);
/* Close its socket and forget it (freed at the next tick). */
void vsock_conn_close(struct vsock_conn *c);
/* Whether another connection fits. */
bool vsock_conn_room(const struct vsock *v);
/* Set or clear a deadline. */
void vsock_conn_set_deadline(struct vsock_conn *c, uint64_t deadline_ms);
void vsock_conns_free_zombies(struct vsock *v);

void vsock_link_init(struct vsock_link *l);
void vsock_link_append(struct vsock_link *head, struct vsock_link *l);
void vsock_link_remove(struct vsock_link *l);
bool vsock_link_empty(const struct vsock_link *head);
#define vsock_container(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- stream.c: the vsock stream protocol and the relay ---- */

void vsock_stream_packet(struct vsock *v, const struct vsock_hdr *h, const struct iovec *iov,
                         unsigned n);
/* The host socket of an established stream is readable or writable. */
void vsock_stream_host_event(struct vsock_conn *c, uint32_t events);
/* Put c on the list of connections with data for the guest if it has any to send. */
void vsock_stream_rx_kick(struct vsock_conn *c);
/* Fill a receive buffer with data or a SHUTDOWN/RST of c; 0 if it had nothing. */
size_t vsock_stream_rx(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t cap);
/* The stream is up (we answered the guest's REQUEST, or it answered ours). */
void vsock_stream_established(struct vsock_conn *c);
/* Begin a stream to the guest for a connection the host opened. */
void vsock_stream_request(struct vsock_conn *c);
/* The guest is gone from this stream: flush held data to the host, then close. */
void vsock_stream_finish(struct vsock_conn *c);
void vsock_stream_flush(struct vsock_conn *c);

/* ---- ports.c: krun_add_vsock_port* ---- */

int vsock_ports_init(struct vsock *v, const struct vsock_dev_config *cfg, char *err, size_t errlen);
void vsock_ports_destroy(struct vsock *v);
/* The guest sent a REQUEST to a port: returns true if it is a configured one (handled). */
bool vsock_ports_request(struct vsock *v, const struct vsock_hdr *h);
void vsock_listener_event(struct vsock *v, struct vsock_listener *l);
/* Accept what waits on the listening sockets (after a reset, when room freed up). */
void vsock_listeners_retry(struct vsock *v);
/* A connect() in progress finished or may have. */
void vsock_port_connect_event(struct vsock_conn *c);
void vsock_port_connect_retry(struct vsock_conn *c);

/* ---- dgram.c and tsi.c: datagrams and the TSI proxy ---- */

void vsock_dgram_packet(struct vsock *v, const struct vsock_hdr *h, const struct iovec *iov,
                        unsigned n);
size_t vsock_dgram_rx(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t cap);

/* A control request (parsed) from guest control port `from`. */
void vsock_tsi_request(struct vsock *v, const struct tsi_req *r, uint32_t from);
/* A TSI connection's host socket has events (connect done, listener readable). */
void vsock_tsi_host_event(struct vsock_conn *c, uint32_t events);
/* A CONNECT to a unix listener with a full backlog: try again. */
void vsock_tsi_connect_retry(struct vsock_conn *c);
/* The guest answered our REQUEST for an accepted connection (or reset it). */
void vsock_tsi_accepted(struct vsock_conn *c, int result);
/* The host port a guest listener on `port` gets (the port map), in host byte order. */
uint16_t vsock_tsi_map_port(const struct vsock *v, uint16_t port);

#endif
