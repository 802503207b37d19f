/*
 * event.c: serialising an event within its bound (see event.h).
 */
#include "event.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* The members of data that may be cut down, in the order they are. */
static const char *const trimmable[] = {"result_data", "metadata"};

/* Dumps event into *out; SL_OK when it is within max bytes. */
static int
dump(json_t *event, size_t max, char **out)
{
    free(*out);
    *out = json_dumps(event, JSON_COMPACT);
    if (*out == NULL)
        return SL_ENOMEM;
    return strlen(*out) <= max ? SL_OK : SL_ETOOBIG;
}

/* Whether v is kept in a trimmed object. */
static bool
kept(json_t *v)
{
    return json_is_number(v) || json_is_boolean(v) || json_is_null(v) ||
           (json_is_string(v) && json_string_length(v) <= SL_EVENT_KEEP_STRING);
}

/* Sets data's "<name>_truncated" to true. */
static void
flag(json_t *data, const char *name)
{
    char key[64];

    snprintf(key, sizeof(key), "%s_truncated", name);
    json_object_set_new(data, key, json_true());
}

/* data's name cut down to its kept members (null when not an object). */
static void
trim_object(json_t *data, const char *name)
{
    json_t *v = json_object_get(data, name), *small = json_null(), *m;
    const char *k;

    if (json_is_object(v)) {
        small = json_object();
        json_object_foreach(v, k, m)
        {
            if (kept(m))
                json_object_set(small, k, m);
        }
    }
    json_object_set_new(data, name, small);
    flag(data, name);
}

/* data's message cut to SL_EVENT_KEEP_MESSAGE bytes, at a character
 * boundary (jansson's strings are UTF-8). */
static void
trim_message(json_t *data)
{
    json_t *v = json_object_get(data, "message");
    const char *s = json_string_value(v);
    size_t n = SL_EVENT_KEEP_MESSAGE;

    if (s == NULL || json_string_length(v) <= n)
        return;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    json_object_set_new(data, "message", json_stringn(s, n));
    flag(data, "message");
}

int
sl_event_dump(json_t *event, size_t max, char **out)
{
    size_t n = sizeof(trimmable) / sizeof(trimmable[0]);
    json_t *data = json_object_get(event, "data");
    int rc;

    *out = NULL;
    rc = dump(event, max, out);
    /* First each member cut down to its scalars, then each dropped. */
    for (int pass = 0; pass < 2 && rc == SL_ETOOBIG; pass++)
        for (size_t k = 0; k < n && rc == SL_ETOOBIG; k++) {
            json_t *v = json_object_get(data, trimmable[k]);

            if (v == NULL || json_is_null(v))
                continue;
            if (pass == 0) {
                trim_object(data, trimmable[k]);
            } else {
                json_object_set_new(data, trimmable[k], json_null());
                flag(data, trimmable[k]);
            }
            rc = dump(event, max, out);
        }
    if (rc == SL_ETOOBIG) {
        trim_message(data);
        rc = dump(event, max, out);
    }
    if (rc != SL_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
