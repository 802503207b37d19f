/*
 * check.c: collecting the problems of what a client sent, and answering
 * 422 naming them all; the shapes of names (see check.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "cron.h"
#include "err.h"
#include "json.h"
#include "limits.h"
#include "request.h"

/* --- validation ------------------------------------------------------------
 */

void
api_check_init(struct api_check *c, struct api_req *r)
{
    c->r = r;
    c->errors = sl_json_pool_own(r->pool, json_array());
}

void
api_check_fail(struct api_check *c, const char *field, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    /* A body can hold many faults: name the first ones, not all. */
    if (json_array_size(c->errors) >= API_CHECK_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    json_array_append_new(
        c->errors, json_pack("{s:s, s:s}", "field", field, "reason", reason));
}

/* Counts UTF-8 code points (the string is valid UTF-8: jansson checked). */
static size_t
utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

const char *
api_check_str(struct api_check *c, json_t *obj, const char *field, int flags,
              size_t min, size_t max)
{
    json_t *v = json_object_get(obj, field);
    const char *s;
    size_t n;

    if (v == NULL || json_is_null(v)) {
        if (flags & API_REQUIRED)
            api_check_fail(c, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        api_check_fail(c, field, "must be a string");
        return NULL;
    }
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        api_check_fail(c, field, "must not contain NUL characters");
        return NULL;
    }
    n = utf8_len(s);
    if (n < min || n > max) {
        if (min == max)
            api_check_fail(c, field, "must be %zu characters", min);
        else if (n < min)
            api_check_fail(c, field, "must be at least %zu characters", min);
        else
            api_check_fail(c, field, "must be at most %zu characters", max);
        return NULL;
    }
    return s;
}

bool
api_check_cron(struct api_check *c, const char *cron_field,
               const char *tz_field, const char *expr, const char *zone,
               int64_t *next)
{
    char err[200];

    switch (
        sl_cron_next_in(expr, zone, sl_clock_now(), next, err, sizeof(err))) {
    case SL_OK:
        return true;
    case SL_EPARSE:
        api_check_fail(c, cron_field, "is not a valid cron expression: %s",
                       err);
        break;
    case SL_EINVAL:
        api_check_fail(c, tz_field,
                       "'%s' is not a known time zone (an IANA name such as "
                       "Europe/Paris)",
                       zone);
        break;
    default:
        api_check_fail(c, cron_field, "'%s' never fires", expr);
    }
    return false;
}

json_t *
api_check_tags(struct api_check *c, json_t *obj)
{
    json_t *v = json_object_get(obj, "tags"), *t;
    bool ok;
    size_t i;

    if (v == NULL)
        return NULL;
    if (json_is_null(v))
        return sl_json_pool_own(c->r->pool, json_array());
    ok = json_is_array(v) && json_array_size(v) <= API_MAX_TAGS;
    json_array_foreach(v, i, t) ok = ok && json_is_string(t) &&
                                     json_string_length(t) >= 1 &&
                                     json_string_length(t) <= API_MAX_TAG_LEN;
    if (!ok) {
        api_check_fail(c, "tags",
                       "must be an array of at most %d strings of 1 to %d "
                       "characters",
                       API_MAX_TAGS, API_MAX_TAG_LEN);
        return NULL;
    }
    return v;
}

const char *
api_check_list(struct api_check *c, json_t *obj, const char *name,
               bool required, int max, const char *noun, bool unique,
               api_check_entry_fn entry)
{
    json_t *list = json_object_get(obj, name), *v, *out;
    size_t i;
    const char *text;

    if (list == NULL || json_is_null(list)) {
        if (required)
            api_check_fail(c, name, "is required");
        return NULL;
    }
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > (size_t)max) {
        api_check_fail(c, name, "must be an array of 1 to %d %s", max, noun);
        return NULL;
    }
    out = json_array();
    json_array_foreach(list, i, v)
    {
        char field[96];
        bool dup = false;

        snprintf(field, sizeof(field), "%s[%zu]", name, i);
        if (!entry(c, field, v))
            continue;
        for (size_t j = 0; unique && !dup && j < json_array_size(out); j++)
            dup = json_equal(json_array_get(out, j), v);
        if (!dup)
            json_array_append(out, v);
    }
    text = api_json_text(c->r, out);
    json_decref(out);
    return text;
}

const char *
api_query_time(struct api_req *r, struct api_check *c, const char *name)
{
    const char *v = api_query(r, name);
    char out[SL_RFC3339_MAX];
    int64_t t;

    if (v == NULL || *v == '\0')
        return NULL;
    if (sl_clock_parse(v, &t) != SL_OK) {
        api_check_fail(c, name, "must be an ISO 8601 date or date-time");
        return NULL;
    }
    sl_clock_format(t, out);
    return sl_pstrdup(r->pool, out);
}

int
api_check_done(struct api_check *c)
{
    size_t n = json_array_size(c->errors);
    json_t *first;
    char msg[512];

    if (n == 0)
        return 0;
    first = json_array_get(c->errors, 0);
    snprintf(msg, sizeof(msg), "%s %s%s",
             json_string_value(json_object_get(first, "field")),
             json_string_value(json_object_get(first, "reason")),
             n > 1 ? " (see details.errors for more)" : "");
    return api_error(c->r, 422, "VALIDATION_ERROR", msg,
                     json_pack("{s:O, s:O, s:O}", "field",
                               json_object_get(first, "field"), "reason",
                               json_object_get(first, "reason"), "errors",
                               c->errors));
}

bool
api_email_valid(const char *s)
{
    const char *at, *dot;

    if (s == NULL || strlen(s) > 254 || strpbrk(s, " \t\r\n<>,;\"") != NULL)
        return false;
    at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return false;
    dot = strrchr(at, '.');
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

bool
api_tenant_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 3 || n > 50)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return false;
    return true;
}

bool
api_password_check(struct api_check *c, const char *field, const char *password,
                   const char *username)
{
    size_t n = strlen(password);
    bool lower = false, upper = false, digit = false;

    if (n < SL_MIN_PASSWORD || n > SL_MAX_PASSWORD) {
        api_check_fail(c, field, "must be %d to %d characters", SL_MIN_PASSWORD,
                       SL_MAX_PASSWORD);
        return false;
    }
    for (const char *p = password; *p != '\0'; p++) {
        lower |= islower((unsigned char)*p) != 0;
        upper |= isupper((unsigned char)*p) != 0;
        digit |= isdigit((unsigned char)*p) != 0;
    }
    if (!lower || !upper || !digit) {
        api_check_fail(c, field,
                       "must contain a lower-case letter, an "
                       "upper-case letter and a digit");
        return false;
    }
    if (username != NULL && strlen(username) >= 3 &&
        strcasestr(password, username) != NULL) {
        api_check_fail(c, field, "must not contain the username");
        return false;
    }
    return true;
}

bool
api_username_valid(const char *s)
{
    size_t n = strlen(s);

    if (n < 3 || n > 50)
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return false;
    return true;
}
