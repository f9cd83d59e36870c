/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/net/backend.c */
/*
 * Opening virtio-net backends without a VM: gvproxy's datagram socket
 * (our own short-named socket, the vfkit greeting, a peer path too long
 * for upstream), a caller's fd of the wrong type, and the errors that name
 * what was wrong.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio/net/backend.h"

/* A datagram socket bound at dir/name (a path of any length up to sun_path). */
static int bind_dgram(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    CHECK(strlen(path) < sizeof(a.sun_path));
    strcpy(a.sun_path, path);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(s >= 0);
    CHECK_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    return s;
}

static void test_dgram_path_and_vfkit(void)
{
    char dir[] = "/tmp/krun-test-nb.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    /* A peer path of 100 bytes: upstream's local name was derived from it and broke. */
    char peer_path[108];
    int n = snprintf(peer_path, sizeof(peer_path), "%s/", dir);
    while (n < 100)
        peer_path[n++] = 'p';
    peer_path[n] = '\0';
    int peer = bind_dgram(peer_path);
    setenv("TMPDIR", dir, 1);

    struct net_backend b;
    char err[256] = "";
    CHECK_EQ(net_backend_open_dgram(&b, peer_path, -1, true, 3, err, sizeof(err)), 0);
    CHECK(b.bound_path != NULL && strncmp(b.bound_path, dir, strlen(dir)) == 0);
    struct sockaddr_un from;
    socklen_t fl = sizeof(from);
    char buf[16];
    ssize_t r = recvfrom(peer, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    CHECK_EQ(r, 4);
    CHECK(memcmp(buf, "VFKT", 4) == 0);
    CHECK_STR(from.sun_path, b.bound_path); /* the peer can answer it */
    /* A frame goes out as one datagram. */
    CHECK_EQ(send(b.fd, "0123456789abcdef", 16, 0), 16);
    CHECK_EQ(recv(peer, buf, sizeof(buf), 0), 16);
    char bound[108];
    snprintf(bound, sizeof(bound), "%s", b.bound_path);
    net_backend_close(&b);
    struct stat st;
    CHECK_EQ(lstat(bound, &st), -1); /* our socket's file is gone */

    /* Without vfkit, nothing is sent first. */
    CHECK_EQ(net_backend_open_dgram(&b, peer_path, -1, false, 4, err, sizeof(err)), 0);
    CHECK_EQ(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
    CHECK_EQ(errno, EAGAIN);
    net_backend_close(&b);

    close(peer);
    unlink(peer_path);
    rmdir(dir);
    unsetenv("TMPDIR");
}

static void test_errors_name_the_culprit(void)
{
    struct net_backend b;
    char err[256] = "";
    CHECK_EQ(net_backend_open_stream(&b, "/nonexistent/passt.sock", -1, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "/nonexistent/passt.sock") != NULL);
    CHECK_EQ(b.fd, -1);
    CHECK_EQ(net_backend_open_dgram(&b, "/nonexistent/gv.sock", -1, false, 0, err, sizeof(err)),
             -ENOENT);
    CHECK(strstr(err, "/nonexistent/gv.sock") != NULL);
    CHECK_EQ(b.fd, -1);
    CHECK(b.bound_path == NULL);

    /* A caller's fd must be a socket of the backend's type. */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(net_backend_open_stream(&b, NULL, sv[0], err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not a stream socket") != NULL);
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    CHECK_EQ(net_backend_open_dgram(&b, NULL, fd, false, 0, err, sizeof(err)), -EINVAL);
    close(fd);
    CHECK_EQ(net_backend_open_dgram(&b, NULL, sv[0], false, 0, err, sizeof(err)), 0);
    net_backend_close(&b); /* closes sv[0]: the VM owns a caller's fd */
    close(sv[1]);

    CHECK_EQ(net_backend_open_tap(&b, "", err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_backend_open_tap(&b, "a-name-longer-than-15", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "a-name-longer-than-15") != NULL);
}

int main(void)
{
    RUN(test_dgram_path_and_vfkit);
    RUN(test_errors_name_the_culprit);
    return TEST_EXIT();
}
