/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/vsock/tsi_msg.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <netinet/in.h>

/* Request sizes on the wire (libkrun's packed structures). */
#define SZ_PROXY_CREATE 8
#define SZ_ADDR_REQ     (8 + TSI_ADDR_SIZE)
#define SZ_GETNAME      12
#define SZ_LISTEN       (16 + TSI_ADDR_SIZE)
#define SZ_ACCEPT       8
#define SZ_RELEASE      8

/* The shortest sockaddr_in6 Linux accepts (RFC 2133, without sin6_scope_id). */
#define SIN6_LEN_MIN 24

static uint32_t le32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static uint16_t le16_at(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static int take_addr(struct tsi_req *r, const uint8_t *len_field)
{
    r->addr_len = le32_at(len_field);
    if (r->addr_len > TSI_ADDR_SIZE)
        return -EINVAL;
    memset(&r->addr, 0, sizeof(r->addr));
    memcpy(&r->addr, len_field + 4, r->addr_len);
    return 0;
}

int tsi_req_parse(uint32_t type, const uint8_t *buf, size_t len, struct tsi_req *r)
{
    static const size_t need[] = {
        [TSI_PROXY_CREATE - TSI_PROXY_CREATE] = SZ_PROXY_CREATE,
        [TSI_CONNECT - TSI_PROXY_CREATE] = SZ_ADDR_REQ,
        [TSI_GETNAME - TSI_PROXY_CREATE] = SZ_GETNAME,
        [TSI_SENDTO_ADDR - TSI_PROXY_CREATE] = SZ_ADDR_REQ,
        [TSI_SENDTO_DATA - TSI_PROXY_CREATE] = 0,
        [TSI_LISTEN - TSI_PROXY_CREATE] = SZ_LISTEN,
        [TSI_ACCEPT - TSI_PROXY_CREATE] = SZ_ACCEPT,
        [TSI_PROXY_RELEASE - TSI_PROXY_CREATE] = SZ_RELEASE,
    };
    memset(r, 0, sizeof(*r));
    if (!tsi_is_control_port(type) || type == TSI_SENDTO_DATA)
        return -EINVAL;
    /* Longer payloads are accepted: a newer guest may append fields. */
    if (len < need[type - TSI_PROXY_CREATE])
        return -EINVAL;
    r->type = type;
    r->svm_port = le32_at(buf);
    switch (type) {
    case TSI_PROXY_CREATE:
        r->family = le16_at(buf + 4);
        r->sock_type = le16_at(buf + 6);
        if (r->family != AF_INET && r->family != AF_INET6 && r->family != AF_UNIX)
            return -EINVAL;
        if (r->sock_type != SOCK_STREAM && r->sock_type != SOCK_DGRAM)
            return -EINVAL;
        return 0;
    case TSI_CONNECT:
    case TSI_SENDTO_ADDR:
        return take_addr(r, buf + 4);
    case TSI_GETNAME:
        r->peer_port = le32_at(buf + 4);
        r->flags = le32_at(buf + 8);
        return 0;
    case TSI_LISTEN:
        r->peer_port = le32_at(buf + 4);
        r->backlog = (int32_t)le32_at(buf + 8);
        return take_addr(r, buf + 12);
    case TSI_ACCEPT:
        r->flags = le32_at(buf + 4);
        return 0;
    case TSI_PROXY_RELEASE:
        r->peer_port = le32_at(buf + 4);
        return 0;
    }
    return -EINVAL;
}

int tsi_addr_check(int family, const struct sockaddr_storage *addr, uint32_t addr_len)
{
    if (addr_len < sizeof(sa_family_t) || addr_len > TSI_ADDR_SIZE)
        return -EINVAL;
    if (addr->ss_family != family)
        return -EAFNOSUPPORT;
    switch (family) {
    case AF_INET:
        return addr_len >= sizeof(struct sockaddr_in) ? (int)sizeof(struct sockaddr_in) : -EINVAL;
    case AF_INET6:
        /* A short one has a zero scope id: the field is zeroed past addr_len. */
        return addr_len >= SIN6_LEN_MIN ? (int)sizeof(struct sockaddr_in6) : -EINVAL;
    case AF_UNIX: {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)addr;
        if (addr_len <= offsetof(struct sockaddr_un, sun_path))
            return -EINVAL;
        size_t room = addr_len - offsetof(struct sockaddr_un, sun_path);
        if (room > sizeof(sun->sun_path))
            room = sizeof(sun->sun_path);
        /* Only absolute paths mean something on the host (no abstract names). */
        if (sun->sun_path[0] != '/')
            return -EINVAL;
        size_t plen = strnlen(sun->sun_path, room);
        if (plen == room)
            return -EINVAL;
        return (int)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
    }
    }
    return -EAFNOSUPPORT;
}

size_t tsi_rsp_result(int32_t result, uint8_t out[TSI_RSP_RESULT_SIZE])
{
    put_le32(out, (uint32_t)result);
    return TSI_RSP_RESULT_SIZE;
}

size_t tsi_rsp_getname(int32_t result, const struct sockaddr_storage *addr, uint32_t addr_len,
                       uint8_t out[TSI_RSP_GETNAME_SIZE])
{
    memset(out, 0, TSI_RSP_GETNAME_SIZE);
    if (result != 0 || !addr)
        addr_len = 0;
    if (addr_len > TSI_ADDR_SIZE)
        addr_len = TSI_ADDR_SIZE;
    put_le32(out, (uint32_t)result);
    put_le32(out + 4, addr_len);
    if (addr_len)
        memcpy(out + 8, addr, addr_len);
    return TSI_RSP_GETNAME_SIZE;
}

const char *tsi_req_name(uint32_t type)
{
    static const char *const names[] = {
        "PROXY_CREATE", "CONNECT", "GETNAME", "SENDTO_ADDR",
        "SENDTO_DATA",  "LISTEN",  "ACCEPT",  "PROXY_RELEASE",
    };
    return tsi_is_control_port(type) ? names[type - TSI_PROXY_CREATE] : "unknown";
}
