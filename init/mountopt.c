/* SPDX-License-Identifier: Apache-2.0 */
#include "mountopt.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>

struct flag_word {
    const char *word;
    unsigned long flag;
    bool clear;
};

static const struct flag_word words[] = {
    {"ro", MS_RDONLY, false},
    {"rw", MS_RDONLY, true},
    {"nosuid", MS_NOSUID, false},
    {"suid", MS_NOSUID, true},
    {"nodev", MS_NODEV, false},
    {"dev", MS_NODEV, true},
    {"noexec", MS_NOEXEC, false},
    {"exec", MS_NOEXEC, true},
    {"sync", MS_SYNCHRONOUS, false},
    {"async", MS_SYNCHRONOUS, true},
    {"dirsync", MS_DIRSYNC, false},
    {"noatime", MS_NOATIME, false},
    {"atime", MS_NOATIME, true},
    {"nodiratime", MS_NODIRATIME, false},
    {"diratime", MS_NODIRATIME, true},
    {"relatime", MS_RELATIME, false},
    {"norelatime", MS_RELATIME, true},
    {"strictatime", MS_STRICTATIME, false},
    {"lazytime", MS_LAZYTIME, false},
    {"nolazytime", MS_LAZYTIME, true},
    {"defaults", 0, false},
};

/* OCI specs list propagation and bind words for the host runtime; they
 * mean nothing for a fresh tmpfs or a root device. */
static const char *const ignored[] = {
    "shared",     "rshared",     "slave", "rslave", "private", "rprivate",
    "unbindable", "runbindable", "bind",  "rbind",  NULL,
};

static bool word_is(const char *w, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(w, s, len) == 0;
}

int mountopt_split(const char *opts, unsigned long *flags, char *data, size_t datalen)
{
    size_t used = 0;
    *flags = 0;
    if (datalen)
        data[0] = '\0';
    while (opts && *opts) {
        const char *end = strchr(opts, ',');
        size_t len = end ? (size_t)(end - opts) : strlen(opts);
        bool done = len == 0;
        for (size_t i = 0; !done && i < sizeof(words) / sizeof(words[0]); i++) {
            if (word_is(opts, len, words[i].word)) {
                if (words[i].clear)
                    *flags &= ~words[i].flag;
                else
                    *flags |= words[i].flag;
                done = true;
            }
        }
        for (const char *const *p = ignored; !done && *p; p++)
            done = word_is(opts, len, *p);
        if (!done) {
            if (used + len + 2 > datalen)
                return -EINVAL;
            if (used)
                data[used++] = ',';
            memcpy(data + used, opts, len);
            used += len;
            data[used] = '\0';
        }
        opts = end ? end + 1 : NULL;
    }
    return 0;
}
