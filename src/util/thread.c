/* SPDX-License-Identifier: Apache-2.0 */
#include "util/thread.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "util/log.h"

struct start {
    const char *name;
    enum sandbox_kind kind;
    void *(*fn)(void *);
    void *arg;
    sem_t entered; /* posted once the thread is in its sandbox (or failed to enter it) */
    int result;
};

static void *trampoline(void *p)
{
    struct start *s = p;
    char name[16];
    snprintf(name, sizeof(name), "%s", s->name);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    void *(*fn)(void *) = s->fn;
    void *arg = s->arg;
    int ret = sandbox_enter(s->kind);
    s->result = ret;
    sem_post(&s->entered); /* s belongs to the creator from here on */
    if (ret) {
        log_error("thread %s: cannot enter its seccomp sandbox: %s", name, strerror(-ret));
        return NULL;
    }
    return fn(arg);
}

int thread_start(pthread_t *t, const char *name, enum sandbox_kind kind, void *(*fn)(void *),
                 void *arg)
{
    struct start s = {.name = name, .kind = kind, .fn = fn, .arg = arg};
    if (sem_init(&s.entered, 0, 0) < 0)
        return -errno;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int ret = -pthread_create(t, NULL, trampoline, &s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ret) {
        while (sem_wait(&s.entered) < 0 && errno == EINTR) {
        }
        ret = s.result;
        if (ret)
            pthread_join(*t, NULL);
    }
    sem_destroy(&s.entered);
    return ret;
}

int thread_spawn(const struct thread_spawner *spawner, pthread_t *t, const char *name,
                 enum sandbox_kind kind, void *(*fn)(void *), void *arg)
{
    if (spawner && spawner->start)
        return spawner->start(spawner->opaque, t, name, kind, fn, arg);
    return thread_start(t, name, kind, fn, arg);
}
