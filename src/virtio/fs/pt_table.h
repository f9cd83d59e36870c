/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The passthrough filesystem's tables: inodes (O_PATH fds) and open file
 * handles, both named to the guest by idmap ids.
 *
 * An inode is kept while the guest holds lookups on it (nlookup) or a
 * request is using it (refs); the same host inode (st_dev, st_ino) always
 * gets the same node id while it is kept. Handles live from OPEN/OPENDIR to
 * RELEASE plus any request still using them. All functions take the table
 * lock themselves.
 */
#ifndef KRUN_VIRTIO_FS_PT_TABLE_H
#define KRUN_VIRTIO_FS_PT_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "virtio/fs/idmap.h"

/*
 * Each inode and each handle holds a host fd. A share keeps at most this
 * many (65536 together), far below the VMM's fd limit, so that a guest that
 * caches or opens too much gets ENFILE from its own share while the other
 * devices (disks, consoles, other shares) keep their descriptors.
 */
#define PT_INODES_MAX  49152
#define PT_HANDLES_MAX 16384

struct pt_inode {
    int fd; /* O_PATH, never followed through a symlink */
    dev_t dev;
    ino_t ino;
    mode_t type; /* S_IFMT bits, as the guest sees them */
    bool opaque; /* on a pseudo filesystem: attributes only, empty if a directory */
    bool mapped; /* a guest device node (type, rdev) kept as an empty regular file */
    dev_t rdev;  /* of a mapped node */
    uint64_t id;
    /* Under the table lock: */
    uint64_t nlookup;
    uint32_t refs;
    bool linked; /* in the id map and hash */
    struct pt_inode *hnext;
};

struct pt_handle {
    int fd; /* opened for I/O; -1 for an opaque directory */
    bool dir;
    bool at_root; /* a directory handle of the share root */
    dev_t dev;    /* of the file, for lookups of READDIRPLUS */
    uint64_t id;
    pthread_mutex_t lock; /* directory position (READDIR) */
    /* Under the table lock: */
    uint32_t refs;
    bool linked;
};

struct pt_table {
    pthread_mutex_t lock;
    struct idmap inodes;
    struct idmap handles;
    struct pt_inode **buckets;
    size_t n_buckets, n_hashed;
    struct pt_inode root; /* node id 1, never freed */
};

/* root_fd is the share's O_PATH directory fd (owned from now on). */
int pt_table_init(struct pt_table *t, int root_fd, const struct stat *st);
void pt_table_free(struct pt_table *t);

/* The inode for a node id with a reference held, or NULL. */
struct pt_inode *pt_inode_get(struct pt_table *t, uint64_t nodeid);
void pt_inode_put(struct pt_table *t, struct pt_inode *ino);

/*
 * A name was looked up: fd is an O_PATH fd of it (owned from now on), st
 * its attributes as the guest sees them (mapped: a device node kept as a
 * regular file). Find or add its inode, count one lookup, and return it
 * with a reference held. Returns 0 or -ENOMEM / -ENFILE (PT_INODES_MAX
 * reached).
 */
int pt_inode_found(struct pt_table *t, int fd, const struct stat *st, bool opaque, bool mapped,
                   struct pt_inode **out);

void pt_inode_forget(struct pt_table *t, uint64_t nodeid, uint64_t nlookup);

/*
 * A new handle for fd (owned from now on: closed on failure). Returns 0 with
 * its id in *id, or -ENOMEM / -ENFILE (PT_HANDLES_MAX reached).
 */
int pt_handle_add(struct pt_table *t, int fd, bool dir, bool at_root, dev_t dev, uint64_t *id);
/* The handle for id with a reference held, or NULL. */
struct pt_handle *pt_handle_get(struct pt_table *t, uint64_t fh);
void pt_handle_put(struct pt_table *t, struct pt_handle *h);
/* Remove the handle; its fd is closed when the last user is done. -EBADF if unknown. */
int pt_handle_release(struct pt_table *t, uint64_t fh, bool dir);

/* Drop every handle and every inode except the root. */
void pt_table_reset(struct pt_table *t);

#endif
