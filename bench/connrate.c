/* SPDX-License-Identifier: Apache-2.0 */
/*
 * connrate: short TCP connections per second, for bench/net.sh.
 *
 *   connrate serve PORT           echo one byte per connection, forever (host side)
 *   connrate client ADDR PORT N   N connections one after another: connect,
 *                                 send a byte, read it back, close; prints
 *                                 "connrate: N connections in S s: R per second"
 *
 * Static (musl) so that it runs in any guest root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int serve(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 128) < 0) {
        perror("connrate: bind/listen");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        char b;
        if (read(c, &b, 1) == 1 && write(c, &b, 1) != 1)
            perror("connrate: write");
        close(c);
    }
}

static int client(const char *addr, int port, int n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
        fprintf(stderr, "connrate: bad address %s\n", addr);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        char b = 'x';
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || write(s, &b, 1) != 1 ||
            read(s, &b, 1) != 1) {
            fprintf(stderr, "connrate: connection %d: %s\n", i, strerror(errno));
            return 1;
        }
        close(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("connrate: %d connections in %.3f s: %.1f per second\n", n, secs, n / secs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "client") == 0)
        return client(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: connrate serve PORT | connrate client ADDR PORT N\n");
    return 2;
}
