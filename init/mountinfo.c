/* SPDX-License-Identifier: Apache-2.0 */
#include "mountinfo.h"

#include <string.h>

/* Compare the escaped field f (up to a blank) with path[0..len). The
 * kernel writes space, tab, newline and backslash as \ooo. */
static bool field_equals(const char *f, const char *path, size_t len)
{
    size_t i = 0;
    while (*f && *f != ' ' && *f != '\n') {
        char c = *f;
        if (c == '\\' && f[1] >= '0' && f[1] <= '3' && f[2] >= '0' && f[2] <= '7' && f[3] >= '0' &&
            f[3] <= '7') {
            c = (char)((f[1] - '0') * 64 + (f[2] - '0') * 8 + (f[3] - '0'));
            f += 4;
        } else {
            f++;
        }
        if (i >= len || path[i] != c)
            return false;
        i++;
    }
    return i == len;
}

bool mountinfo_has(const char *text, const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    for (const char *line = text; line && *line;) {
        const char *f = line;
        /* Fields: id, parent id, major:minor, root, mount point. */
        for (int i = 0; i < 4 && f; i++) {
            f = strpbrk(f, " \n");
            f = f && *f == ' ' ? f + 1 : NULL;
        }
        if (f && field_equals(f, path, len))
            return true;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}
