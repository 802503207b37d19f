/*
 * jschema.c: module config validation against JSON Schema (see jschema.h).
 *
 * Two walks share one context. The schema walk checks that a schema is well
 * formed; every entry point runs it first, so the validation walk and the
 * defaults walk can trust the shape of every keyword they read and need no
 * depth guard of their own. The validation walk checks a value against a
 * schema. Both keep the path of where they are in a bounded text buffer,
 * adding a component on the way down and cutting it off on the way back.
 *
 * A branch of oneOf or anyOf is tried "quietly": its first problem marks
 * the branch as failed and stops it, and nothing reaches the caller.
 */
#include "jschema.h"

#include <float.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "limits.h"

/* The longest reason; a longer one (a long enum) ends in "...". */
#define JS_REASON_MAX 256

/* Marks a reason or a path that did not fit. */
#define JS_ELLIPSIS "..."

/*
 * Bounded text: a path or a reason. Content stops 3 bytes short of the end
 * so that "..." always fits after it; an addition that does not fit is cut
 * at a character boundary, "..." is written, and later additions are
 * ignored until the text is restored to an earlier mark.
 */
struct js_text {
    char *buf;
    size_t cap; /* bytes in buf, the NUL included; at least 4 */
    size_t len;
    bool cut;
};

/* Where a text was, to go back to it. */
struct js_mark {
    size_t len;
    bool cut;
};

/* The state of one walk over a schema, or over a value and its schema. */
struct js_ctx {
    sl_jschema_error_fn fn; /* may be NULL */
    void *arg;
    struct js_text path;
    char pathbuf[SL_MAX_SCHEMA_PATH];
    int nerrors;        /* calls made (or that would be made) to fn */
    int rc;             /* 0, or the negative code that stops the walk */
    bool full;          /* the error cap was reached */
    bool strict;        /* schema walk: refuse unknown keywords */
    int quiet;          /* > 0 while trying a branch of oneOf or anyOf */
    bool branch_failed; /* the branch being tried has a problem */
};

/* The names `type` accepts, in the order reasons list them. */
enum js_type {
    JS_OBJECT,
    JS_ARRAY,
    JS_STRING,
    JS_INTEGER,
    JS_NUMBER,
    JS_BOOLEAN,
    JS_NULL,
    JS_NTYPES
};

static const struct js_type_name {
    const char *name;
    const char *noun; /* as in "must be <noun>" */
} js_types[JS_NTYPES] = {
    [JS_OBJECT] = {"object", "an object"},
    [JS_ARRAY] = {"array", "an array"},
    [JS_STRING] = {"string", "a string"},
    [JS_INTEGER] = {"integer", "an integer"},
    [JS_NUMBER] = {"number", "a number"},
    [JS_BOOLEAN] = {"boolean", "a boolean"},
    [JS_NULL] = {"null", "null"},
};

/* The forms a keyword's value may take; the schema walk checks them. */
enum js_form {
    JS_FORM_ANY,         /* const, default and annotations: anything */
    JS_FORM_TYPE,        /* a type name or a non-empty array of them */
    JS_FORM_SCHEMA,      /* one schema */
    JS_FORM_SCHEMA_MAP,  /* an object whose members are schemas */
    JS_FORM_SCHEMA_LIST, /* a non-empty array of schemas */
    JS_FORM_NAMES,       /* an array of distinct strings */
    JS_FORM_VALUES,      /* a non-empty array of anything */
    JS_FORM_NUMBER,      /* a number */
    JS_FORM_COUNT,       /* a non-negative integer */
    JS_FORM_BOOLEAN,     /* true or false */
    JS_FORM_PATTERN,     /* a POSIX extended regular expression */
};

/* Every keyword a schema may use; sl_jschema_check() refuses the others. */
static const struct js_keyword {
    const char *name;
    enum js_form form;
} js_keywords[] = {
    {"type", JS_FORM_TYPE},
    {"enum", JS_FORM_VALUES},
    {"const", JS_FORM_ANY},
    {"minimum", JS_FORM_NUMBER},
    {"maximum", JS_FORM_NUMBER},
    {"exclusiveMinimum", JS_FORM_NUMBER},
    {"exclusiveMaximum", JS_FORM_NUMBER},
    {"minLength", JS_FORM_COUNT},
    {"maxLength", JS_FORM_COUNT},
    {"pattern", JS_FORM_PATTERN},
    {"items", JS_FORM_SCHEMA},
    {"minItems", JS_FORM_COUNT},
    {"maxItems", JS_FORM_COUNT},
    {"uniqueItems", JS_FORM_BOOLEAN},
    {"properties", JS_FORM_SCHEMA_MAP},
    {"required", JS_FORM_NAMES},
    {"additionalProperties", JS_FORM_SCHEMA},
    {"minProperties", JS_FORM_COUNT},
    {"maxProperties", JS_FORM_COUNT},
    {"oneOf", JS_FORM_SCHEMA_LIST},
    {"anyOf", JS_FORM_SCHEMA_LIST},
    {"default", JS_FORM_ANY},
    {"title", JS_FORM_ANY},
    {"description", JS_FORM_ANY},
    {"format", JS_FORM_ANY},
    {"examples", JS_FORM_ANY},
    {"sensitive", JS_FORM_ANY},
    {"language", JS_FORM_ANY},
    {"$schema", JS_FORM_ANY},
    {"$id", JS_FORM_ANY},
    {"$comment", JS_FORM_ANY},
};

/*
 * The numeric bounds: a value fails when comparing it with the bound gives
 * fail_sign, or 0 when fail_equal is set.
 */
static const struct js_bound {
    const char *keyword;
    int fail_sign;
    bool fail_equal;
    const char *reason; /* followed by the bound */
} js_bounds[] = {
    {"minimum", -1, false, "must be at least"},
    {"maximum", 1, false, "must be at most"},
    {"exclusiveMinimum", -1, true, "must be greater than"},
    {"exclusiveMaximum", 1, true, "must be less than"},
};

static void text_vadd(struct js_text *t, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void text_add(struct js_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report(struct js_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void validate(struct js_ctx *c, const json_t *schema,
                     const json_t *value);
static void schema_walk(struct js_ctx *c, const json_t *schema, int depth);

/*
 * An object's members, in order:
 *
 *   for (void *it = member_first(o); it != NULL; it = member_next(o, it))
 *
 * with json_object_iter_key(it) and json_object_iter_value(it). jansson's
 * iterators take a non-const object although they do not modify it; these
 * two are the one place that says so.
 */
static void *
member_first(const json_t *obj)
{
    return json_object_iter((json_t *)obj);
}

static void *
member_next(const json_t *obj, void *it)
{
    return json_object_iter_next((json_t *)obj, it);
}

/* --- bounded text ------------------------------------------------------- */

static void
text_init(struct js_text *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    t->cut = false;
    buf[0] = '\0';
}

/*
 * Returns len shortened so that buf[0..len) does not end inside a UTF-8
 * sequence; what came before len is whole characters.
 */
static size_t
utf8_whole(const char *buf, size_t len)
{
    size_t lead = len, need;
    unsigned char b;

    while (lead > 0 && len - lead < 4 &&
           ((unsigned char)buf[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return len;
    b = (unsigned char)buf[lead - 1];
    if (b < 0x80)
        return len;
    need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    return len - (lead - 1) < need ? lead - 1 : len;
}

static void
text_vadd(struct js_text *t, const char *fmt, va_list ap)
{
    size_t room;
    int n;

    if (t->cut)
        return;
    room = t->cap - sizeof(JS_ELLIPSIS) + 1 - t->len;
    n = vsnprintf(t->buf + t->len, room, fmt, ap);
    if (n < 0) {
        t->buf[t->len] = '\0';
        return;
    }
    if ((size_t)n < room) {
        t->len += (size_t)n;
        return;
    }
    t->len = utf8_whole(t->buf, t->len + room - 1);
    memcpy(t->buf + t->len, JS_ELLIPSIS, sizeof(JS_ELLIPSIS));
    t->len += sizeof(JS_ELLIPSIS) - 1;
    t->cut = true;
}

static void
text_add(struct js_text *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    text_vadd(t, fmt, ap);
    va_end(ap);
}

static struct js_mark
text_mark(const struct js_text *t)
{
    return (struct js_mark){.len = t->len, .cut = t->cut};
}

static void
text_restore(struct js_text *t, struct js_mark m)
{
    t->len = m.len;
    t->cut = m.cut;
    t->buf[t->len] = '\0';
}

/* Appends a number as JSON writes it, reals in their shortest exact form. */
static void
text_add_number(struct js_text *t, const json_t *n)
{
    char tmp[32];
    double d;

    if (json_is_integer(n)) {
        text_add(t, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
        return;
    }
    d = json_real_value(n);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    text_add(t, "%s", tmp);
}

/* Appends a value for a reason: strings bare, anything else as JSON. */
static void
text_add_value(struct js_text *t, const json_t *v)
{
    char *s;

    if (json_is_string(v)) {
        text_add(t, "%s", json_string_value(v));
    } else if (json_is_number(v)) {
        text_add_number(t, v);
    } else {
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        text_add(t, "%s", s != NULL ? s : JS_ELLIPSIS);
        free(s);
    }
}

/* --- paths -------------------------------------------------------------- */

/* True when key may be written after a dot: ASCII letters, digits, _ -. */
static bool
key_is_plain(const char *key)
{
    if (*key == '\0')
        return false;
    for (const char *k = key; *k != '\0'; k++) {
        char ch = *k;

        if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
            !(ch >= '0' && ch <= '9') && ch != '_' && ch != '-')
            return false;
    }
    return true;
}

/* Adds a member name to the path; returns the mark to go back to. */
static struct js_mark
path_push_key(struct js_ctx *c, const char *key)
{
    struct js_mark m = text_mark(&c->path);
    const char *run = key;

    if (key_is_plain(key)) {
        text_add(&c->path, "%s%s", c->path.len > 0 ? "." : "", key);
        return m;
    }
    /* Anything else is a JSON string in brackets. */
    text_add(&c->path, "[\"");
    for (const char *k = key; *k != '\0'; k++) {
        unsigned char ch = (unsigned char)*k;

        if (ch >= 0x20 && ch != 0x7F && ch != '"' && ch != '\\')
            continue;
        text_add(&c->path, "%.*s", (int)(k - run), run);
        if (ch == '"' || ch == '\\')
            text_add(&c->path, "\\%c", ch);
        else
            text_add(&c->path, "\\u%04x", ch);
        run = k + 1;
    }
    text_add(&c->path, "%s\"]", run);
    return m;
}

/* Adds an array index to the path; returns the mark to go back to. */
static struct js_mark
path_push_index(struct js_ctx *c, size_t index)
{
    struct js_mark m = text_mark(&c->path);

    text_add(&c->path, "[%zu]", index);
    return m;
}

static void
path_pop(struct js_ctx *c, struct js_mark m)
{
    text_restore(&c->path, m);
}

/* --- the context and its reports ---------------------------------------- */

static void
ctx_init(struct js_ctx *c, sl_jschema_error_fn fn, void *arg, bool strict)
{
    c->fn = fn;
    c->arg = arg;
    text_init(&c->path, c->pathbuf, sizeof(c->pathbuf));
    c->nerrors = 0;
    c->rc = SL_OK;
    c->full = false;
    c->strict = strict;
    c->quiet = 0;
    c->branch_failed = false;
}

/* True when the walk should go no further: failed, full, or branch lost. */
static bool
halted(const struct js_ctx *c)
{
    return c->rc < 0 || c->full || (c->quiet > 0 && c->branch_failed);
}

/*
 * Reports a problem at the current path. Inside a branch it only marks the
 * branch as failed. Past the cap it reports "too many errors" once and
 * halts the walk.
 */
static void
report(struct js_ctx *c, const char *fmt, ...)
{
    char reason[JS_REASON_MAX];
    struct js_text t;
    va_list ap;

    if (halted(c))
        return;
    if (c->quiet > 0) {
        c->branch_failed = true;
        return;
    }
    if (c->nerrors == SL_MAX_SCHEMA_ERRORS) {
        if (c->fn != NULL)
            c->fn(c->arg, "", "too many errors");
        c->nerrors++;
        c->full = true;
        return;
    }
    text_init(&t, reason, sizeof(reason));
    va_start(ap, fmt);
    text_vadd(&t, fmt, ap);
    va_end(ap);
    if (c->fn != NULL)
        c->fn(c->arg, c->path.buf, reason);
    c->nerrors++;
}

static const char *
plural(json_int_t n)
{
    return n == 1 ? "" : "s";
}

/* --- values ------------------------------------------------------------- */

/* True when the real d has no fractional part. */
static bool
real_is_integral(double d)
{
    /* From 2^52 on every double is an integer; below, the cast is exact. */
    if (d >= 4503599627370496.0 || d <= -4503599627370496.0)
        return d == d && d - d == 0.0; /* not NaN, not infinite */
    return (double)(int64_t)d == d;
}

_Static_assert(LDBL_MANT_DIG >= 64,
               "num_cmp() needs a long double that holds every int64_t");

/* Compares two numbers exactly: -1, 0 or 1. */
static int
num_cmp(const json_t *a, const json_t *b)
{
    long double x, y;

    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t i = json_integer_value(a), j = json_integer_value(b);

        return (i > j) - (i < j);
    }
    /* A long double holds every json_int_t and every double exactly. */
    x = json_is_integer(a) ? (long double)json_integer_value(a)
                           : (long double)json_real_value(a);
    y = json_is_integer(b) ? (long double)json_integer_value(b)
                           : (long double)json_real_value(b);
    return (x > y) - (x < y);
}

/*
 * True when a and b are the same JSON value: numbers by value (1 equals
 * 1.0), objects whatever their members' order. Values nesting deeper than
 * SL_MAX_JSON_DEPTH_CEIL, which no parser of client input accepts, are
 * never equal.
 */
static bool
js_equal(const json_t *a, const json_t *b, int depth)
{
    if (depth > SL_MAX_JSON_DEPTH_CEIL)
        return false;
    if (json_is_number(a) && json_is_number(b))
        return num_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b),
                      json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!js_equal(json_array_get(a, i), json_array_get(b, i),
                          depth + 1))
                return false;
        return true;
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b))
            return false;
        for (void *it = member_first(a); it != NULL; it = member_next(a, it)) {
            const json_t *bv = json_object_get(b, json_object_iter_key(it));

            if (bv == NULL ||
                !js_equal(json_object_iter_value(it), bv, depth + 1))
                return false;
        }
        return true;
    default:
        return true; /* true, false and null equal themselves */
    }
}

static uint64_t
hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static uint64_t
hash_bytes(const char *s, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return hash_mix(h);
}

/*
 * A hash under which values that js_equal() calls equal hash alike:
 * numbers hash their value as a double, objects sum their members' hashes
 * so that order does not matter.
 */
static uint64_t
js_hash(const json_t *v, int depth)
{
    uint64_t h;
    double d;

    if (depth > SL_MAX_JSON_DEPTH_CEIL)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        h = 1;
        for (void *it = member_first(v); it != NULL; it = member_next(v, it)) {
            const char *key = json_object_iter_key(it);

            h += hash_mix(hash_bytes(key, strlen(key)) ^
                          js_hash(json_object_iter_value(it), depth + 1));
        }
        return hash_mix(h);
    case JSON_ARRAY:
        h = 2;
        for (size_t i = 0; i < json_array_size(v); i++)
            h = hash_mix(h ^ js_hash(json_array_get(v, i), depth + 1));
        return h;
    case JSON_STRING:
        return 3 ^ hash_bytes(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
    case JSON_REAL:
        d = json_number_value(v);
        if (d == 0.0)
            d = 0.0; /* -0.0 becomes +0.0: equal values, one hash */
        memcpy(&h, &d, sizeof(h));
        return hash_mix(4 ^ h);
    default:
        return hash_mix(5 + (uint64_t)json_typeof(v));
    }
}

/* A count from a keyword the schema walk accepted; -1 when it is not one. */
static json_int_t
count_of(const json_t *j)
{
    double d;

    if (json_is_integer(j))
        return json_integer_value(j) >= 0 ? json_integer_value(j) : -1;
    if (!json_is_real(j))
        return -1;
    d = json_real_value(j);
    if (d < 0 || d > 9007199254740992.0 || !real_is_integral(d))
        return -1;
    return (json_int_t)d;
}

/* Unicode code points in len bytes of UTF-8. */
static size_t
utf8_length(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* --- types -------------------------------------------------------------- */

/* The js_type named by a JSON string, or -1. */
static int
type_lookup(const json_t *name)
{
    const char *s = json_string_value(name);

    if (s == NULL)
        return -1;
    for (int t = 0; t < JS_NTYPES; t++)
        if (strcmp(s, js_types[t].name) == 0)
            return t;
    return -1;
}

/* The bit set of the types a well-formed `type` keyword names. */
static unsigned
type_mask(const json_t *type)
{
    unsigned mask = 0;

    if (json_is_string(type))
        return 1u << type_lookup(type);
    for (size_t i = 0; i < json_array_size(type); i++)
        mask |= 1u << type_lookup(json_array_get(type, i));
    return mask;
}

/* True when v is of one of the types in mask. */
static bool
type_accepts(unsigned mask, const json_t *v)
{
    enum js_type t;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        t = JS_OBJECT;
        break;
    case JSON_ARRAY:
        t = JS_ARRAY;
        break;
    case JSON_STRING:
        t = JS_STRING;
        break;
    case JSON_INTEGER:
        return (mask & (1u << JS_INTEGER | 1u << JS_NUMBER)) != 0;
    case JSON_REAL:
        if ((mask & 1u << JS_NUMBER) != 0)
            return true;
        return (mask & 1u << JS_INTEGER) != 0 &&
               real_is_integral(json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
        t = JS_BOOLEAN;
        break;
    default:
        t = JS_NULL;
        break;
    }
    return (mask & 1u << t) != 0;
}

/* Reports "must be a string, an integer or null" for the types in mask. */
static void
report_types(struct js_ctx *c, unsigned mask)
{
    char buf[JS_REASON_MAX];
    struct js_text t;
    int left = 0;

    for (int i = 0; i < JS_NTYPES; i++)
        left += (mask & 1u << i) != 0;
    text_init(&t, buf, sizeof(buf));
    for (int i = 0; i < JS_NTYPES; i++) {
        if ((mask & 1u << i) == 0)
            continue;
        text_add(&t, "%s", js_types[i].noun);
        left--;
        if (left > 1)
            text_add(&t, ", ");
        else if (left == 1)
            text_add(&t, " or ");
    }
    report(c, "must be %s", buf);
}

/* --- the schema walk ---------------------------------------------------- */

static const struct js_keyword *
keyword_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(js_keywords) / sizeof(js_keywords[0]); i++)
        if (strcmp(name, js_keywords[i].name) == 0)
            return &js_keywords[i];
    return NULL;
}

static void
check_type_form(struct js_ctx *c, const json_t *kv)
{
    struct js_mark m;

    if (json_is_string(kv)) {
        if (type_lookup(kv) < 0)
            report(c, "must name a type: object, array, string, integer, "
                      "number, boolean or null");
        return;
    }
    if (!json_is_array(kv) || json_array_size(kv) == 0) {
        report(c, "must be a type name or a non-empty array of them");
        return;
    }
    for (size_t i = 0; i < json_array_size(kv); i++) {
        const json_t *name = json_array_get(kv, i);

        m = path_push_index(c, i);
        if (type_lookup(name) < 0)
            report(c, "must name a type: object, array, string, integer, "
                      "number, boolean or null");
        for (size_t j = 0; j < i; j++)
            if (json_equal(name, json_array_get(kv, j)))
                report(c, "is listed twice");
        path_pop(c, m);
    }
}

static void
check_names_form(struct js_ctx *c, const json_t *kv)
{
    struct js_mark m;

    if (!json_is_array(kv)) {
        report(c, "must be an array of strings");
        return;
    }
    for (size_t i = 0; i < json_array_size(kv); i++) {
        const json_t *name = json_array_get(kv, i);

        m = path_push_index(c, i);
        if (!json_is_string(name))
            report(c, "must be a string");
        else
            for (size_t j = 0; j < i; j++)
                if (json_equal(name, json_array_get(kv, j)))
                    report(c, "is listed twice");
        path_pop(c, m);
    }
}

static void
check_pattern_form(struct js_ctx *c, const json_t *kv)
{
    const char *pat = json_string_value(kv);
    char msg[128];
    regex_t re;
    int rc;

    if (pat == NULL) {
        report(c, "must be a string");
        return;
    }
    if (strlen(pat) != json_string_length(kv)) {
        report(c, "must not contain a NUL character");
        return;
    }
    rc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc == REG_ESPACE) {
        c->rc = SL_ENOMEM;
        return;
    }
    if (rc != 0) {
        regerror(rc, &re, msg, sizeof(msg));
        report(c, "is not a POSIX extended regular expression: %s", msg);
        return;
    }
    regfree(&re);
}

/* Checks the value kv of a keyword of the given form; c->path names it. */
static void
check_form(struct js_ctx *c, enum js_form form, const json_t *kv, int depth)
{
    struct js_mark m;

    switch (form) {
    case JS_FORM_ANY:
        break;
    case JS_FORM_TYPE:
        check_type_form(c, kv);
        break;
    case JS_FORM_SCHEMA:
        if (json_is_array(kv))
            report(c, "must be one schema: the array form is not supported");
        else
            schema_walk(c, kv, depth + 1);
        break;
    case JS_FORM_SCHEMA_MAP:
        if (!json_is_object(kv)) {
            report(c, "must be an object of schemas");
            break;
        }
        for (void *it = member_first(kv); it != NULL;
             it = member_next(kv, it)) {
            m = path_push_key(c, json_object_iter_key(it));
            schema_walk(c, json_object_iter_value(it), depth + 1);
            path_pop(c, m);
        }
        break;
    case JS_FORM_SCHEMA_LIST:
        if (!json_is_array(kv) || json_array_size(kv) == 0) {
            report(c, "must be a non-empty array of schemas");
            break;
        }
        for (size_t i = 0; i < json_array_size(kv); i++) {
            m = path_push_index(c, i);
            schema_walk(c, json_array_get(kv, i), depth + 1);
            path_pop(c, m);
        }
        break;
    case JS_FORM_NAMES:
        check_names_form(c, kv);
        break;
    case JS_FORM_VALUES:
        if (!json_is_array(kv) || json_array_size(kv) == 0)
            report(c, "must be a non-empty array");
        break;
    case JS_FORM_NUMBER:
        if (!json_is_number(kv))
            report(c, "must be a number");
        break;
    case JS_FORM_COUNT:
        if (count_of(kv) < 0)
            report(c, "must be a non-negative integer");
        break;
    case JS_FORM_BOOLEAN:
        if (!json_is_boolean(kv))
            report(c, "must be a boolean");
        break;
    case JS_FORM_PATTERN:
        check_pattern_form(c, kv);
        break;
    }
}

/*
 * Checks a schema at depth levels below the root: every keyword the table
 * knows must have its form; in strict mode no other keyword may appear.
 */
static void
schema_walk(struct js_ctx *c, const json_t *schema, int depth)
{
    const struct js_keyword *kw;
    struct js_mark m;

    if (depth > SL_MAX_SCHEMA_DEPTH) {
        report(c, "nests deeper than %d levels", SL_MAX_SCHEMA_DEPTH);
        return;
    }
    if (json_is_boolean(schema))
        return;
    if (!json_is_object(schema)) {
        report(c, "must be a schema: an object or a boolean");
        return;
    }
    for (void *it = member_first(schema); it != NULL;
         it = member_next(schema, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *kv = json_object_iter_value(it);

        if (halted(c))
            return;
        kw = keyword_lookup(key);
        m = path_push_key(c, key);
        if (kw != NULL)
            check_form(c, kw->form, kv, depth);
        else if (c->strict)
            report(c, "is not a supported keyword");
        path_pop(c, m);
    }
}

/* Returns 0 when validation may trust schema, or SL_EINVAL, SL_ENOMEM. */
static int
schema_usable(const json_t *schema)
{
    struct js_ctx c;

    if (schema == NULL)
        return SL_EINVAL;
    ctx_init(&c, NULL, NULL, false);
    schema_walk(&c, schema, 0);
    if (c.rc < 0)
        return c.rc;
    return c.nerrors > 0 ? SL_EINVAL : SL_OK;
}

/* --- the validation walk ------------------------------------------------ */

static void
check_enum(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    const json_t *values = json_object_get(schema, "enum");
    char buf[JS_REASON_MAX];
    struct js_text t;

    if (values == NULL)
        return;
    for (size_t i = 0; i < json_array_size(values); i++)
        if (js_equal(json_array_get(values, i), value, 0))
            return;
    text_init(&t, buf, sizeof(buf));
    for (size_t i = 0; i < json_array_size(values); i++) {
        text_add(&t, "%s", i > 0 ? ", " : "");
        text_add_value(&t, json_array_get(values, i));
    }
    report(c, "must be one of: %s", buf);
}

static void
check_const(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    const json_t *want = json_object_get(schema, "const");
    char buf[JS_REASON_MAX];
    struct js_text t;

    if (want == NULL || js_equal(want, value, 0))
        return;
    text_init(&t, buf, sizeof(buf));
    text_add_value(&t, want);
    report(c, "must equal %s", buf);
}

static void
check_number(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    char buf[64];
    struct js_text t;

    for (size_t i = 0; i < sizeof(js_bounds) / sizeof(js_bounds[0]); i++) {
        const struct js_bound *b = &js_bounds[i];
        const json_t *bound = json_object_get(schema, b->keyword);
        int cmp;

        if (bound == NULL)
            continue;
        cmp = num_cmp(value, bound);
        if (cmp != b->fail_sign && !(cmp == 0 && b->fail_equal))
            continue;
        text_init(&t, buf, sizeof(buf));
        text_add_number(&t, bound);
        report(c, "%s %s", b->reason, buf);
    }
}

static void
check_string(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    const char *s = json_string_value(value), *pat;
    size_t len = json_string_length(value);
    size_t chars = utf8_length(s, len);
    const json_t *kv;
    json_int_t n;
    regex_t re;
    int rc;

    if ((kv = json_object_get(schema, "minLength")) != NULL &&
        chars < (size_t)(n = count_of(kv)))
        report(c, "must have at least %" JSON_INTEGER_FORMAT " character%s", n,
               plural(n));
    if ((kv = json_object_get(schema, "maxLength")) != NULL &&
        chars > (size_t)(n = count_of(kv)))
        report(c, "must have at most %" JSON_INTEGER_FORMAT " character%s", n,
               plural(n));
    pat = json_string_value(json_object_get(schema, "pattern"));
    if (pat == NULL || halted(c))
        return;
    rc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        c->rc = rc == REG_ESPACE ? SL_ENOMEM : SL_EINVAL;
        return;
    }
    /* regexec() stops at a NUL: a string holding one never matches. */
    rc = strlen(s) == len ? regexec(&re, s, 0, NULL, 0) : REG_NOMATCH;
    regfree(&re);
    if (rc == REG_NOMATCH)
        report(c, "must match the pattern %s", pat);
    else if (rc != 0)
        c->rc = SL_ENOMEM;
}

struct js_hashed {
    uint64_t hash;
    size_t index;
};

static int
hashed_cmp(const void *a, const void *b)
{
    const struct js_hashed *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/*
 * Reports each item equal to an earlier one, naming the first. Items are
 * sorted by hash so that only items that hash alike are compared.
 */
static void
check_unique(struct js_ctx *c, const json_t *array)
{
    size_t n = json_array_size(array), start, end;
    struct js_hashed *h = NULL;
    size_t *dup_of = NULL;
    struct js_mark m;

    if (n < 2)
        return;
    h = calloc(n, sizeof(*h));
    dup_of = calloc(n, sizeof(*dup_of));
    if (h == NULL || dup_of == NULL) {
        c->rc = SL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        h[i].hash = js_hash(json_array_get(array, i), 0);
        h[i].index = i;
        dup_of[i] = SIZE_MAX;
    }
    qsort(h, n, sizeof(*h), hashed_cmp);
    for (start = 0; start < n; start = end) {
        for (end = start + 1; end < n && h[end].hash == h[start].hash; end++)
            ;
        /* Within a run, compare each item with the earlier originals. */
        for (size_t j = start + 1; j < end; j++) {
            for (size_t i = start; i < j; i++) {
                if (dup_of[h[i].index] != SIZE_MAX)
                    continue;
                if (js_equal(json_array_get(array, h[i].index),
                             json_array_get(array, h[j].index), 0)) {
                    dup_of[h[j].index] = h[i].index;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < n && !halted(c); i++) {
        if (dup_of[i] == SIZE_MAX)
            continue;
        m = path_push_index(c, i);
        report(c, "is a duplicate of item %zu", dup_of[i]);
        path_pop(c, m);
    }
out:
    free(dup_of);
    free(h);
}

static void
check_array(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    size_t n = json_array_size(value);
    const json_t *kv, *items;
    json_int_t bound;
    struct js_mark m;

    if ((kv = json_object_get(schema, "minItems")) != NULL &&
        n < (size_t)(bound = count_of(kv)))
        report(c, "must have at least %" JSON_INTEGER_FORMAT " item%s", bound,
               plural(bound));
    if ((kv = json_object_get(schema, "maxItems")) != NULL &&
        n > (size_t)(bound = count_of(kv)))
        report(c, "must have at most %" JSON_INTEGER_FORMAT " item%s", bound,
               plural(bound));
    if (json_is_true(json_object_get(schema, "uniqueItems")))
        check_unique(c, value);
    items = json_object_get(schema, "items");
    if (items == NULL)
        return;
    for (size_t i = 0; i < n && !halted(c); i++) {
        m = path_push_index(c, i);
        validate(c, items, json_array_get(value, i));
        path_pop(c, m);
    }
}

static void
check_object(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    size_t n = json_object_size(value);
    const json_t *kv, *props, *extra, *required, *sub;
    json_int_t bound;
    struct js_mark m;

    if ((kv = json_object_get(schema, "minProperties")) != NULL &&
        n < (size_t)(bound = count_of(kv)))
        report(c, "must have at least %" JSON_INTEGER_FORMAT " member%s", bound,
               plural(bound));
    if ((kv = json_object_get(schema, "maxProperties")) != NULL &&
        n > (size_t)(bound = count_of(kv)))
        report(c, "must have at most %" JSON_INTEGER_FORMAT " member%s", bound,
               plural(bound));
    required = json_object_get(schema, "required");
    for (size_t i = 0; i < json_array_size(required); i++) {
        const char *name = json_string_value(json_array_get(required, i));

        if (json_object_get(value, name) != NULL)
            continue;
        m = path_push_key(c, name);
        report(c, "is required");
        path_pop(c, m);
    }
    props = json_object_get(schema, "properties");
    extra = json_object_get(schema, "additionalProperties");
    for (void *it = member_first(value); it != NULL;
         it = member_next(value, it)) {
        const char *key = json_object_iter_key(it);

        if (halted(c))
            return;
        sub = json_object_get(props, key);
        if (sub == NULL)
            sub = extra;
        if (sub == NULL)
            continue;
        m = path_push_key(c, key);
        validate(c, sub, json_object_iter_value(it));
        path_pop(c, m);
    }
}

/* True when value satisfies schema; tried quietly, nothing is reported. */
static bool
branch_matches(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    bool was_failed = c->branch_failed, ok;

    c->quiet++;
    c->branch_failed = false;
    validate(c, schema, value);
    ok = !c->branch_failed && c->rc == SL_OK;
    c->quiet--;
    c->branch_failed = was_failed;
    return ok;
}

/*
 * When every branch names its types and value is of none of them, says so
 * ("must be a string or an array"), which tells more than that no branch
 * matched. Returns false when it did not apply.
 */
static bool
report_branch_types(struct js_ctx *c, const json_t *branches,
                    const json_t *value)
{
    unsigned mask = 0;

    for (size_t i = 0; i < json_array_size(branches); i++) {
        const json_t *type =
            json_object_get(json_array_get(branches, i), "type");

        if (type == NULL)
            return false;
        mask |= type_mask(type);
    }
    if (type_accepts(mask, value))
        return false;
    report_types(c, mask);
    return true;
}

static void
check_branches(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    const json_t *any = json_object_get(schema, "anyOf");
    const json_t *one = json_object_get(schema, "oneOf");
    size_t matched = 0;

    if (any != NULL) {
        for (size_t i = 0; i < json_array_size(any) && matched == 0; i++)
            matched += branch_matches(c, json_array_get(any, i), value);
        if (c->rc < 0)
            return;
        if (matched == 0 && !report_branch_types(c, any, value))
            report(c, "must match one of the allowed forms");
    }
    if (one != NULL && !halted(c)) {
        matched = 0;
        for (size_t i = 0; i < json_array_size(one) && matched < 2; i++)
            matched += branch_matches(c, json_array_get(one, i), value);
        if (c->rc < 0)
            return;
        if (matched == 0 && !report_branch_types(c, one, value))
            report(c, "must match one of the allowed forms");
        else if (matched > 1)
            report(c, "matches more than one of the allowed forms");
    }
}

/*
 * Validates value against a schema the schema walk accepted. A value of the
 * wrong type gets that one error: the other keywords would only repeat it.
 */
static void
validate(struct js_ctx *c, const json_t *schema, const json_t *value)
{
    const json_t *type;

    if (halted(c) || json_is_true(schema))
        return;
    if (json_is_false(schema)) {
        report(c, "is not allowed");
        return;
    }
    type = json_object_get(schema, "type");
    if (type != NULL && !type_accepts(type_mask(type), value)) {
        report_types(c, type_mask(type));
        return;
    }
    check_enum(c, schema, value);
    check_const(c, schema, value);
    if (json_is_number(value))
        check_number(c, schema, value);
    else if (json_is_string(value))
        check_string(c, schema, value);
    else if (json_is_array(value))
        check_array(c, schema, value);
    else if (json_is_object(value))
        check_object(c, schema, value);
    if (!halted(c))
        check_branches(c, schema, value);
}

/* --- defaults ----------------------------------------------------------- */

/* Fills the defaults of schema into value (see jschema.h). */
static int
fill_defaults(const json_t *schema, json_t *value)
{
    const json_t *props, *items, *def;
    json_t *member, *copy;
    int rc;

    if (!json_is_object(schema))
        return SL_OK;
    if (json_is_array(value)) {
        items = json_object_get(schema, "items");
        for (size_t i = 0; items != NULL && i < json_array_size(value); i++)
            if ((rc = fill_defaults(items, json_array_get(value, i))) != 0)
                return rc;
        return SL_OK;
    }
    props = json_object_get(schema, "properties");
    if (!json_is_object(value) || props == NULL)
        return SL_OK;
    for (void *it = member_first(props); it != NULL;
         it = member_next(props, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *sub = json_object_iter_value(it);

        member = json_object_get(value, key);
        def = json_is_object(sub) ? json_object_get(sub, "default") : NULL;
        if (member == NULL && def != NULL) {
            copy = json_deep_copy(def);
            if (copy == NULL || json_object_set_new(value, key, copy) != 0)
                return SL_ENOMEM;
            member = copy;
        }
        if (member != NULL && (rc = fill_defaults(sub, member)) != 0)
            return rc;
    }
    return SL_OK;
}

/* --- entry points ------------------------------------------------------- */

int
sl_jschema_validate(const json_t *schema, const json_t *value,
                    sl_jschema_error_fn fn, void *arg)
{
    struct js_ctx c;
    int rc;

    if (value == NULL)
        return SL_EINVAL;
    if ((rc = schema_usable(schema)) != SL_OK)
        return rc;
    ctx_init(&c, fn, arg, false);
    validate(&c, schema, value);
    return c.rc < 0 ? c.rc : c.nerrors;
}

int
sl_jschema_apply_defaults(const json_t *schema, json_t *value)
{
    int rc;

    if (value == NULL)
        return SL_EINVAL;
    if ((rc = schema_usable(schema)) != SL_OK)
        return rc;
    return fill_defaults(schema, value);
}

int
sl_jschema_check(const json_t *schema, sl_jschema_error_fn fn, void *arg)
{
    struct js_ctx c;

    if (schema == NULL)
        return SL_EINVAL;
    ctx_init(&c, fn, arg, true);
    schema_walk(&c, schema, 0);
    if (c.rc < 0)
        return c.rc;
    return c.nerrors > 0 ? SL_EINVAL : SL_OK;
}
