/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TSI control protocol on the wire (libkrun's, which libkrunfw's
 * kernels and ours speak): each request is one datagram from a guest
 * control socket to the host (CID 2) whose destination port is the request
 * type; an answer, when there is one, is a datagram back to the control
 * socket's port with the request type as source port. Integers are little
 * endian, structures packed, addresses Linux sockaddrs in a 128-byte field.
 *
 *   port  request        payload (bytes)                              answer
 *   1024  PROXY_CREATE   svm_port, family u16, type u16 (8)           none
 *   1025  CONNECT        svm_port, addr_len, addr[128] (136)          result
 *   1026  GETNAME        svm_port, svm_peer_port, peer (12)           result, addr_len, addr[128]
 *   1027  SENDTO_ADDR    svm_port, addr_len, addr[128] (136)          none
 *   1028  SENDTO_DATA    the datagram itself, from the data socket    none
 *   1029  LISTEN         svm_port, vm_port, backlog, addr_len, addr (144)  result
 *   1030  ACCEPT         svm_port, flags (8)                          result
 *   1031  PROXY_RELEASE  svm_port, svm_peer_port (8)                  none
 *
 * Stream data of a proxy flows on a vsock stream from the guest's svm_port
 * to host port 620. result is 0 or a negative Linux errno.
 *
 * This file only parses and builds messages (no sockets): it is what the
 * fuzzer and the unit tests exercise on its own.
 */
#ifndef KRUN_VIRTIO_VSOCK_TSI_MSG_H
#define KRUN_VIRTIO_VSOCK_TSI_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TSI_PROXY_CREATE  1024
#define TSI_CONNECT       1025
#define TSI_GETNAME       1026
#define TSI_SENDTO_ADDR   1027
#define TSI_SENDTO_DATA   1028
#define TSI_LISTEN        1029
#define TSI_ACCEPT        1030
#define TSI_PROXY_RELEASE 1031

/* The host port of proxied stream data; also the low half of a proxy's key. */
#define TSI_PROXY_PORT 620

#define TSI_ADDR_SIZE        128
#define TSI_RSP_RESULT_SIZE  4
#define TSI_RSP_GETNAME_SIZE (8 + TSI_ADDR_SIZE)
#define TSI_RSP_MAX          TSI_RSP_GETNAME_SIZE

static inline int tsi_is_control_port(uint32_t port)
{
    return port >= TSI_PROXY_CREATE && port <= TSI_PROXY_RELEASE;
}

struct tsi_req {
    uint32_t type; /* TSI_* */
    uint32_t svm_port;
    uint32_t peer_port;           /* GETNAME, PROXY_RELEASE: svm_peer_port; LISTEN: vm_port */
    uint16_t family;              /* PROXY_CREATE: AF_INET, AF_INET6 or AF_UNIX */
    uint16_t sock_type;           /* PROXY_CREATE: SOCK_STREAM or SOCK_DGRAM */
    uint32_t flags;               /* ACCEPT: O_NONBLOCK; GETNAME: 1 = the peer's name */
    int32_t backlog;              /* LISTEN */
    uint32_t addr_len;            /* CONNECT, SENDTO_ADDR, LISTEN: as the guest gave it */
    struct sockaddr_storage addr; /* the 128 bytes, zeroed past addr_len */
};

/*
 * Parse the payload of a request of `type` (a control port other than
 * SENDTO_DATA). Returns 0, or -EINVAL for a short payload, an addr_len over
 * 128, or a family or type TSI does not know.
 */
int tsi_req_parse(uint32_t type, const uint8_t *buf, size_t len, struct tsi_req *out);

/*
 * Check an address of a request against the proxy's family: exactly a
 * sockaddr_in, a sockaddr_in6 (24 or 28 bytes), or an absolute AF_UNIX
 * path, NUL-terminated. Returns the length to pass to the host call, or
 * -EINVAL (-EAFNOSUPPORT for another family).
 */
int tsi_addr_check(int family, const struct sockaddr_storage *addr, uint32_t addr_len);

/* Answers; they return the payload size. */
size_t tsi_rsp_result(int32_t result, uint8_t out[TSI_RSP_RESULT_SIZE]);
size_t tsi_rsp_getname(int32_t result, const struct sockaddr_storage *addr, uint32_t addr_len,
                       uint8_t out[TSI_RSP_GETNAME_SIZE]);

const char *tsi_req_name(uint32_t type);

#endif
