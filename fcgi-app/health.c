/*
 * health.c: GET /health (liveness, touches nothing) and GET
 * /health/detailed (a round trip to each dependency).
 *
 * /health/detailed asks the database for SELECT 1, NATS for a round trip,
 * and the runner and the hub, over NATS request-reply, whether they are
 * alive; each answer carries its latency. It also shows the outbox as the
 * relay sees it (sql/013_relay.sql): rows waiting, retrying and parked,
 * and how long the oldest has waited. Without the database the API is
 * unhealthy (503); without anything else, or with a row parked or waiting
 * too long, it is degraded but serving (200).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "request.h"

/* The outbox is degraded when a row has waited longer than this, in
 * seconds (the relay takes rows two seconds old, every two seconds). */
#define OUTBOX_LAG_MAX_S 60

int
api_h_health(struct api_req *r)
{
    return api_reply(r, 200,
                     json_pack("{s:s, s:s, s:s, s:o}", "status", "healthy",
                               "service", "sluice", "version", API_VERSION,
                               "timestamp", sl_json_time(sl_clock_now())));
}

static json_t *
component(const char *status, double ms, const char *error)
{
    json_t *c = json_pack("{s:s, s:f}", "status", status, "latency_ms", ms);

    if (error != NULL)
        json_object_set_new(c, "error", json_string(error));
    return c;
}

/* Asks a daemon over NATS whether it is alive. */
static json_t *
ping_daemon(struct api_req *r, const char *subject, bool *ok)
{
    struct api_ctx *ctx = r->ctx;
    int64_t t0 = sl_clock_mono_us();
    char *reply = NULL;
    size_t n = 0;
    int rc = sl_bus_request(&ctx->bus, subject, "{}", 2,
                            ctx->conf->health_timeout_ms, &reply, &n);
    double ms = (double)(sl_clock_mono_us() - t0) / 1000.0;
    json_t *c, *body;
    const char *status;

    *ok = false;
    if (rc != SL_OK)
        return component("unhealthy", ms,
                         rc == SL_ETIMEDOUT ? "no instance answered"
                                            : "message bus unavailable");
    body = json_loadb(reply, n, 0, NULL);
    free(reply);
    status = sl_json_get_str(body, "status");
    if (status == NULL)
        status = "unhealthy";
    *ok = strcmp(status, "healthy") == 0;
    c = component(status, ms, NULL);
    /* Only the error: which host and process answered is not for
     * anonymous callers. */
    if (json_is_object(body) && json_object_get(body, "error") != NULL)
        json_object_set(c, "error", json_object_get(body, "error"));
    json_decref(body);
    return c;
}

/* The outbox's figures, across organisations; healthy when nothing is
 * parked and nothing has waited longer than OUTBOX_LAG_MAX_S. */
static json_t *
outbox_component(struct api_req *r, bool *ok)
{
    int64_t t0 = sl_clock_mono_us();
    PGresult *res;
    long long parked;
    double lag, ms;
    json_t *c;

    *ok = false;
    if (api_exec(r, ST_OUTBOX_STATS, 0, NULL, &res) != SL_OK)
        return component("unhealthy",
                         (double)(sl_clock_mono_us() - t0) / 1000.0,
                         "database unreachable");
    ms = (double)(sl_clock_mono_us() - t0) / 1000.0;
    parked = atoll(PQgetvalue(res, 0, 2));
    lag = atof(PQgetvalue(res, 0, 3));
    *ok = parked == 0 && lag <= OUTBOX_LAG_MAX_S;
    c = component(*ok ? "healthy" : "degraded", ms,
                  parked > 0 ? "rows are parked: see the operator guide"
                  : !*ok     ? "rows have waited over a minute"
                             : NULL);
    json_object_set_new(c, "unsent",
                        json_integer(atoll(PQgetvalue(res, 0, 0))));
    json_object_set_new(c, "retrying",
                        json_integer(atoll(PQgetvalue(res, 0, 1))));
    json_object_set_new(c, "parked", json_integer(parked));
    json_object_set_new(c, "lag_seconds", json_real(lag));
    return c;
}

int
api_h_health_detailed(struct api_req *r)
{
    struct api_ctx *ctx = r->ctx;
    json_t *components = json_object();
    double ms = 0;
    bool db_ok, nats_ok, runner_ok, hub_ok, outbox_ok = false;
    int64_t t0 = sl_clock_mono_us();
    const char *status;

    db_ok = sl_db_ping(&ctx->db, &ms) == SL_OK;
    if (!db_ok)
        ms = (double)(sl_clock_mono_us() - t0) / 1000.0;
    json_object_set_new(components, "database",
                        component(db_ok ? "healthy" : "unhealthy", ms,
                                  db_ok ? NULL : "database unreachable"));
    ms = 0;
    nats_ok = sl_bus_rtt(&ctx->bus, &ms) == SL_OK;
    json_object_set_new(components, "nats",
                        component(nats_ok ? "healthy" : "unhealthy", ms,
                                  nats_ok ? NULL : "not connected"));
    json_object_set_new(components, "runner",
                        ping_daemon(r, SL_SUBJ_PING_RUNNER, &runner_ok));
    json_object_set_new(components, "hub",
                        ping_daemon(r, SL_SUBJ_PING_HUB, &hub_ok));
    if (db_ok)
        json_object_set_new(components, "outbox",
                            outbox_component(r, &outbox_ok));

    status = !db_ok                                        ? "unhealthy"
             : nats_ok && runner_ok && hub_ok && outbox_ok ? "healthy"
                                                           : "degraded";
    return api_reply(r, db_ok ? 200 : 503,
                     json_pack("{s:s, s:o, s:s, s:o, s:I}", "status", status,
                               "components", components, "version", API_VERSION,
                               "timestamp", sl_json_time(sl_clock_now()),
                               "uptime_seconds",
                               (json_int_t)(sl_clock_now() - ctx->started_at)));
}
