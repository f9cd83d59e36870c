/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/json.c */
/* The guest init's JSON parser: strict RFC 8259, bounded, hostile input. */
#include "../../init/json.h"

#include "test.h"

static int parse(const char *s, struct json_doc *doc)
{
    struct json_error err;
    return json_parse(s, strlen(s), doc, &err);
}

static int valid(const char *s)
{
    struct json_doc doc;
    if (parse(s, &doc) < 0)
        return 0;
    json_free(&doc);
    return 1;
}

static const char *error_of(const char *s)
{
    struct json_doc doc;
    struct json_error err = {0, NULL};
    if (json_parse(s, strlen(s), &doc, &err) == 0) {
        json_free(&doc);
        return "(accepted)";
    }
    return err.msg;
}

static void test_values(void)
{
    struct json_doc doc;
    const char *text = " {\"s\": \"hi\", \"n\": -12.5e+3, \"t\": true, \"f\": false, \"z\": null,"
                       " \"a\": [1, [2], {}], \"o\": {\"k\": \"v\"}} \n";
    CHECK_EQ(parse(text, &doc), 0);
    const struct json_value *r = doc.root;
    CHECK_EQ(r->type, JSON_OBJECT);
    CHECK_EQ(r->len, 7);
    CHECK_STR(json_member(r, "s")->str, "hi");
    CHECK_EQ(json_member(r, "n")->type, JSON_NUMBER);
    CHECK_STR(json_member(r, "n")->str, "-12.5e+3");
    CHECK_EQ(json_member(r, "t")->type, JSON_TRUE);
    CHECK_EQ(json_member(r, "f")->type, JSON_FALSE);
    CHECK_EQ(json_member(r, "z")->type, JSON_NULL);
    const struct json_value *a = json_member(r, "a");
    CHECK_EQ(a->type, JSON_ARRAY);
    CHECK_EQ(a->len, 3);
    CHECK_STR(a->child->str, "1");
    CHECK_EQ(a->child->next->type, JSON_ARRAY);
    CHECK_STR(a->child->next->child->str, "2");
    CHECK_EQ(a->child->next->next->type, JSON_OBJECT);
    CHECK_EQ(a->child->next->next->len, 0);
    CHECK(a->child->next->next->next == NULL);
    CHECK_STR(json_member(json_member(r, "o"), "k")->str, "v");
    CHECK(json_member(r, "missing") == NULL);
    CHECK(json_member(a, "s") == NULL); /* not an object */
    json_free(&doc);

    /* Any value at the top level (RFC 8259). */
    CHECK(valid("\"x\""));
    CHECK(valid("0"));
    CHECK(valid("null"));
    CHECK(valid("[]"));
    CHECK(valid("\t[ ]\r\n"));
}

static void test_escapes(void)
{
    struct json_doc doc;
    CHECK_EQ(parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", &doc), 0);
    CHECK_STR(doc.root->str, "\" \\ / \b \f \n \r \t");
    json_free(&doc);

    CHECK_EQ(parse("\"\\u0041\\u00e9\\u20AC\"", &doc), 0);
    CHECK_STR(doc.root->str, "A\xc3\xa9\xe2\x82\xac");
    json_free(&doc);

    /* A surrogate pair is one code point: U+1F600, four bytes. */
    CHECK_EQ(parse("\"\\ud83d\\ude00!\"", &doc), 0);
    CHECK_STR(doc.root->str, "\xf0\x9f\x98\x80!");
    CHECK_EQ(doc.root->len, 5);
    json_free(&doc);

    /* Raw UTF-8 passes through unchanged. */
    CHECK_EQ(parse("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", &doc), 0);
    CHECK_STR(doc.root->str, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    json_free(&doc);

    /* \u0000 is valid JSON but no C string. */
    CHECK_EQ(parse("\"a\\u0000b\"", &doc), 0);
    CHECK_EQ(doc.root->len, 3);
    CHECK(!json_is_cstr(doc.root));
    json_free(&doc);
    CHECK_EQ(parse("\"ab\"", &doc), 0);
    CHECK(json_is_cstr(doc.root));
    json_free(&doc);

    CHECK_STR(error_of("\"\\ud83d\""), "unpaired surrogate");
    CHECK_STR(error_of("\"\\ud83dx\""), "unpaired surrogate");
    CHECK_STR(error_of("\"\\ud83d\\u0041\""), "unpaired surrogate");
    CHECK_STR(error_of("\"\\ude00\""), "unpaired surrogate");
    CHECK_STR(error_of("\"\\x\""), "invalid escape");
    CHECK_STR(error_of("\"\\u12G4\""), "invalid \\u escape");
    CHECK_STR(error_of("\"\\u12\""), "unpaired surrogate");
    CHECK(!valid("\"tab\there\""));
    CHECK(!valid("\"nl\nhere\""));
}

static void test_bad_utf8(void)
{
    CHECK_STR(error_of("\"\xc0\x80\""), "invalid UTF-8 in string");         /* overlong NUL */
    CHECK_STR(error_of("\"\xe0\x80\xaf\""), "invalid UTF-8 in string");     /* overlong '/' */
    CHECK_STR(error_of("\"\xed\xa0\x80\""), "invalid UTF-8 in string");     /* surrogate */
    CHECK_STR(error_of("\"\xf4\x90\x80\x80\""), "invalid UTF-8 in string"); /* > U+10FFFF */
    CHECK_STR(error_of("\"\xf5\x80\x80\x80\""), "invalid UTF-8 in string");
    CHECK_STR(error_of("\"\x80\""), "invalid UTF-8 in string");
    CHECK_STR(error_of("\"\xc3\""), "invalid UTF-8 in string");
    CHECK_STR(error_of("\"\xe2\x82\""), "invalid UTF-8 in string");
    CHECK(valid("\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"")); /* U+FFFF, U+10FFFF */
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        " ",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[1 2]",
        "{\"a\"}",
        "[",
        "]",
        "{}}",
        "{} x",
        "{},{}",
        "nul",
        "truex",
        "True",
        "'a'",
        "[01]",
        "-",
        "1.",
        ".5",
        "1e",
        "+1",
        "0x10",
        "[-]",
        "{\"a\":}",
        "[,1]",
        "\"abc",
        "NaN",
        "Infinity",
        "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (valid(bad[i])) {
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
    /* An embedded NUL byte (not \u0000) is never valid. */
    struct json_doc doc;
    struct json_error err;
    CHECK_EQ(json_parse("[1]\0", 4, &doc, &err), -1);
    CHECK_EQ(err.offset, 3);
    CHECK_EQ(json_parse("\"a\0b\"", 5, &doc, &err), -1);
    CHECK_STR(err.msg, "control character in string");
}

static void test_truncated(void)
{
    /* Every strict prefix of an object is invalid; none may crash. */
    const char *text = "{\"args\": [\"/bin/echo\", \"h\\u00e9\\ud83d\\ude00\"], \"n\": -1.5e3,"
                       " \"o\": {\"t\": true, \"f\": false, \"z\": null}}";
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i++) {
        struct json_doc doc;
        struct json_error err;
        char *copy = malloc(i + 1);
        memcpy(copy, text, i);
        if (json_parse(copy, i, &doc, &err) == 0) {
            fprintf(stderr, "prefix %zu accepted\n", i);
            CHECK(0);
            json_free(&doc);
        } else {
            CHECK(err.offset <= i);
        }
        free(copy);
    }
    CHECK(valid(text));
}

static char *repeat(const char *a, size_t n, const char *b, size_t m)
{
    char *s = malloc(strlen(a) * n + strlen(b) * m + 1), *p = s;
    for (size_t i = 0; i < n; i++)
        p = stpcpy(p, a);
    for (size_t i = 0; i < m; i++)
        p = stpcpy(p, b);
    *p = '\0';
    return s;
}

static void test_depth(void)
{
    char *s = repeat("[", JSON_MAX_DEPTH, "]", JSON_MAX_DEPTH);
    CHECK(valid(s));
    free(s);
    s = repeat("[", JSON_MAX_DEPTH + 1, "]", JSON_MAX_DEPTH + 1);
    CHECK_STR(error_of(s), "nesting too deep");
    free(s);
    s = repeat("{\"a\":", JSON_MAX_DEPTH + 1, "}", JSON_MAX_DEPTH + 1);
    CHECK_STR(error_of(s), "nesting too deep");
    free(s);
    /* Far deeper than any stack would survive without the limit. */
    s = repeat("[", 1000000, "", 0);
    CHECK_STR(error_of(s), "nesting too deep");
    free(s);
}

static void test_numbers(void)
{
    struct json_doc doc;
    uint64_t v;
    CHECK_EQ(parse("[0, 42, 18446744073709551615, 18446744073709551616, -1, 1.5, 1e2,"
                   " 1e999999, 123456789012345678901234567890]",
                   &doc),
             0);
    const struct json_value *c = doc.root->child;
    CHECK_EQ(json_to_u64(c, &v), 0);
    CHECK_EQ(v, 0);
    c = c->next;
    CHECK_EQ(json_to_u64(c, &v), 0);
    CHECK_EQ(v, 42);
    c = c->next;
    CHECK_EQ(json_to_u64(c, &v), 0);
    CHECK(v == UINT64_MAX);
    for (c = c->next; c; c = c->next) {
        CHECK_EQ(c->type, JSON_NUMBER);
        CHECK_EQ(json_to_u64(c, &v), -1);
    }
    CHECK_STR(doc.root->child->next->next->next->next->next->next->next->str, "1e999999");
    json_free(&doc);
    CHECK_EQ(parse("\"12\"", &doc), 0);
    CHECK_EQ(json_to_u64(doc.root, &v), -1);
    json_free(&doc);
}

static void test_duplicates(void)
{
    CHECK_STR(error_of("{\"a\": 1, \"a\": 2}"), "duplicate key");
    CHECK_STR(error_of("{\"a\": 1, \"b\": 0, \"\\u0061\": 2}"), "duplicate key");
    CHECK_STR(error_of("{\"x\": {\"k\": 1, \"j\": 2, \"k\": 3}}"), "duplicate key");
    CHECK(valid("{\"a\": 1, \"b\": {\"a\": 2}, \"c\": [{\"a\": 3}, {\"a\": 4}]}"));
    CHECK(valid("{\"a\": 1, \"a\\u0000\": 2, \"\": 3, \"A\": 4}"));
}

static void test_limits(void)
{
    /* One value more than allowed, with the brackets: rejected cleanly. */
    char *s = repeat("0,", JSON_MAX_VALUES, "0]", 1);
    char *doc_text = malloc(strlen(s) + 2);
    doc_text[0] = '[';
    strcpy(doc_text + 1, s);
    CHECK_STR(error_of(doc_text), "too many values");
    free(doc_text);
    free(s);

    /* Just below the limit: accepted, one object with many keys too. */
    size_t n = JSON_MAX_VALUES / 2;
    char *big = malloc(n * 16 + 16), *p = big;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    strcpy(p, "}");
    struct json_doc doc;
    CHECK_EQ(parse(big, &doc), 0);
    CHECK_EQ(doc.root->len, n);
    CHECK_STR(json_member(doc.root, "k4242")->str, "4242");
    json_free(&doc);
    /* The same with one duplicate far apart. */
    p = big + strlen(big) - 1;
    strcpy(p, ",\"k7\":1}");
    CHECK_STR(error_of(big), "duplicate key");
    free(big);
}

static void test_garbage(void)
{
    /* Deterministic random bytes and random JSON-ish tokens: no crash, no
     * leak (ASan build), either outcome allowed. */
    static const char *const tokens[] = {"{", "}",  "[",  "]",    ",", ":",   "\"a\"", "1", "-",
                                         "e", "\\", "\"", "true", " ", "\\u", "d8",    "00"};
    uint32_t seed = 12345;
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        int mode = round & 1;
        while (len < sizeof(buf) - 8) {
            seed = seed * 1103515245 + 12345;
            if ((seed >> 16) % 40 == 0)
                break;
            if (mode) {
                buf[len++] = (char)(seed >> 8);
            } else {
                const char *t = tokens[(seed >> 16) % (sizeof(tokens) / sizeof(tokens[0]))];
                size_t tl = strlen(t);
                memcpy(buf + len, t, tl);
                len += tl;
            }
        }
        struct json_doc doc;
        struct json_error err;
        if (json_parse(buf, len, &doc, &err) == 0)
            json_free(&doc);
        else
            CHECK(err.offset <= len && err.msg != NULL);
    }
}

int main(void)
{
    RUN(test_values);
    RUN(test_escapes);
    RUN(test_bad_utf8);
    RUN(test_malformed);
    RUN(test_truncated);
    RUN(test_depth);
    RUN(test_numbers);
    RUN(test_duplicates);
    RUN(test_limits);
    RUN(test_garbage);
    return TEST_EXIT();
}
