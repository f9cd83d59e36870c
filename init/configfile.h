/* SPDX-License-Identifier: Apache-2.0 */
/* Loading the JSON config file (untrusted: it comes from the image). */
#ifndef KRUN_INIT_CONFIGFILE_H
#define KRUN_INIT_CONFIGFILE_H

#include "config.h"
#include "json.h"

/* Load path (NULL: KRUN_GUEST_CONFIG_PATH). Returns 1 if loaded, 0 if there
 * is no such file, -1 on any other error (logged). On 1 the caller keeps
 * doc alive as long as cfg is used. */
int configfile_load(const char *path, struct json_doc *doc, struct json_config *cfg);

#endif
