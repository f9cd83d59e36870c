/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ptyrun: run a command on a pseudo-terminal, as if a person typed at it.
 *
 *   ptyrun [--size ROWSxCOLS] [--input TEXT] [--resize ROWSxCOLS]
 *          [--wait-for PATTERN] -- COMMAND [ARGS...]
 *
 * The command's terminal output is copied to stdout. When PATTERN appears in
 * the output (or at once without --wait-for), TEXT is typed and the window
 * is resized. ptyrun exits with the command's exit status (128+N for a
 * signal), and checks that the terminal's modes were restored: if the
 * command left the terminal different from how it found it, ptyrun prints
 * "ptyrun: terminal modes not restored" and exits 99.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int parse_size(const char *s, struct winsize *ws)
{
    unsigned r, c;
    if (sscanf(s, "%ux%u", &r, &c) != 2)
        return -1;
    ws->ws_row = (unsigned short)r;
    ws->ws_col = (unsigned short)c;
    return 0;
}

int main(int argc, char **argv)
{
    struct winsize size = {.ws_row = 24, .ws_col = 80}, resize = {0};
    const char *input = NULL, *wait_for = NULL;
    bool do_resize = false;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--size") == 0 && parse_size(argv[i + 1], &size) == 0)
            i++;
        else if (strcmp(argv[i], "--resize") == 0 && parse_size(argv[i + 1], &resize) == 0)
            do_resize = true, i++;
        else if (strcmp(argv[i], "--input") == 0)
            input = argv[++i];
        else if (strcmp(argv[i], "--wait-for") == 0)
            wait_for = argv[++i];
        else {
            fprintf(stderr, "ptyrun: bad option %s\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "ptyrun: no command\n");
        return 2;
    }
    int master;
    struct termios before;
    pid_t pid = forkpty(&master, NULL, NULL, &size);
    if (pid < 0) {
        perror("ptyrun: forkpty");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[i], &argv[i]);
        perror("ptyrun: exec");
        _exit(127);
    }
    tcgetattr(master, &before);

    char seen[8192] = "";
    size_t seen_len = 0;
    bool acted = false;
    for (;;) {
        if (!acted && (!wait_for || strstr(seen, wait_for))) {
            acted = true;
            if (do_resize)
                ioctl(master, TIOCSWINSZ, &resize);
            if (input && write(master, input, strlen(input)) < 0)
                perror("ptyrun: write");
        }
        struct pollfd pfd = {.fd = master, .events = POLLIN};
        if (poll(&pfd, 1, 200) < 0 && errno != EINTR)
            break;
        char buf[4096];
        ssize_t n = 0;
        if (pfd.revents) {
            n = read(master, buf, sizeof(buf));
            if (n <= 0)
                break; /* EIO: the command and all its children closed the terminal */
            fwrite(buf, 1, (size_t)n, stdout);
            fflush(stdout);
            size_t keep = sizeof(seen) - 1 - seen_len;
            if ((size_t)n > keep) {
                /* keep the tail: patterns are short */
                memmove(seen, seen + sizeof(seen) / 2, sizeof(seen) / 2);
                seen_len -= sizeof(seen) / 2;
                keep = sizeof(seen) - 1 - seen_len;
            }
            size_t c = (size_t)n < keep ? (size_t)n : keep;
            memcpy(seen + seen_len, buf, c);
            seen_len += c;
            seen[seen_len] = '\0';
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            /* Drain what is left, then judge. */
            while ((n = read(master, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)n, stdout);
            struct termios after;
            if (tcgetattr(master, &after) == 0 &&
                (after.c_lflag != before.c_lflag || after.c_iflag != before.c_iflag ||
                 after.c_oflag != before.c_oflag)) {
                printf("\nptyrun: terminal modes not restored\n");
                return 99;
            }
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
