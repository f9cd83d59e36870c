/* SPDX-License-Identifier: Apache-2.0 */
#include "configfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "readfile.h"

int configfile_load(const char *path, struct json_doc *doc, struct json_config *cfg)
{
    const char *p = path ? path : KRUN_GUEST_CONFIG_PATH;
    char *text;
    size_t len;
    int r = read_file(p, CONFIG_MAX_SIZE, &text, &len);
    if (r == -ENOENT) {
        /* Upstream ignores a missing file, even one named by KRUN_CONFIG. */
        if (path)
            init_log("KRUN_CONFIG: %s does not exist; ignored", path);
        return 0;
    }
    if (r < 0) {
        init_log("%s: %s", p, r == -EFBIG ? "larger than 4 MiB" : strerror(-r));
        return -1;
    }
    struct json_error jerr;
    r = json_parse(text, len, doc, &jerr);
    free(text);
    if (r < 0) {
        init_log("%s: invalid JSON at byte %zu: %s", p, jerr.offset, jerr.msg);
        return -1;
    }
    char err[256];
    if (config_from_json(doc->root, cfg, err, sizeof(err)) < 0) {
        init_log("%s: %s", p, err);
        config_free(cfg);
        json_free(doc);
        return -1;
    }
    return 1;
}
