/* SPDX-License-Identifier: Apache-2.0 */
/* Inode and handle tables of the passthrough filesystem; see pt_table.h. */
#include "virtio/fs/pt_table.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <unistd.h>

static size_t hash_of(const struct pt_table *t, dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
    return (size_t)(h ^ (h >> 29)) & (t->n_buckets - 1);
}

static void hash_insert(struct pt_table *t, struct pt_inode *ino)
{
    size_t b = hash_of(t, ino->dev, ino->ino);
    ino->hnext = t->buckets[b];
    t->buckets[b] = ino;
    t->n_hashed++;
}

static void hash_remove(struct pt_table *t, struct pt_inode *ino)
{
    for (struct pt_inode **p = &t->buckets[hash_of(t, ino->dev, ino->ino)]; *p; p = &(*p)->hnext) {
        if (*p == ino) {
            *p = ino->hnext;
            t->n_hashed--;
            return;
        }
    }
}

static struct pt_inode *hash_find(const struct pt_table *t, dev_t dev, ino_t ino)
{
    for (struct pt_inode *i = t->buckets[hash_of(t, dev, ino)]; i; i = i->hnext)
        if (i->dev == dev && i->ino == ino)
            return i;
    return NULL;
}

/* Keep the chains short; a failed resize just leaves them longer. */
static void hash_grow(struct pt_table *t)
{
    if (t->n_hashed < t->n_buckets)
        return;
    size_t n = t->n_buckets * 2;
    struct pt_inode **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    struct pt_inode **old = t->buckets;
    size_t old_n = t->n_buckets;
    t->buckets = nb;
    t->n_buckets = n;
    t->n_hashed = 0;
    for (size_t b = 0; b < old_n; b++) {
        for (struct pt_inode *i = old[b], *next; i; i = next) {
            next = i->hnext;
            hash_insert(t, i);
        }
    }
    free(old);
}

int pt_table_init(struct pt_table *t, int root_fd, const struct stat *st)
{
    t->n_buckets = 256;
    t->n_hashed = 0;
    if (!(t->buckets = calloc(t->n_buckets, sizeof(*t->buckets))))
        return -ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    idmap_init(&t->inodes, PT_INODES_MAX);
    idmap_init(&t->handles, PT_HANDLES_MAX);
    t->root = (struct pt_inode){
        .fd = root_fd,
        .dev = st->st_dev,
        .ino = st->st_ino,
        .type = st->st_mode & S_IFMT,
        .id = FUSE_ROOT_ID,
        .nlookup = 1,
    };
    return 0;
}

static void inode_free(struct pt_inode *ino)
{
    close(ino->fd);
    free(ino);
}

static void handle_free(struct pt_handle *h)
{
    if (h->fd >= 0)
        close(h->fd);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* Unlink an inode nobody holds; returns it for freeing outside the lock. */
static struct pt_inode *inode_drop_locked(struct pt_table *t, struct pt_inode *ino)
{
    if (ino == &t->root || ino->nlookup > 0 || ino->refs > 0)
        return NULL;
    if (ino->linked) {
        idmap_remove(&t->inodes, ino->id);
        hash_remove(t, ino);
        ino->linked = false;
    }
    return ino;
}

struct pt_inode *pt_inode_get(struct pt_table *t, uint64_t nodeid)
{
    if (nodeid == FUSE_ROOT_ID)
        return &t->root;
    pthread_mutex_lock(&t->lock);
    struct pt_inode *ino = idmap_get(&t->inodes, nodeid);
    if (ino)
        ino->refs++;
    pthread_mutex_unlock(&t->lock);
    return ino;
}

void pt_inode_put(struct pt_table *t, struct pt_inode *ino)
{
    if (!ino || ino == &t->root)
        return;
    pthread_mutex_lock(&t->lock);
    ino->refs--;
    struct pt_inode *dead = inode_drop_locked(t, ino);
    pthread_mutex_unlock(&t->lock);
    if (dead)
        inode_free(dead);
}

int pt_inode_found(struct pt_table *t, int fd, const struct stat *st, bool opaque, bool mapped,
                   struct pt_inode **out)
{
    if (st->st_dev == t->root.dev && st->st_ino == t->root.ino) {
        close(fd);
        *out = &t->root;
        return 0;
    }
    pthread_mutex_lock(&t->lock);
    struct pt_inode *ino = hash_find(t, st->st_dev, st->st_ino);
    if (ino) {
        ino->nlookup++;
        ino->refs++;
        pthread_mutex_unlock(&t->lock);
        close(fd);
        *out = ino;
        return 0;
    }
    int ret = -ENOMEM;
    ino = calloc(1, sizeof(*ino));
    if (ino) {
        *ino = (struct pt_inode){
            .fd = fd,
            .dev = st->st_dev,
            .ino = st->st_ino,
            .type = st->st_mode & S_IFMT,
            .opaque = opaque,
            .mapped = mapped,
            .rdev = mapped ? st->st_rdev : 0,
            .nlookup = 1,
            .refs = 1,
            .linked = true,
        };
        ino->id = idmap_add(&t->inodes, ino);
        if (ino->id) {
            hash_insert(t, ino);
            hash_grow(t);
            pthread_mutex_unlock(&t->lock);
            *out = ino;
            return 0;
        }
        ret = idmap_full(&t->inodes) ? -ENFILE : -ENOMEM;
        free(ino);
    }
    pthread_mutex_unlock(&t->lock);
    close(fd);
    return ret;
}

void pt_inode_forget(struct pt_table *t, uint64_t nodeid, uint64_t nlookup)
{
    if (nodeid == FUSE_ROOT_ID)
        return;
    pthread_mutex_lock(&t->lock);
    struct pt_inode *ino = idmap_get(&t->inodes, nodeid);
    struct pt_inode *dead = NULL;
    if (ino) {
        /* A guest forgetting more than it looked up forgets everything. */
        ino->nlookup = nlookup >= ino->nlookup ? 0 : ino->nlookup - nlookup;
        dead = inode_drop_locked(t, ino);
    }
    pthread_mutex_unlock(&t->lock);
    if (dead)
        inode_free(dead);
}

int pt_handle_add(struct pt_table *t, int fd, bool dir, bool at_root, dev_t dev, uint64_t *id)
{
    struct pt_handle *h = calloc(1, sizeof(*h));
    if (!h) {
        if (fd >= 0)
            close(fd);
        return -ENOMEM;
    }
    h->fd = fd;
    h->dir = dir;
    h->at_root = at_root;
    h->dev = dev;
    h->linked = true;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_lock(&t->lock);
    /* Once in the map, h belongs to the table: a RELEASE of the guessed id or a
       DESTROY on another worker may free it as soon as the lock is dropped. */
    *id = h->id = idmap_add(&t->handles, h);
    int ret = *id ? 0 : idmap_full(&t->handles) ? -ENFILE : -ENOMEM;
    pthread_mutex_unlock(&t->lock);
    if (ret < 0)
        handle_free(h);
    return ret;
}

struct pt_handle *pt_handle_get(struct pt_table *t, uint64_t fh)
{
    pthread_mutex_lock(&t->lock);
    struct pt_handle *h = idmap_get(&t->handles, fh);
    if (h)
        h->refs++;
    pthread_mutex_unlock(&t->lock);
    return h;
}

void pt_handle_put(struct pt_table *t, struct pt_handle *h)
{
    pthread_mutex_lock(&t->lock);
    bool dead = --h->refs == 0 && !h->linked;
    pthread_mutex_unlock(&t->lock);
    if (dead)
        handle_free(h);
}

int pt_handle_release(struct pt_table *t, uint64_t fh, bool dir)
{
    pthread_mutex_lock(&t->lock);
    struct pt_handle *h = idmap_get(&t->handles, fh);
    if (!h || h->dir != dir) {
        pthread_mutex_unlock(&t->lock);
        return -EBADF;
    }
    idmap_remove(&t->handles, fh);
    h->linked = false;
    bool dead = h->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (dead)
        handle_free(h);
    return 0;
}

void pt_table_reset(struct pt_table *t)
{
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < t->handles.cap; i++) {
        struct pt_handle *h = idmap_slot(&t->handles, i);
        if (!h)
            continue;
        idmap_remove(&t->handles, h->id);
        h->linked = false;
        if (h->refs == 0)
            handle_free(h);
    }
    for (uint32_t i = 0; i < t->inodes.cap; i++) {
        struct pt_inode *ino = idmap_slot(&t->inodes, i);
        if (!ino)
            continue;
        /* In use by a request: that request's put frees it. */
        idmap_remove(&t->inodes, ino->id);
        hash_remove(t, ino);
        ino->linked = false;
        ino->nlookup = 0;
        if (ino->refs == 0)
            inode_free(ino);
    }
    pthread_mutex_unlock(&t->lock);
}

void pt_table_free(struct pt_table *t)
{
    pt_table_reset(t);
    idmap_free(&t->inodes);
    idmap_free(&t->handles);
    free(t->buckets);
    close(t->root.fd);
    pthread_mutex_destroy(&t->lock);
}
