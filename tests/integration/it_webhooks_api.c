/*
 * it_webhooks_api.c: the REST half of webhooks and notifications, as a
 * user follows it: register a webhook (its secret shown once, then
 * masked), rotate its secret, send it a test event and redeliver it under
 * the same webhook-id, read its deliveries; make a Slack channel, alert
 * rules on it, and send to it now (the delivery row carries Slack's
 * body); the CRUD events a pipeline's life writes to the outbox; and
 * what is refused: unknown events, unbalanced templates, unknown
 * channels, another organisation's webhooks, a loopback URL when the
 * operator does not allow it.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

#define HOOK_URL "http://127.0.0.1:9/hook"

/* Registers a webhook for events (taken); the answer in *r (201). */
static void
create_webhook(struct it_client *c, const char *token, json_t *events,
               struct it_resp *r)
{
    it_call(c, "POST", "/api/v1/webhooks", token,
            json_pack("{s:s, s:o}", "webhook_url", HOOK_URL, "events", events),
            r);
    it_assert_status(r, 201);
}

static char *
webhook(struct it_client *c, const char *token)
{
    struct it_resp r;
    char *id;

    create_webhook(c, token, json_pack("[s]", "pipeline.completed"), &r);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* A path, formatted, in static storage valid until the next call. */
static char *__attribute__((format(printf, 1, 2))) path(const char *fmt, ...)
{
    static char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

START_TEST(secret_shown_once_then_masked)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token = NULL, *id, *secret, *sealed;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    create_webhook(&c, token,
                   json_pack("[s, s, s]", "pipeline.completed",
                             "pipeline.execution.failed", "pii.detected"),
                   &r);
    ck_assert_str_eq(it_str(&r, "webhook_url"), HOOK_URL);
    ck_assert_int_eq(json_array_size(it_at(&r, "events")), 3);
    secret = strdup(it_str(&r, "secret"));
    /* whsec_ and base64 of 24 bytes */
    ck_assert_int_eq(strncmp(secret, "whsec_", 6), 0);
    ck_assert_int_eq(strlen(secret), 6 + 32);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);

    /* Stored sealed, never in clear. */
    sealed =
        it_owner_value("SELECT secret FROM webhooks WHERE id = $1", id, NULL);
    ck_assert_int_eq(strncmp(sealed, "v1.", 3), 0);
    ck_assert_ptr_null(strstr(sealed, secret + 6));
    free(sealed);

    it_get(&c, path("/api/v1/webhooks/%s", id), token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "secret"), "********");
    ck_assert_ptr_null(strstr(r.body, secret));
    it_resp_free(&r);
    it_get(&c, "/api/v1/webhooks", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.secret"), "********");
    ck_assert_ptr_null(strstr(r.body, secret));
    it_resp_free(&r);

    /* Seed 001's url, and a secret of the client's own. */
    it_call(&c, "POST", "/api/v1/webhooks", token,
            json_pack("{s:s, s:[s], s:s, s:s}", "url", HOOK_URL, "events",
                      "pipeline.created", "secret", "your_webhook_secret",
                      "description", "mine"),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "secret"), "your_webhook_secret");
    it_resp_free(&r);

    /* Update: events, enabled, description; the secret is not changed
     * here. */
    it_call(&c, "PATCH", path("/api/v1/webhooks/%s", id), token,
            json_pack("{s:[s], s:b, s:s}", "events", "*", "enabled", 0,
                      "description", "all of them"),
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "events.0"), "*");
    ck_assert(json_is_false(it_at(&r, "enabled")));
    ck_assert_str_eq(it_str(&r, "description"), "all of them");
    ck_assert_str_eq(it_str(&r, "secret"), "********");
    it_resp_free(&r);
    it_call(&c, "PUT", path("/api/v1/webhooks/%s", id), token,
            json_pack("{s:s}", "secret", "another_secret_here"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "secret");
    it_resp_free(&r);

    it_call(&c, "DELETE", path("/api/v1/webhooks/%s", id), token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(&c, path("/api/v1/webhooks/%s", id), token, &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    free(secret);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(rotation_keeps_the_previous_secret_a_day)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, *old_sealed, *v;
    char first[128];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    create_webhook(&c, token, json_pack("[s]", "pipeline.failed"), &r);
    id = strdup(it_str(&r, "id"));
    snprintf(first, sizeof(first), "%s", it_str(&r, "secret"));
    it_resp_free(&r);
    old_sealed =
        it_owner_value("SELECT secret FROM webhooks WHERE id = $1", id, NULL);

    it_call(&c, "POST", path("/api/v1/webhooks/%s/rotate-secret", id), token,
            NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(strncmp(it_str(&r, "secret"), "whsec_", 6), 0);
    ck_assert_str_ne(it_str(&r, "secret"), first);
    ck_assert_ptr_nonnull(it_str(&r, "previous_secret_expires_at"));
    it_resp_free(&r);
    v = it_owner_value("SELECT secret_previous = $2 AND secret <> $2 AND "
                       "secret_previous_until BETWEEN now() + interval "
                       "'23 hours' AND now() + interval '25 hours' "
                       "FROM webhooks WHERE id = $1",
                       id, old_sealed);
    ck_assert_str_eq(v, "t");
    free(v);

    /* A given secret; a malformed whsec_ one is refused. */
    it_call(
        &c, "POST", path("/api/v1/webhooks/%s/rotate-secret", id), token,
        json_pack("{s:s}", "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "secret"),
                     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    it_resp_free(&r);
    it_call(&c, "POST", path("/api/v1/webhooks/%s/rotate-secret", id), token,
            json_pack("{s:s}", "secret", "whsec_not*base64!!"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    free(old_sealed);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(refused_registrations)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    /* An unknown event, named. */
    it_call(&c, "POST", "/api/v1/webhooks", token,
            json_pack("{s:s, s:[s, s]}", "webhook_url", HOOK_URL, "events",
                      "pipeline.completed", "pipeline.exploded"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "events[1]");
    ck_assert_ptr_nonnull(
        strstr(it_str(&r, "error.message"), "pipeline.exploded"));
    it_resp_free(&r);
    /* No events. */
    it_call(&c, "POST", "/api/v1/webhooks", token,
            json_pack("{s:s, s:[]}", "webhook_url", HOOK_URL, "events"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "events");
    it_resp_free(&r);
    /* Not http(s); a user name in the URL; a host that does not
     * resolve. */
    {
        static const char *const bad[] = {
            "ftp://example.com/x", "http://user:pw@127.0.0.1/x",
            "http://no-such-host.invalid/hook", "http://127.0.0.1:99999/",
            "http:///nohost"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            it_call(&c, "POST", "/api/v1/webhooks", token,
                    json_pack("{s:s, s:[s]}", "webhook_url", bad[i], "events",
                              "pipeline.completed"),
                    &r);
            it_assert_error(&r, 422, "VALIDATION_ERROR");
            ck_assert_msg(
                strcmp(it_str(&r, "error.details.field"), "webhook_url") == 0,
                "%s: %s", bad[i], r.body);
            it_resp_free(&r);
        }
    }
    it_get(&c, "/api/v1/webhooks/events", token, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"pipeline.execution.completed\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"quality.check_failed\""));
    it_resp_free(&r);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(another_org_sees_nothing)
{
    struct it_client c;
    struct it_resp r;
    char *admin_a, *org_a, *a, *admin_b, *org_b, *b, *id, *viewer;

    it_client_init(&c);
    a = it_new_org(&c, &admin_a, &org_a);
    b = it_new_org(&c, &admin_b, &org_b);
    id = webhook(&c, a);

    it_get(&c, path("/api/v1/webhooks/%s", id), b, &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "PATCH", path("/api/v1/webhooks/%s", id), b,
            json_pack("{s:b}", "enabled", 0), &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "POST", path("/api/v1/webhooks/%s/rotate-secret", id), b, NULL,
            &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "POST", path("/api/v1/webhooks/%s/test", id), b, NULL, &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, path("/api/v1/webhooks/%s/deliveries", id), b, &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "DELETE", path("/api/v1/webhooks/%s", id), b, NULL, &r);
    it_assert_error(&r, 404, "WEBHOOK_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/webhooks", b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    /* Still there, unchanged, for its own organisation. */
    it_get(&c, path("/api/v1/webhooks/%s", id), a, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "enabled")));
    it_resp_free(&r);

    /* A viewer reads, and may not write. */
    viewer = it_member(&c, a, "viewer");
    it_get(&c, "/api/v1/webhooks", viewer, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/webhooks", viewer,
            json_pack("{s:s, s:[s]}", "webhook_url", HOOK_URL, "events",
                      "pipeline.completed"),
            &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    free(viewer);
    free(id);
    free(a);
    free(b);
    free(admin_a);
    free(admin_b);
    free(org_a);
    free(org_b);
}
END_TEST

START_TEST(test_event_deliveries_and_redelivery)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, *did, *msg, *v;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    id = webhook(&c, token);
    /* The rows are set by hand below "as a hub would leave them": no hub
     * may send them meanwhile (it_deliver tests what a hub does). */
    it_stack("stop", "hub");

    it_call(&c, "POST", path("/api/v1/webhooks/%s/test", id), token, NULL, &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "status"), "pending");
    ck_assert_str_eq(it_str(&r, "event_type"), "webhook.test");
    ck_assert_str_eq(it_str(&r, "webhook_id"), id);
    ck_assert_int_eq(strncmp(it_str(&r, "msg_id"), "msg_", 4), 0);
    did = strdup(it_str(&r, "id"));
    msg = strdup(it_str(&r, "msg_id"));
    it_resp_free(&r);

    /* The row's body is the event as it will be sent. */
    v = it_owner_value("SELECT body::jsonb->>'event_type' || ' ' || "
                       "(body::jsonb->>'event_id' = event_id) || ' ' || "
                       "(body::jsonb->>'organization_id') || ' ' || "
                       "(body::jsonb->'data'->>'webhook_id') "
                       "FROM deliveries WHERE id = $1",
                       did, NULL);
    {
        char want[256];

        snprintf(want, sizeof(want), "webhook.test true %s %s", org, id);
        ck_assert_str_eq(v, want);
    }
    free(v);

    /* As a hub would leave it after giving up. */
    it_owner_sql("UPDATE deliveries SET status = 'exhausted', attempts = 8, "
                 "last_status_code = 503, last_latency_ms = 12, "
                 "last_error = 'HTTP 503' WHERE id = $1",
                 did);
    it_owner_sql("INSERT INTO delivery_attempts (tenant_id, delivery_id, "
                 "attempt, latency_ms, status_code, error) SELECT tenant_id, "
                 "id, 1, 12, 503, 'HTTP 503' FROM deliveries WHERE id = $1",
                 did);

    it_get(&c, path("/api/v1/webhooks/%s/deliveries?status=exhausted", id),
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.id"), did);
    ck_assert_int_eq(it_int(&r, "items.0.response_code"), 503);
    ck_assert_int_eq(it_int(&r, "items.0.attempts"), 8);
    ck_assert_int_eq(it_int(&r, "items.0.latency_ms"), 12);
    it_resp_free(&r);
    it_get(&c, path("/api/v1/webhooks/%s/deliveries?status=succeeded", id),
           token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, path("/api/v1/webhooks/%s/deliveries?status=bogus", id), token,
           &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);

    it_get(&c, path("/api/v1/webhooks/%s/deliveries/%s", id, did), token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "attempt_history")), 1);
    ck_assert_int_eq(it_int(&r, "attempt_history.0.response_code"), 503);
    ck_assert_str_eq(it_str(&r, "payload.event_type"), "webhook.test");
    it_resp_free(&r);

    /* Redelivered: pending again, due now, the same webhook-id. */
    it_call(&c, "POST",
            path("/api/v1/webhooks/%s/deliveries/%s/redeliver", id, did), token,
            NULL, &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "status"), "pending");
    ck_assert_str_eq(it_str(&r, "msg_id"), msg);
    it_resp_free(&r);
    v = it_owner_value("SELECT msg_id = $2 AND next_attempt_at <= now() "
                       "FROM deliveries WHERE id = $1",
                       did, msg);
    ck_assert_str_eq(v, "t");
    free(v);

    /* Another webhook's delivery path finds nothing. */
    {
        char *other = webhook(&c, token);

        it_get(&c, path("/api/v1/webhooks/%s/deliveries/%s", other, did), token,
               &r);
        it_assert_error(&r, 404, "DELIVERY_NOT_FOUND");
        it_resp_free(&r);
        it_call(&c, "POST",
                path("/api/v1/webhooks/%s/deliveries/%s/redeliver", other, did),
                token, NULL, &r);
        it_assert_error(&r, 404, "DELIVERY_NOT_FOUND");
        it_resp_free(&r);
        free(other);
    }
    it_stack("start", "hub");
    free(msg);
    free(did);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* Makes a channel of type with configuration (taken); returns its id. */
static char *
channel(struct it_client *c, const char *token, const char *name,
        const char *type, json_t *configuration)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/notifications/channels", token,
            json_pack("{s:s, s:s, s:o, s:b}", "name", name, "type", type,
                      "configuration", configuration, "enabled", 1),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "configuration.webhook_url"), "********");
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

START_TEST(channels_and_alert_rules)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *ch, *alert, *v;
    const char *unknown = "0190f0e0-0000-7000-8000-000000000000";

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    ch = channel(&c, token, "Team Slack Channel", "slack",
                 json_pack("{s:s, s:s, s:s}", "webhook_url",
                           "http://127.0.0.1:9/services/T0/B0/XYZ", "channel",
                           "#data-team", "username", "DataBot"));
    v = it_owner_value("SELECT (secret LIKE 'v1.%') AND position('XYZ' IN "
                       "secret) = 0 AND configuration->>'channel' = "
                       "'#data-team' AND NOT configuration ? 'webhook_url' "
                       "FROM notification_channels WHERE id = $1",
                       ch, NULL);
    ck_assert_str_eq(v, "t");
    free(v);
    it_get(&c, path("/api/v1/notifications/channels/%s", ch), token, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_null(strstr(r.body, "XYZ"));
    ck_assert_str_eq(it_str(&r, "configuration.username"), "DataBot");
    it_resp_free(&r);

    /* An unknown channel, by UUID and by seed 001's example id. */
    it_call(&c, "POST", "/api/v1/notifications/alerts", token,
            json_pack("{s:s, s:{s:s}, s:[s, s]}", "name", "x", "condition",
                      "event_type", "pipeline.execution.failed", "channels", ch,
                      unknown),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "channels[1]");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.message"), unknown));
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/notifications/alerts", token,
            json_pack("{s:s, s:{s:s}, s:[s]}", "name", "x", "condition",
                      "event_type", "pipeline.execution.failed", "channels",
                      "channel_123"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.message"), "channel_123"));
    it_resp_free(&r);
    /* An unbalanced template. */
    it_call(&c, "POST", "/api/v1/notifications/alerts", token,
            json_pack("{s:s, s:{s:s}, s:[s], s:{s:s, s:s}}", "name", "x",
                      "condition", "event_type", "pipeline.execution.failed",
                      "channels", ch, "template", "subject",
                      "Pipeline Failure: {{pipeline_name", "body", "fine"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "template.subject");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.message"), "not closed"));
    it_resp_free(&r);
    /* An unknown event. */
    it_call(&c, "POST", "/api/v1/notifications/alerts", token,
            json_pack("{s:s, s:{s:s}, s:[s]}", "name", "x", "condition",
                      "event_type", "pipeline.imploded", "channels", ch),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "condition.event_type");
    it_resp_free(&r);

    /* Seed 001's own example. */
    it_call(&c, "POST", "/api/v1/notifications/alerts", token,
            json_pack("{s:s, s:s, s:{s:s, s:{s:[s, s]}}, s:[s], s:{s:s, s:s}, "
                      "s:b}",
                      "name", "Pipeline Failure Alert", "description",
                      "Alert when any pipeline fails", "condition",
                      "event_type", "pipeline.execution.failed", "filters",
                      "severity", "critical", "high", "channels", ch,
                      "template", "subject",
                      "Pipeline Failure: {{pipeline_name}}", "body",
                      "Pipeline {{pipeline_name}} failed at {{timestamp}}. "
                      "Error: {{error_message}}",
                      "enabled", 1),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "channels.0"), ch);
    ck_assert_str_eq(it_str(&r, "condition.filters.severity.1"), "high");
    alert = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    it_call(&c, "PATCH", path("/api/v1/notifications/alerts/%s", alert), token,
            json_pack("{s:b}", "enabled", 0), &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_false(it_at(&r, "enabled")));
    ck_assert_str_eq(it_str(&r, "template.subject"),
                     "Pipeline Failure: {{pipeline_name}}");
    it_resp_free(&r);
    it_get(&c, "/api/v1/notifications/alerts", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    it_resp_free(&r);

    /* A channel in use is not deleted. */
    it_call(&c, "DELETE", path("/api/v1/notifications/channels/%s", ch), token,
            NULL, &r);
    it_assert_error(&r, 409, "CHANNEL_IN_USE");
    it_resp_free(&r);
    it_call(&c, "DELETE", path("/api/v1/notifications/alerts/%s", alert), token,
            NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_call(&c, "DELETE", path("/api/v1/notifications/channels/%s", ch), token,
            NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(&c, path("/api/v1/notifications/channels/%s", ch), token, &r);
    it_assert_error(&r, 404, "CHANNEL_NOT_FOUND");
    it_resp_free(&r);
    free(alert);
    free(ch);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(send_writes_slack_body)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *slack, *hook, *did, *v;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    slack = channel(&c, token, "slack", "slack",
                    json_pack("{s:s, s:s, s:s}", "webhook_url",
                              "http://127.0.0.1:9/services/T0/B0/XYZ",
                              "channel", "#data-team", "username", "DataBot"));
    hook = channel(&c, token, "hook", "webhook",
                   json_pack("{s:s, s:s}", "webhook_url",
                             "http://127.0.0.1:9/notify", "secret",
                             "channel-secret-1"));

    it_call(&c, "POST", "/api/v1/notifications/send", token,
            json_pack("{s:s, s:s, s:s, s:s}", "channel_id", slack, "subject",
                      "Test <Notification>", "message", "This is a test & more",
                      "priority", "high"),
            &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "channel_id"), slack);
    ck_assert_str_eq(it_str(&r, "status"), "pending");
    did = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    v = it_owner_value("SELECT body::jsonb->>'text' FROM deliveries "
                       "WHERE id = $1 AND webhook_id IS NULL AND alert_id IS "
                       "NULL AND event_type = 'notification.sent'",
                       did, NULL);
    ck_assert_str_eq(v, "*Test &lt;Notification&gt;*\nThis is a test &amp; "
                        "more");
    free(v);
    v = it_owner_value("SELECT (body::jsonb->>'channel') || ' ' || "
                       "(body::jsonb->>'username') || ' ' || "
                       "(body::jsonb ? 'event_id')::text "
                       "FROM deliveries WHERE id = $1",
                       did, NULL);
    ck_assert_str_eq(v, "#data-team DataBot false");
    free(v);
    free(did);

    /* A webhook channel gets a notification.sent event. */
    it_call(&c, "POST", "/api/v1/notifications/send", token,
            json_pack("{s:s, s:s}", "channel_id", hook, "message", "hello"),
            &r);
    it_assert_status(&r, 202);
    did = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    v = it_owner_value("SELECT (body::jsonb->>'event_type') || ' ' || "
                       "(body::jsonb->'data'->>'priority') || ' ' || "
                       "(body::jsonb->'data'->>'message') "
                       "FROM deliveries WHERE id = $1",
                       did, NULL);
    ck_assert_str_eq(v, "notification.sent medium hello");
    free(v);
    free(did);

    /* Refused: an unknown channel, a bad priority, no message. */
    it_call(&c, "POST", "/api/v1/notifications/send", token,
            json_pack("{s:s, s:s}", "channel_id",
                      "0190f0e0-0000-7000-8000-000000000000", "message", "x"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "channel_id");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/notifications/send", token,
            json_pack("{s:s, s:s, s:s}", "channel_id", slack, "message", "x",
                      "priority", "urgent!"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "priority");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/notifications/send", token,
            json_pack("{s:s}", "channel_id", slack), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "message");
    it_resp_free(&r);
    free(slack);
    free(hook);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* How many outbox rows of organisation $1 are type events of pipeline
 * $2, on the events stream's subject, in the webhook payload's form. */
static void
outbox_query(char *sql, size_t n, const char *type)
{
    snprintf(sql, n,
             "SELECT count(*) FROM outbox WHERE tenant_id = $1 "
             "AND subject = 'sluice.event.' || $1 || '.%s' "
             "AND payload->>'event_type' = '%s' "
             "AND payload->>'organization_id' = $1 "
             "AND payload->>'event_id' LIKE 'evt_%%' "
             "AND payload->'data'->>'pipeline_id' = $2 "
             "AND payload->'data'->>'pipeline_name' IS NOT NULL",
             type, type);
}

START_TEST(pipeline_changes_write_events_to_the_outbox)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *pid, *v;
    json_t *g = it_graph();
    char sql[600];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    pid = it_pipeline(&c, token, json_incref(json_object_get(g, "nodes")),
                      json_incref(json_object_get(g, "edges")));
    json_decref(g);
    outbox_query(sql, sizeof(sql), "pipeline.created");
    v = it_owner_value(sql, org, pid);
    ck_assert_str_eq(v, "1");
    free(v);

    it_call(&c, "PATCH", path("/api/v1/pipelines/%s", pid), token,
            json_pack("{s:s}", "description", "changed"), &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    outbox_query(sql, sizeof(sql), "pipeline.updated");
    v = it_owner_value(sql, org, pid);
    ck_assert_str_eq(v, "1");
    free(v);

    it_call(&c, "DELETE", path("/api/v1/pipelines/%s", pid), token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    outbox_query(sql, sizeof(sql), "pipeline.deleted");
    v = it_owner_value(sql, org, pid);
    ck_assert_str_eq(v, "1");
    free(v);
    /* Published by the API after commit (NATS is up), so marked sent. */
    it_await_sql(
        "SELECT bool_and(sent_at IS NOT NULL) FROM outbox "
        "WHERE tenant_id = $1 AND payload->'data'->>'pipeline_id' = $2",
        org, pid, "t", 10);
    free(pid);

    /* A connector whose test fails: connector.connection.failed. */
    it_call(&c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s, s:s}}", "name",
                      "closed-port", "type", "postgresql", "configuration",
                      "host", "127.0.0.1", "port", 9, "database", "x",
                      "username", "u", "password", "p-assword-1", "ssl_mode",
                      "disable"),
            &r);
    it_assert_status(&r, 201);
    pid = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    v = it_owner_value("SELECT count(*) FROM outbox WHERE tenant_id = $1 AND "
                       "payload->'data'->>'connector_id' = $2",
                       org, pid);
    ck_assert_str_eq(v, "0");
    free(v);
    it_call(&c, "POST", path("/api/v1/connectors/%s/test", pid), token, NULL,
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "failed");
    it_resp_free(&r);
    v = it_owner_value(
        "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND subject = "
        "'sluice.event.' || $1 || '.connector.connection.failed' AND "
        "payload->'data'->>'connector_id' = $2 AND "
        "payload->'data'->>'connector_name' = 'closed-port' AND "
        "payload->'data'->>'error_message' <> ''",
        org, pid);
    ck_assert_str_eq(v, "1");
    free(v);
    free(pid);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* --- the operator's webhook_allow_private = false ------------------------ */

static pid_t strict_api;

/* Replaces the stack's API with one whose configuration refuses private
 * addresses, on the same socket. */
static void
start_strict_api(void)
{
    const char *var = it_env("SLUICE_TEST_VAR");
    char pidfile[512];
    double end = it_now() + 15;
    FILE *f;

    it_stack("stop", "api");
    ck_assert_int_eq(
        it_sh("sed 's/^webhook_allow_private = .*/webhook_allow_private = "
              "false/' '%s' >'%s/api-strict.conf' && grep -q "
              "'^webhook_allow_private = false' '%s/api-strict.conf'",
              it_env("SLUICE_TEST_CONF"), var, var),
        0);
    /* The stack's own pid file: should the test die before it stops
     * this API, the harness's teardown does. */
    snprintf(pidfile, sizeof(pidfile), "%s/run/api.pid", var);
    unlink(pidfile);
    ck_assert_int_eq(
        it_sh("cd / && setsid '%s' -c '%s/api-strict.conf' "
              "--pid-file '%s' </dev/null >>'%s/log/api-strict.log' "
              "2>&1 &",
              it_env("SLUICE_TEST_API_BIN"), var, pidfile, var),
        0);
    for (;;) {
        long pid = 0;

        f = fopen(pidfile, "r");
        if (f != NULL) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid > 0) {
            strict_api = (pid_t)pid;
            break;
        }
        ck_assert_msg(it_now() < end, "the strict API did not start");
        usleep(50 * 1000);
    }
    usleep(300 * 1000);
}

static void
stop_strict_api(void)
{
    double end = it_now() + 15;

    if (strict_api > 0) {
        kill(strict_api, SIGTERM);
        while (kill(strict_api, 0) == 0 && it_now() < end)
            usleep(50 * 1000);
        strict_api = 0;
    }
    it_stack("start", "api");
}

START_TEST(loopback_refused_unless_allowed)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token;
    static const char *const forbidden[] = {
        "http://127.0.0.1:8080/hook", "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/", "https://10.1.2.3/x",
        "http://[::1]:9/hook"};

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    start_strict_api();
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        it_call(&c, "POST", "/api/v1/webhooks", token,
                json_pack("{s:s, s:[s]}", "webhook_url", forbidden[i], "events",
                          "pipeline.completed"),
                &r);
        if (r.status != 422 || it_str(&r, "error.code") == NULL ||
            strcmp(it_str(&r, "error.code"), "WEBHOOK_URL_FORBIDDEN") != 0)
            stop_strict_api();
        it_assert_error(&r, 422, "WEBHOOK_URL_FORBIDDEN");
        ck_assert_str_eq(it_str(&r, "error.details.field"), "webhook_url");
        ck_assert_ptr_nonnull(
            strstr(it_str(&r, "error.message"), "webhook_allow_private"));
        it_resp_free(&r);
    }
    it_call(&c, "POST", "/api/v1/notifications/channels", token,
            json_pack("{s:s, s:s, s:{s:s}}", "name", "meta", "type", "slack",
                      "configuration", "webhook_url",
                      "http://169.254.169.254/hook"),
            &r);
    stop_strict_api();
    it_assert_error(&r, 422, "WEBHOOK_URL_FORBIDDEN");
    ck_assert_str_eq(it_str(&r, "error.details.field"),
                     "configuration.webhook_url");
    it_resp_free(&r);

    /* The stack's own API (webhook_allow_private = true) takes it. */
    it_call(&c, "POST", "/api/v1/webhooks", token,
            json_pack("{s:s, s:[s]}", "webhook_url", forbidden[0], "events",
                      "pipeline.completed"),
            &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
webhooks_api_suite(void)
{
    Suite *s = suite_create("it_webhooks_api");
    TCase *tc = tcase_create("webhooks_api");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, secret_shown_once_then_masked);
    tcase_add_test(tc, rotation_keeps_the_previous_secret_a_day);
    tcase_add_test(tc, refused_registrations);
    tcase_add_test(tc, another_org_sees_nothing);
    tcase_add_test(tc, test_event_deliveries_and_redelivery);
    tcase_add_test(tc, channels_and_alert_rules);
    tcase_add_test(tc, send_writes_slack_body);
    tcase_add_test(tc, pipeline_changes_write_events_to_the_outbox);
    tcase_add_test(tc, loopback_refused_unless_allowed);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(webhooks_api_suite)
