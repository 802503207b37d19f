/*
 * deliver_rules.c: which endpoints an event goes to, and what each is
 * sent (see deliver_rules.h). No I/O: the ingest thread of deliver.c
 * calls it, and tests/unit/test_deliver_rules.c tests it alone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_rules.h"
#include "err.h"
#include "events.h"
#include "json.h"
#include "template.h"

#define EXHAUSTED_EVENT "webhook.delivery.exhausted"

long
hub_deliver_owner_pid(const char *owner, const char *prefix)
{
    size_t n = strlen(prefix);
    long pid = 0;
    const char *p;

    if (strncmp(owner, prefix, n) != 0)
        return -1;
    for (p = owner + n; *p >= '0' && *p <= '9' && pid < 100000000; p++)
        pid = pid * 10 + (*p - '0');
    return p > owner + n && *p == '/' && pid > 0 && pid < 100000000 ? pid
                                                                      : -1;
}

bool
hub_deliver_skipped(const char *subject)
{
    static const char *const skipped[] = {".run.progress", ".run.log"};
    size_t n = strlen(subject);

    for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
        size_t m = strlen(skipped[i]);

        if (n >= m && strcmp(subject + n - m, skipped[i]) == 0)
            return true;
    }
    return false;
}

/* A field of the event's data, else of the event itself. */
static json_t *
event_field(json_t *event, const char *name)
{
    json_t *v = json_object_get(json_object_get(event, "data"), name);

    return v != NULL ? v : json_object_get(event, name);
}

/* Equal as JSON, or as text ("5" and 5). */
static bool
value_equal(json_t *have, json_t *want)
{
    char *a, *b;
    bool eq;

    if (json_equal(have, want))
        return true;
    if (!json_is_string(have) && !json_is_string(want))
        return false;
    a = json_is_string(have) ? strdup(json_string_value(have))
                             : json_dumps(have, JSON_ENCODE_ANY);
    b = json_is_string(want) ? strdup(json_string_value(want))
                             : json_dumps(want, JSON_ENCODE_ANY);
    eq = a != NULL && b != NULL && strcmp(a, b) == 0;
    free(a);
    free(b);
    return eq;
}

/* Whether every filter holds: field -> value, or -> [values] (any). */
static bool
filters_match(json_t *filters, json_t *event)
{
    const char *k;
    json_t *want;

    if (!json_is_object(filters))
        return true;
    json_object_foreach(filters, k, want)
    {
        json_t *have = event_field(event, k), *w;
        size_t i;
        bool any = false;

        if (have == NULL)
            return false;
        if (!json_is_array(want)) {
            if (!value_equal(have, want))
                return false;
            continue;
        }
        json_array_foreach(want, i, w) any |= value_equal(have, w);
        if (!any)
            return false;
    }
    return true;
}

/* The event as sent to a subscriber of name: event_type is the name it
 * subscribed to (both families), the event's own for "*". New ref. */
static json_t *
event_as(json_t *event, const char *name)
{
    json_t *copy = json_deep_copy(event);

    if (copy != NULL && name != NULL && strcmp(name, "*") != 0)
        json_object_set_new(copy, "event_type", json_string(name));
    return copy;
}

/* Appends a delivery row for rows; body (taken) is the text to send. */
static int
add_row(json_t *rows, const char *tenant, const char *event_id,
        const char *sent_type, json_int_t seq, const char *webhook,
        const char *alert, const char *channel, char *body)
{
    json_t *row;

    if (body == NULL)
        return SL_ENOMEM;
    row =
        json_pack("{s:s, s:s, s:s, s:I, s:s}", "tenant_id", tenant, "event_id",
                  event_id, "event_type", sent_type, "seq", seq, "body", body);
    free(body);
    if (row == NULL)
        return SL_ENOMEM;
    if (webhook != NULL)
        json_object_set_new(row, "webhook_id", json_string(webhook));
    if (alert != NULL) {
        json_object_set_new(row, "alert_id", json_string(alert));
        json_object_set_new(row, "channel_id", json_string(channel));
    }
    return json_array_append_new(rows, row) == 0 ? SL_OK : SL_ENOMEM;
}

/* Renders a template field, or dflt when the template has none. */
static char *
render(json_t *tmpl, const char *field, const char *dflt, json_t *event)
{
    const char *t = json_is_object(tmpl) ? sl_json_get_str(tmpl, field) : NULL;
    char *out = NULL;

    if (t == NULL)
        t = dflt;
    if (sl_template_render(t, event, &out) != SL_OK) {
        free(out);
        return strdup(t);
    }
    return out;
}

/* s with Slack's three control characters escaped (&, <, >), as Slack
 * asks of message text; malloc'd, or NULL. */
static char *
slack_escape(const char *s)
{
    size_t n = 0;
    char *out, *p;

    for (const char *q = s; *q != '\0'; q++)
        n += *q == '&' ? 5 : (*q == '<' || *q == '>') ? 4 : 1;
    if ((out = malloc(n + 1)) == NULL)
        return NULL;
    p = out;
    for (const char *q = s; *q != '\0'; q++) {
        if (*q == '&')
            p = stpcpy(p, "&amp;");
        else if (*q == '<')
            p = stpcpy(p, "&lt;");
        else if (*q == '>')
            p = stpcpy(p, "&gt;");
        else
            *p++ = *q;
    }
    *p = '\0';
    return out;
}

/* An alert's body for one channel: Slack's incoming-webhook JSON, or the
 * event with the alert beside it. Returns malloc'd text or NULL. */
static char *
alert_body(json_t *rule, json_t *channel, json_t *event, const char *sent_type,
           const char *subject, const char *message)
{
    json_t *conf = json_object_get(channel, "configuration"), *j;
    const char *type = sl_json_get_str(channel, "type");
    char *text = NULL, *out;

    if (type != NULL && strcmp(type, "slack") == 0) {
        /* As POST /notifications/send writes it: the subject in bold. */
        char *s = slack_escape(subject), *m = slack_escape(message);
        int rc = s == NULL || m == NULL
                     ? -1
                     : (*s != '\0' ? asprintf(&text, "*%s*\n%s", s, m)
                                   : asprintf(&text, "%s", m));

        free(s);
        free(m);
        if (rc < 0)
            return NULL;
        j = json_pack("{s:s}", "text", text);
        free(text);
        if (j == NULL)
            return NULL;
        static const char *const extra[] = {"channel", "username", "icon_emoji",
                                            "icon_url"};
        for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
            const char *v = sl_json_get_str(conf, extra[i]);

            if (v != NULL && *v != '\0')
                json_object_set_new(j, extra[i], json_string(v));
        }
    } else {
        j = event_as(event, sent_type);
        if (j == NULL)
            return NULL;
        json_object_set_new(j, "alert",
                            json_pack("{s:O?, s:O?, s:s, s:s}", "id",
                                      json_object_get(rule, "id"), "name",
                                      json_object_get(rule, "name"), "subject",
                                      subject, "message", message));
    }
    out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

int
hub_deliver_rows(json_t *rows, const char *tenant, json_t *event,
                 json_int_t seq, json_t *endpoints)
{
    const char *event_id = sl_json_get_str(event, "event_id");
    const char *type = sl_json_get_str(event, "event_type");
    bool exhausted = strcmp(type, EXHAUSTED_EVENT) == 0;
    const char *from_webhook =
        exhausted
            ? sl_json_get_str(json_object_get(event, "data"), "webhook_id")
            : NULL;
    const char *from_channel =
        exhausted
            ? sl_json_get_str(json_object_get(event, "data"), "channel_id")
            : NULL;
    json_t *w, *a, *name, *c;
    size_t i, j;
    int rc;

    json_array_foreach(json_object_get(endpoints, "webhooks"), i, w)
    {
        const char *wid = sl_json_get_str(w, "id"), *chosen = NULL;
        json_t *copy;

        /* An endpoint's own exhaustion is never sent to it. */
        if (wid == NULL ||
            (from_webhook != NULL && strcmp(from_webhook, wid) == 0))
            continue;
        json_array_foreach(json_object_get(w, "events"), j, name)
        {
            if (json_is_string(name) &&
                sl_event_matches(json_string_value(name), type)) {
                chosen = json_string_value(name);
                break;
            }
        }
        if (chosen == NULL)
            continue;
        if (strcmp(chosen, "*") == 0)
            chosen = type;
        copy = event_as(event, chosen);
        rc = add_row(rows, tenant, event_id, chosen, seq, wid, NULL, NULL,
                     copy == NULL ? NULL : json_dumps(copy, JSON_COMPACT));
        json_decref(copy);
        if (rc != SL_OK)
            return rc;
    }
    json_array_foreach(json_object_get(endpoints, "alerts"), i, a)
    {
        json_t *cond = json_object_get(a, "condition"),
               *tmpl = json_object_get(a, "template");
        const char *want = sl_json_get_str(cond, "event_type");
        const char *aid = sl_json_get_str(a, "id"), *sent;
        char *subject, *message;

        if (aid == NULL || want == NULL || !sl_event_matches(want, type) ||
            !filters_match(json_object_get(cond, "filters"), event))
            continue;
        sent = strcmp(want, "*") == 0 ? type : want;
        subject = render(tmpl, "subject",
                         sl_json_get_str(a, "name") != NULL
                             ? sl_json_get_str(a, "name")
                             : "{{event_type}}",
                         event);
        message =
            render(tmpl, "body", "{{event_type}} at {{timestamp}}", event);
        rc = subject == NULL || message == NULL ? SL_ENOMEM : SL_OK;
        json_array_foreach(json_object_get(a, "channels"), j, c)
        {
            const char *cid = sl_json_get_str(c, "id");

            if (rc != SL_OK || cid == NULL ||
                (from_channel != NULL && strcmp(from_channel, cid) == 0))
                continue;
            rc = add_row(rows, tenant, event_id, sent, seq, NULL, aid, cid,
                         alert_body(a, c, event, sent, subject, message));
        }
        free(subject);
        free(message);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}
