/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/config.c init/json.c init/rlimit.c init/strv.c init/log.c */
/*
 * The guest init's JSON parser and the OCI/Docker config extraction on
 * arbitrary bytes: /.krun_config.json comes from a container image and is
 * untrusted. No crash, no leak, and a parsed document always yields either
 * a config or an error message.
 */
#include <stdio.h>
#include <string.h>

#include "../../init/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_doc doc;
    struct json_error jerr;
    if (json_parse((const char *)data, size, &doc, &jerr) != 0)
        return 0;
    struct json_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char err[256] = "";
    if (config_from_json(doc.root, &cfg, err, sizeof(err)) != 0 && !err[0]) {
        fprintf(stderr, "config_from_json failed without a message\n");
        __builtin_trap();
    }
    config_free(&cfg);
    json_free(&doc);
    return 0;
}
