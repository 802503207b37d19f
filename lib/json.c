/*
 * json.c: JSON helpers (see json.h).
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"

bool
sl_json_depth_ok(const char *buf, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

int
sl_json_parse(const char *buf, size_t len, int max_depth, json_t **out,
              char *err, size_t errsz)
{
    json_error_t je;
    json_t *j;

    *out = NULL;
    if (!sl_json_depth_ok(buf, len, max_depth)) {
        snprintf(err, errsz, "JSON nests deeper than %d levels", max_depth);
        return SL_ETOOBIG;
    }
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (j == NULL) {
        snprintf(err, errsz, "invalid JSON at line %d, column %d: %s", je.line,
                 je.column, je.text);
        return SL_EPARSE;
    }
    *out = j;
    return SL_OK;
}

const char *
sl_json_get_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

bool
sl_json_get_bool(const json_t *obj, const char *key, bool def)
{
    json_t *v = json_object_get(obj, key);

    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_int_t
sl_json_get_int(const json_t *obj, const char *key, json_int_t def)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? json_integer_value(v) : def;
}

json_t *
sl_json_time(int64_t unix_sec)
{
    char ts[SL_RFC3339_MAX];

    if (unix_sec < 0 || sl_clock_format(unix_sec, ts) != SL_OK)
        return json_null();
    return json_string(ts);
}

json_t *
sl_json_str_or_null(const char *s)
{
    json_t *j;

    if (s == NULL)
        return json_null();
    j = json_string(s);
    return j != NULL ? j : json_null();
}

json_t *
sl_json_error_body(const char *code, const char *message, json_t *details,
                   const char *request_id)
{
    json_t *err = json_object(), *body = json_object();

    if (err == NULL || body == NULL) {
        json_decref(err);
        json_decref(body);
        json_decref(details);
        return NULL;
    }
    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", sl_json_str_or_null(message));
    json_object_set_new(err, "details",
                        details != NULL ? details : json_object());
    json_object_set_new(err, "timestamp", sl_json_time(sl_clock_now()));
    json_object_set_new(err, "request_id", sl_json_str_or_null(request_id));
    json_object_set_new(body, "error", err);
    return body;
}

static void
json_release(void *j)
{
    json_decref(j);
}

json_t *
sl_json_pool_own(sl_pool *p, json_t *j)
{
    if (j != NULL && sl_pool_cleanup_add(p, json_release, j) != SL_OK)
        return NULL;
    return j;
}
