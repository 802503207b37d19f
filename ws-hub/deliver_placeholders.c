/*
 * deliver_placeholders.c: TEMPORARY minimal versions of
 * sl_event_matches() and sl_template_render() (see
 * deliver_placeholders.h); dropped when the API's lib/events.c and
 * lib/template.c are merged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deliver_placeholders.h"
#include "err.h"

/* Names of one event in the two families (seed 000's, seed 001's). */
static const char *const aliases[][2] = {
    {"pipeline.completed", "pipeline.execution.completed"},
    {"pipeline.started", "pipeline.execution.started"},
    {"pipeline.failed", "pipeline.execution.failed"},
};

bool
sl_event_matches(const char *subscribed, const char *event_type)
{
    if (subscribed == NULL || event_type == NULL)
        return false;
    if (strcmp(subscribed, "*") == 0 || strcmp(subscribed, event_type) == 0)
        return true;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if ((strcmp(subscribed, aliases[i][0]) == 0 &&
             strcmp(event_type, aliases[i][1]) == 0) ||
            (strcmp(subscribed, aliases[i][1]) == 0 &&
             strcmp(event_type, aliases[i][0]) == 0))
            return true;
    return false;
}

int
sl_template_render(const char *tmpl, json_t *event, char **out)
{
    sl_buf b;
    const char *p = tmpl;

    *out = NULL;
    sl_buf_init(&b, 64 * 1024);
    while (p != NULL && *p != '\0') {
        const char *open = strstr(p, "{{"), *close;
        char name[128];
        size_t n;
        json_t *v;

        if (open == NULL || (close = strstr(open + 2, "}}")) == NULL) {
            if (sl_buf_puts(&b, p) != 0)
                goto fail;
            break;
        }
        if (sl_buf_append(&b, p, (size_t)(open - p)) != 0)
            goto fail;
        n = (size_t)(close - open - 2);
        while (n > 0 && open[2] == ' ')
            open++, n--;
        while (n > 0 && open[2 + n - 1] == ' ')
            n--;
        if (n < sizeof(name)) {
            memcpy(name, open + 2, n);
            name[n] = '\0';
            v = json_object_get(json_object_get(event, "data"), name);
            if (v == NULL)
                v = json_object_get(event, name);
            if (json_is_string(v)) {
                if (sl_buf_puts(&b, json_string_value(v)) != 0)
                    goto fail;
            } else if (v != NULL && !json_is_null(v)) {
                char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                int rc = t == NULL ? -1 : sl_buf_puts(&b, t);

                free(t);
                if (rc != 0)
                    goto fail;
            }
        }
        p = close + 2;
    }
    *out = sl_buf_take(&b);
    if (*out == NULL)
        *out = strdup("");
    return *out == NULL ? SL_ENOMEM : SL_OK;
fail:
    sl_buf_free(&b);
    return SL_ETOOBIG;
}
