/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/bundle.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

static void *open_bundle_library(void)
{
    void *h = dlopen("libkrunfw.so.5", RTLD_NOW | RTLD_LOCAL);
    if (h)
        return h;
    log_debug("libkrunfw.so.5 not in the library path: %s", dlerror());
    Dl_info info;
    if (!dladdr((void *)kernel_bundle_open, &info) || !info.dli_fname)
        return NULL;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%.*s/libkrunfw.so.5", (int)(slash - info.dli_fname),
             info.dli_fname);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        log_debug("couldn't load %s: %s", path, dlerror());
    return h;
}

int kernel_bundle_open(struct kernel_bundle *out)
{
    void *h = open_bundle_library();
    if (!h)
        return -ENOENT;
    char *(*get_kernel)(size_t *, size_t *, size_t *) =
        (char *(*)(size_t *, size_t *, size_t *))dlsym(h, "krunfw_get_kernel");
    if (!get_kernel) {
        log_error("libkrunfw.so.5 has no krunfw_get_kernel symbol");
        dlclose(h);
        return -ENOENT;
    }
    size_t load = 0, entry = 0, size = 0;
    char *host = get_kernel(&load, &entry, &size);
    long page = sysconf(_SC_PAGESIZE);
    if (!host || size == 0 || size % (size_t)page || load % (size_t)page ||
        (uintptr_t)host % (uintptr_t)page || entry < load || entry >= load + size) {
        log_error("libkrunfw.so.5 returned an unusable kernel bundle "
                  "(host %p, load 0x%zx, entry 0x%zx, size %zu)",
                  (void *)host, load, entry, size);
        dlclose(h);
        return -ENOENT;
    }
    *out = (struct kernel_bundle){
        .handle = h, .host = (uint8_t *)host, .load_addr = load, .entry = entry, .size = size};
    Dl_info info;
    struct stat st;
    if (dladdr(host, &info) && info.dli_fname && stat(info.dli_fname, &st) == 0) {
        snprintf(out->path, sizeof(out->path), "%s", info.dli_fname);
        out->dev = st.st_dev;
        out->ino = st.st_ino;
    }
    return 0;
}
