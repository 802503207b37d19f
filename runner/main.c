/*
 * main.c: sluice-runner, the engine that executes runs.
 *
 *   sluice-runner [-c FILE] [--pid-file FILE] [--check-config]
 *
 * This first version is the daemon's frame: it connects to PostgreSQL and
 * NATS (and keeps trying while either is down), makes sure the JetStream
 * streams exist, answers liveness requests on sluice.ping.runner, and on
 * SIGTERM or SIGINT closes its connections and exits. Consuming the work
 * queue comes with the run engine.
 */
#include "config.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "clock.h"
#include "daemon.h"
#include "db.h"
#include "err.h"
#include "json.h"

/* How often the runner checks its connections, in seconds. */
#define RUN_TICK 2

struct run_ctx {
    struct sl_daemon d;
    struct sl_db db;
    struct sl_bus bus;
    natsSubscription *ping;
    atomic_bool db_ok;
    atomic_bool streams_ok;
    char instance[160];
    int64_t started_at;
};

/* Answers sluice.ping.runner; runs on a NATS thread. */
static void
on_ping(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct run_ctx *ctx = closure;
    bool db_ok = atomic_load(&ctx->db_ok);
    json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:I}", "status",
                          db_ok ? "healthy" : "degraded", "instance",
                          ctx->instance, "database", db_ok, "streams",
                          atomic_load(&ctx->streams_ok), "uptime_seconds",
                          (json_int_t)(sl_clock_now() - ctx->started_at));
    char *text;

    (void)nc;
    (void)sub;
    if (!db_ok)
        json_object_set_new(j, "error", json_string("database unreachable"));
    text = json_dumps(j, JSON_COMPACT);
    if (text != NULL)
        sl_bus_reply(&ctx->bus, msg, text, strlen(text));
    free(text);
    json_decref(j);
    natsMsg_Destroy(msg);
}

/* Checks the database and the streams; called every RUN_TICK seconds. */
static void
tick(struct run_ctx *ctx)
{
    double ms;
    bool ok = sl_db_ping(&ctx->db, &ms) == SL_OK;

    if (ok != atomic_load(&ctx->db_ok))
        sl_log(&ctx->d.log, ok ? SL_LOG_INFO : SL_LOG_WARN, "database %s",
               ok ? "reachable" : "unreachable");
    atomic_store(&ctx->db_ok, ok);
    if (!atomic_load(&ctx->streams_ok) && sl_bus_connected(&ctx->bus) &&
        sl_bus_ensure_streams(&ctx->bus) == SL_OK)
        atomic_store(&ctx->streams_ok, true);
}

int
main(int argc, char **argv)
{
    struct run_ctx ctx;
    struct timespec wait = {RUN_TICK, 0};
    sigset_t set;
    int rc, sig;

    memset(&ctx, 0, sizeof(ctx));
    rc = sl_daemon_start(&ctx.d, "runner", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    if (ctx.d.check_only) {
        sl_daemon_checked(&ctx.d);
        return 0;
    }
    /* Block the signals before NATS starts its threads, which inherit the
     * mask: only the main thread takes them, with sigtimedwait(). */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ctx.started_at = sl_clock_now();
    sl_daemon_instance(ctx.instance, sizeof(ctx.instance));
    if (sl_db_init(&ctx.db, ctx.d.conf.db_url, "sluice-runner",
                   ctx.d.conf.db_statement_timeout_ms, NULL, 0,
                   &ctx.d.log) != SL_OK)
        return 1;
    if (sl_bus_connect(&ctx.bus, ctx.d.conf.nats_url, "sluice-runner",
                       &ctx.d.log) != SL_OK)
        return 1;
    if (sl_bus_subscribe(&ctx.bus, SL_SUBJ_PING_RUNNER, "runners", on_ping,
                         &ctx, &ctx.ping) != SL_OK) {
        sl_log_error(&ctx.d.log, "cannot subscribe to %s", SL_SUBJ_PING_RUNNER);
        return 1;
    }
    sl_daemon_write_pid(&ctx.d);
    tick(&ctx);
    sl_log_info(&ctx.d.log, "sluice-runner %s started as %s", PACKAGE_VERSION,
                ctx.instance);

    for (;;) {
        sig = sigtimedwait(&set, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        tick(&ctx);
    }

    sl_log_info(&ctx.d.log, "signal %d: stopping", sig);
    natsSubscription_Unsubscribe(ctx.ping);
    natsSubscription_Destroy(ctx.ping);
    sl_bus_close(&ctx.bus);
    sl_db_free(&ctx.db);
    sl_bus_shutdown();
    sl_log_info(&ctx.d.log, "stopped");
    sl_daemon_stop(&ctx.d);
    return 0;
}
