/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-peer: the host side of a guest's virtio-net interface in VM tests,
 * in place of gvproxy or passt. It owns IP and the MAC 02:6e:70:65:65:72,
 * answers ARP requests for IP and ICMP echo requests to it, and ignores
 * everything else (tests/vm/net_peer_lib.c does the work).
 *
 *   net-peer dgram PATH IP       bind a unix datagram socket at PATH (as
 *                                gvproxy does: one frame per datagram);
 *                                answer whoever sends the first datagram
 *   net-peer stream-fd FD IP     a connected stream socket, inherited as FD
 *                                (as passt: a 4-byte big-endian length
 *                                before each frame)
 *
 * In dgram mode it is ready once the socket exists (test -S). On SIGTERM,
 * SIGINT or the end of the stream it prints "net-peer: N frames, A arp
 * replies, E echo replies" to stderr, then exits 0 (1 after an I/O error,
 * 2 on a bad command line). N counts every datagram or stream item from
 * the VMM, ignored ones included (a vfkit "VFKT" greeting is one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net_peer_lib.h"

static int usage(void)
{
    fprintf(stderr, "usage: net-peer dgram PATH IP | net-peer stream-fd FD IP\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct in_addr addr;
    if (argc != 4 || inet_pton(AF_INET, argv[3], &addr) != 1)
        return usage();
    /* Before the socket appears: a test may stop us as soon as it sees it. */
    np_catch_signals();
    int fd;
    enum np_mode mode;
    if (strcmp(argv[1], "dgram") == 0) {
        mode = NP_DGRAM;
        fd = np_open_dgram(argv[2]);
        if (fd < 0) {
            fprintf(stderr, "net-peer: %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
    } else if (strcmp(argv[1], "stream-fd") == 0) {
        mode = NP_STREAM;
        char *end;
        long v = strtol(argv[2], &end, 10);
        if (*argv[2] == '\0' || *end != '\0' || v < 0 || v > 1 << 20)
            return usage();
        fd = (int)v;
        int type = 0;
        socklen_t tl = sizeof(type);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM) {
            fprintf(stderr, "net-peer: fd %d is no stream socket\n", fd);
            return 1;
        }
    } else {
        return usage();
    }
    struct np_peer peer;
    np_init(&peer, (const uint8_t *)&addr.s_addr);
    return np_run(&peer, fd, mode) < 0 ? 1 : 0;
}
