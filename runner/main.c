/*
 * main.c: sluice-runner, the engine that executes runs.
 *
 *   sluice-runner [-c FILE] [--pid-file FILE] [--check-config]
 *
 * It connects to PostgreSQL (as runner_db_url says: the runner's own
 * role, sql/016) and NATS (and keeps trying while either is down), makes
 * sure the JetStream streams exist, answers liveness requests
 * on sluice.ping.runner, executes runs on runner_concurrency threads
 * (worker.h), relays the outbox rows left unsent and requests again the
 * runs whose request NATS lost (relay.h), takes back the runs of runners
 * that stopped beating (sql/008_runner.sql), ends what runners left
 * prepared (commit.h), and fires the schedules that are due, one runner
 * at a time (scheduler.h). Its identity, the claimed_by of its runs, is
 * a random id made at start (two containers may share a hostname and a
 * pid); the log says it beside the hostname and pid. On
 * SIGTERM or SIGINT it lets the runs in hand finish, up to
 * runner_grace_seconds, hands back the rest, and exits.
 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "clock.h"
#include "commit.h"
#include "daemon.h"
#include "db.h"
#include "err.h"
#include "liveness.h"
#include "relay.h"
#include "scheduler.h"
#include "stmt.h"
#include "uuid.h"
#include "worker.h"

/* How often the runner checks its connections, in seconds. */
#define RUN_TICK 2

struct run_ctx {
    struct sl_daemon d;
    struct sl_db db;
    struct sl_bus bus;
    struct sl_liveness live;
    struct runner runner;
    char id[SL_UUID_LEN]; /* this runner's identity: claimed_by */
    bool streams_ok;
    bool relay_stalled;    /* JetStream failed the relay's last pass */
    bool role_checked;     /* the database role's rights were looked at */
    int64_t reconciled_us; /* when run_reconcile() last ran (monotonic) */
};

/* Takes back the runs of runners that stopped beating (any runner may). */
static void
sweep(struct run_ctx *ctx)
{
    PGresult *res = NULL;

    if (sl_db_exec(&ctx->db, RUN_ST_SWEEP, 0, NULL, &res) != SL_OK)
        return;
    for (int i = 0; i < PQntuples(res); i++)
        sl_log_warn(&ctx->d.log, "run %s: its runner stopped beating: %s",
                    PQgetvalue(res, i, 0), PQgetvalue(res, i, 2));
    PQclear(res);
}

/*
 * Says once, as an error, when the runner's database role may not claim
 * runs: a configuration without runner_db_url connects it as the
 * application's role, which may not since sql/016.
 */
static void
check_role(struct run_ctx *ctx)
{
    PGresult *res = NULL;

    if (ctx->role_checked ||
        sl_db_exec(&ctx->db, RUN_ST_MAY_CLAIM, 0, NULL, &res) != SL_OK)
        return;
    ctx->role_checked = true;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        sl_log_error(&ctx->d.log,
                     "the runner's database role %s may not claim runs nor "
                     "relay the outbox: set runner_db_url to a connection "
                     "as the runner's own role, sluice_runner "
                     "(docs/operator-guide.md)",
                     PQgetvalue(res, 0, 1));
    PQclear(res);
}

/*
 * Relays the outbox. When JetStream itself failed the pass (relay.h),
 * the streams are checked, and made again if they are missing, before
 * the next one; the log says when that starts and when it ends, once
 * each.
 */
static void
relay(struct run_ctx *ctx)
{
    int rc = run_relay(&ctx->db, &ctx->bus, &ctx->d.log);
    bool jetstream =
        sl_bus_connected(&ctx->bus) &&
        (rc == SL_ENOTFOUND || rc == SL_ETIMEDOUT || rc == SL_EBUS);

    if (jetstream) {
        ctx->streams_ok = false;
        if (!ctx->relay_stalled)
            sl_log_warn(&ctx->d.log,
                        "relay: JetStream does not take the outbox's "
                        "messages (%s); no row is charged for it, and the "
                        "streams are checked before the next try",
                        sl_strerror(rc));
        ctx->relay_stalled = true;
    } else if (rc >= 0 && ctx->relay_stalled) {
        sl_log_info(&ctx->d.log, "relay: JetStream takes messages again");
        ctx->relay_stalled = false;
    }
}

/*
 * Checks the database and the streams, takes back lost runs, fires what
 * is due and relays the outbox; every RUN_TICK seconds. Reconciles every
 * RUN_RECONCILE_EVERY seconds while NATS is up, whatever the relay did.
 */
static void
tick(struct run_ctx *ctx)
{
    sl_liveness_check(&ctx->live, &ctx->db);
    check_role(ctx);
    ctx->bus.events_max_age_s =
        (int64_t)ctx->d.conf.events_max_age_hours * 3600;
    ctx->bus.events_max_bytes = (int64_t)ctx->d.conf.events_max_mb << 20;
    if (!ctx->streams_ok && sl_bus_connected(&ctx->bus) &&
        sl_bus_ensure_streams(&ctx->bus) == SL_OK) {
        ctx->streams_ok = true;
        atomic_store(&ctx->runner.ready, true);
    }
    sweep(ctx);
    run_commit_sweep(&ctx->db, &ctx->d.conf, &ctx->d.log);
    if (ctx->d.conf.runner_scheduler)
        run_schedule(&ctx->db, &ctx->bus, &ctx->d.log);
    if (ctx->streams_ok)
        relay(ctx);
    if (ctx->streams_ok && sl_bus_connected(&ctx->bus) &&
        sl_clock_mono_us() - ctx->reconciled_us >=
            (int64_t)RUN_RECONCILE_EVERY * 1000000) {
        ctx->reconciled_us = sl_clock_mono_us();
        run_reconcile(&ctx->db, &ctx->d.log);
    }
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

    if (sl_db_init(&ctx.db, ctx.d.conf.runner_db_url, "sluice-runner",
                   ctx.d.conf.db_statement_timeout_ms, run_stmts, RUN_ST_COUNT_,
                   &ctx.d.log) != SL_OK ||
        sl_bus_connect(&ctx.bus, ctx.d.conf.nats_url, "sluice-runner",
                       &ctx.d.log) != SL_OK ||
        sl_liveness_start(&ctx.live, &ctx.bus, &ctx.d.log, SL_SUBJ_PING_RUNNER,
                          "runners", NULL, NULL) != SL_OK)
        return 1;
    if (sl_uuid_v4(ctx.id) != SL_OK) {
        sl_log_error(&ctx.d.log, "cannot make the runner's id");
        return 1;
    }
    if (run_workers_start(&ctx.runner, &ctx.d.conf, &ctx.d.log, &ctx.bus,
                          ctx.id) != SL_OK) {
        sl_log_error(&ctx.d.log, "cannot start the workers");
        return 1;
    }
    sl_daemon_write_pid(&ctx.d);
    tick(&ctx);
    sl_log_info(&ctx.d.log, "sluice-runner %s started as %s (%s)",
                PACKAGE_VERSION, ctx.id, ctx.live.instance);

    for (;;) {
        sig = sigtimedwait(&set, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        tick(&ctx);
    }

    sl_log_info(&ctx.d.log, "signal %d: stopping", sig);
    run_workers_stop(&ctx.runner, ctx.d.conf.runner_grace_seconds);
    sl_liveness_stop(&ctx.live);
    sl_bus_close(&ctx.bus);
    sl_db_free(&ctx.db);
    sl_bus_shutdown();
    sl_log_info(&ctx.d.log, "stopped");
    sl_daemon_stop(&ctx.d);
    return 0;
}
