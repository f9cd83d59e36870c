/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * The same recursive-descent code runs twice: the counting pass (build ==
 * false) validates everything except duplicate keys and sizes the arena;
 * the building pass fills it. Values are laid out in pre-order, so
 * children are linked (child/next) rather than contiguous. Recursion is
 * bounded by JSON_MAX_DEPTH.
 */
struct parser {
    const unsigned char *start, *p, *end;
    int depth;
    bool build;
    size_t values;      /* values counted, or allocated so far */
    size_t pool_used;   /* bytes of decoded text, NULs included */
    size_t max_members; /* the largest object, for the duplicate check */
    struct json_value *nodes;
    char *pool;
    struct json_value **scratch;
    const char *err;
    size_t err_off;
};

static int fail(struct parser *ps, const char *msg)
{
    if (!ps->err) {
        ps->err = msg;
        ps->err_off = (size_t)(ps->p - ps->start);
    }
    return -1;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static size_t left(const struct parser *ps)
{
    return (size_t)(ps->end - ps->p);
}

/* Allocate the next value; *out is NULL in the counting pass. */
static int new_value(struct parser *ps, struct json_value **out)
{
    if (ps->values >= JSON_MAX_VALUES)
        return fail(ps, "too many values");
    *out = NULL;
    if (ps->build) {
        *out = &ps->nodes[ps->values];
        memset(*out, 0, sizeof(**out));
    }
    ps->values++;
    return 0;
}

/* Length of the valid UTF-8 sequence at s, or 0 (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static size_t put_utf8(char *dst, unsigned long cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (dst)
        memcpy(dst, b, n);
    return n;
}

/* Consume "\uXXXX" at ps->p. */
static int parse_u4(struct parser *ps, unsigned long *cp)
{
    if (left(ps) < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
        return fail(ps, "unpaired surrogate");
    unsigned long v = 0;
    for (int i = 2; i < 6; i++) {
        unsigned char c = ps->p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail(ps, "invalid \\u escape");
        v = v * 16 + (unsigned long)d;
    }
    ps->p += 6;
    *cp = v;
    return 0;
}

static int parse_escape(struct parser *ps, char *dst, size_t *n)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    if (left(ps) < 2)
        return fail(ps, "unterminated string");
    if (ps->p[1] != 'u') {
        const char *at = ps->p[1] ? strchr(from, ps->p[1]) : NULL;
        if (!at)
            return fail(ps, "invalid escape");
        if (dst)
            dst[*n] = to[at - from];
        (*n)++;
        ps->p += 2;
        return 0;
    }
    unsigned long cp, low;
    if (parse_u4(ps, &cp) < 0)
        return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(ps, "unpaired surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (parse_u4(ps, &low) < 0)
            return -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return fail(ps, "unpaired surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    *n += put_utf8(dst ? dst + *n : NULL, cp);
    return 0;
}

/* The string at ps->p (its opening quote). Decoded text never is longer
 * than its JSON form, so the counting pass sizes the pool exactly. */
static int parse_string(struct parser *ps, const char **out, size_t *out_len)
{
    char *dst = ps->build ? ps->pool + ps->pool_used : NULL;
    size_t n = 0;
    ps->p++;
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        unsigned char c = *ps->p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(ps, "control character in string");
        if (c == '\\') {
            if (parse_escape(ps, dst, &n) < 0)
                return -1;
            continue;
        }
        size_t k = utf8_len(ps->p, left(ps));
        if (!k)
            return fail(ps, "invalid UTF-8 in string");
        if (dst)
            memcpy(dst + n, ps->p, k);
        n += k;
        ps->p += k;
    }
    ps->p++;
    if (dst)
        dst[n] = '\0';
    ps->pool_used += n + 1;
    *out = dst;
    *out_len = n;
    return 0;
}

static bool is_digit(const struct parser *ps)
{
    return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static int parse_number(struct parser *ps, struct json_value *v)
{
    const unsigned char *s = ps->p;
    if (*ps->p == '-')
        ps->p++;
    if (!is_digit(ps))
        return fail(ps, "invalid number");
    if (*ps->p == '0')
        ps->p++;
    else
        while (is_digit(ps))
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!is_digit(ps))
            return fail(ps, "invalid number");
        while (is_digit(ps))
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (!is_digit(ps))
            return fail(ps, "invalid number");
        while (is_digit(ps))
            ps->p++;
    }
    size_t len = (size_t)(ps->p - s);
    if (ps->build) {
        char *dst = ps->pool + ps->pool_used;
        memcpy(dst, s, len);
        dst[len] = '\0';
        v->type = JSON_NUMBER;
        v->str = dst;
        v->len = len;
    }
    ps->pool_used += len + 1;
    return 0;
}

static int parse_literal(struct parser *ps, struct json_value *v, const char *word,
                         enum json_type type)
{
    size_t n = strlen(word);
    if (left(ps) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character");
    ps->p += n;
    if (v)
        v->type = type;
    return 0;
}

static int parse_value(struct parser *ps, struct json_value *v);

static void link_child(struct json_value *parent, struct json_value **last, struct json_value *c)
{
    if (!parent)
        return;
    if (*last)
        (*last)->next = c;
    else
        parent->child = c;
    *last = c;
    parent->len++;
}

static int parse_array(struct parser *ps, struct json_value *v)
{
    struct json_value *last = NULL;
    if (v)
        v->type = JSON_ARRAY;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        struct json_value *c;
        if (new_value(ps, &c) < 0)
            return -1;
        skip_ws(ps);
        if (parse_value(ps, c) < 0)
            return -1;
        link_child(v, &last, c);
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unterminated array");
        if (*ps->p == ']')
            break;
        if (*ps->p != ',')
            return fail(ps, "expected ',' or ']'");
        ps->p++;
    }
    ps->p++;
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    const struct json_value *x = *(struct json_value *const *)a;
    const struct json_value *y = *(struct json_value *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Sorting is O(n log n): a hostile object with many members stays cheap. */
static int check_duplicates(struct parser *ps, const struct json_value *obj)
{
    if (obj->len < 2)
        return 0;
    size_t i = 0;
    for (struct json_value *c = obj->child; c; c = c->next)
        ps->scratch[i++] = c;
    qsort(ps->scratch, obj->len, sizeof(ps->scratch[0]), cmp_keys);
    for (i = 1; i < obj->len; i++)
        if (cmp_keys(&ps->scratch[i - 1], &ps->scratch[i]) == 0)
            return fail(ps, "duplicate key");
    return 0;
}

static int parse_object(struct parser *ps, struct json_value *v)
{
    struct json_value *last = NULL;
    size_t n = 0;
    if (v)
        v->type = JSON_OBJECT;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        struct json_value *c;
        if (ps->p >= ps->end || *ps->p != '"')
            return fail(ps, ps->p >= ps->end ? "unterminated object" : "expected a key");
        if (parse_string(ps, &key, &key_len) < 0)
            return -1;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return fail(ps, "expected ':'");
        ps->p++;
        skip_ws(ps);
        if (new_value(ps, &c) < 0)
            return -1;
        if (parse_value(ps, c) < 0)
            return -1;
        if (c) {
            c->key = key;
            c->key_len = key_len;
        }
        link_child(v, &last, c);
        n++;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unterminated object");
        if (*ps->p == '}')
            break;
        if (*ps->p != ',')
            return fail(ps, "expected ',' or '}'");
        ps->p++;
        skip_ws(ps);
    }
    if (n > ps->max_members)
        ps->max_members = n;
    if (v && check_duplicates(ps, v) < 0)
        return -1;
    ps->p++;
    return 0;
}

static int parse_value(struct parser *ps, struct json_value *v)
{
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    unsigned char c = *ps->p;
    if (c == '{' || c == '[') {
        if (++ps->depth > JSON_MAX_DEPTH)
            return fail(ps, "nesting too deep");
        int r = c == '{' ? parse_object(ps, v) : parse_array(ps, v);
        ps->depth--;
        return r;
    }
    if (c == '"') {
        const char *s;
        size_t len;
        if (parse_string(ps, &s, &len) < 0)
            return -1;
        if (v) {
            v->type = JSON_STRING;
            v->str = s;
            v->len = len;
        }
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, v);
    if (c == 't')
        return parse_literal(ps, v, "true", JSON_TRUE);
    if (c == 'f')
        return parse_literal(ps, v, "false", JSON_FALSE);
    if (c == 'n')
        return parse_literal(ps, v, "null", JSON_NULL);
    return fail(ps, "unexpected character");
}

static int run_pass(struct parser *ps)
{
    struct json_value *root;
    skip_ws(ps);
    if (new_value(ps, &root) < 0 || parse_value(ps, root) < 0)
        return -1;
    skip_ws(ps);
    if (ps->p != ps->end)
        return fail(ps, "trailing characters after the document");
    return 0;
}

static void init_parser(struct parser *ps, const char *text, size_t len)
{
    memset(ps, 0, sizeof(*ps));
    ps->start = ps->p = (const unsigned char *)text;
    ps->end = ps->start + len;
}

static int report(struct parser *ps, struct json_error *err)
{
    if (err) {
        err->msg = ps->err ? ps->err : "out of memory";
        err->offset = ps->err_off;
    }
    return -1;
}

int json_parse(const char *text, size_t len, struct json_doc *doc, struct json_error *err)
{
    struct parser count, build;
    init_parser(&count, text, len);
    if (run_pass(&count) < 0)
        return report(&count, err);

    /* Values are bounded, and the pool by len + one NUL per value. */
    size_t nodes_size = count.values * sizeof(struct json_value);
    if (count.pool_used > SIZE_MAX - nodes_size)
        return report(&count, err);
    char *mem = malloc(nodes_size + count.pool_used);
    struct json_value **scratch = NULL;
    init_parser(&build, text, len);
    if (count.max_members > 1)
        scratch = malloc(count.max_members * sizeof(*scratch));
    if (!mem || (count.max_members > 1 && !scratch)) {
        free(mem);
        free(scratch);
        return report(&build, err);
    }
    build.build = true;
    build.nodes = (struct json_value *)(void *)mem;
    build.pool = mem + nodes_size;
    build.scratch = scratch;
    int r = run_pass(&build);
    free(scratch);
    if (r < 0) {
        free(mem);
        return report(&build, err);
    }
    doc->root = build.nodes;
    doc->mem = mem;
    return 0;
}

void json_free(struct json_doc *doc)
{
    free(doc->mem);
    doc->mem = NULL;
    doc->root = NULL;
}

const struct json_value *json_member(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t len = strlen(key);
    for (const struct json_value *c = obj->child; c; c = c->next)
        if (c->key_len == len && memcmp(c->key, key, len) == 0)
            return c;
    return NULL;
}

bool json_is_cstr(const struct json_value *v)
{
    return v && v->type == JSON_STRING && strlen(v->str) == v->len;
}

int json_to_u64(const struct json_value *v, uint64_t *out)
{
    if (!v || v->type != JSON_NUMBER)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned d = (unsigned)(v->str[i] - '0');
        if (d > 9 || n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}
