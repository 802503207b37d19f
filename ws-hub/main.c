/*
 * main.c: sluice-hub, the live hub: WebSocket subscribers (behind nginx's
 * /ws/) and webhook deliveries.
 *
 *   sluice-hub [-c FILE] [--pid-file FILE] [--check-config]
 *
 * The daemon's frame: a libwebsockets server on hub_listen:hub_port whose
 * subscribers (conn.c) get the events of the live feed (feed.c) through
 * the subscriber index (index.c), after their snapshot or replay
 * (catchup.c); connections to PostgreSQL and NATS, kept while either
 * restarts; liveness answers on sluice.ping.hub; a clean stop on SIGTERM
 * or SIGINT. hub.h says which thread owns what.
 *
 * SIGHUP drops the live feed; the maintenance thread makes it again at
 * its next tick, from the event after the last one it saw (feed.c).
 *
 * Keepalive: libwebsockets pings a subscriber silent for hub_ping_seconds
 * and drops one silent for twice that (its retry-and-idle policy).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "bus.h"
#include "clock.h"
#include "daemon.h"
#include "db.h"
#include "deliver.h"
#include "err.h"
#include "hub.h"
#include "json.h"
#include "liveness.h"

#define HUB_TICK 2
/* Items (events, finished catch-ups) waiting for the loop at most. */
#define HUB_INBOX_MAX 65536

/* libwebsockets' own log lines go to stderr as JSON, like ours. */
static struct sl_logger *lws_logger;

static void
lws_log_emit(int level, const char *line)
{
    char msg[512];
    size_t n;

    if (lws_logger == NULL)
        return;
    snprintf(msg, sizeof(msg), "libwebsockets: %s", line);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sl_log(lws_logger, level == LLL_ERR ? SL_LOG_ERROR : SL_LOG_WARN, "%s",
           msg);
}

/* The hub's own fields in its liveness answers; runs on a NATS thread. */
static void
liveness_extra(json_t *answer, void *arg)
{
    struct hub_ctx *ctx = arg;

    json_object_set_new(answer, "clients",
                        json_integer(atomic_load(&ctx->clients)));
}

/* Takes signals and checks the database until told to stop. */
static void *
maintenance(void *arg)
{
    struct hub_ctx *ctx = arg;
    struct timespec wait = {HUB_TICK, 0};

    for (;;) {
        int sig = sigtimedwait(&ctx->signals, NULL, &wait);

        if (sig == SIGTERM || sig == SIGINT) {
            sl_log_info(&ctx->d.log, "signal %d: stopping", sig);
            break;
        }
        if (sig == SIGHUP) {
            /* The live feed is made again at the next tick, from the
             * event after the last one it saw. */
            sl_log_info(&ctx->d.log, "SIGHUP: making the live feed again");
            hub_feed_stop(ctx);
            continue;
        }
        sl_liveness_check(&ctx->live, &ctx->db);
        /* The live feed, once NATS and the events stream are there. */
        hub_feed_start(ctx);
    }
    atomic_store(&ctx->stop, true);
    lws_cancel_service(ctx->lws);
    return NULL;
}

int
main(int argc, char **argv)
{
    static struct hub_ctx ctx; /* large: the index's buckets */
    struct lws_context_creation_info info;
    lws_retry_bo_t keepalive;
    pthread_t thread;
    struct hub_deliver *deliver = NULL;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    rc = sl_daemon_start(&ctx.d, "hub", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    if (ctx.d.check_only) {
        sl_daemon_checked(&ctx.d);
        return 0;
    }
    sigemptyset(&ctx.signals);
    sigaddset(&ctx.signals, SIGTERM);
    sigaddset(&ctx.signals, SIGINT);
    sigaddset(&ctx.signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &ctx.signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    lws_logger = &ctx.d.log;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

    memset(&info, 0, sizeof(info));
    info.port = ctx.d.conf.hub_port;
    info.iface = ctx.d.conf.hub_listen;
    info.protocols = hub_protocols;
    info.user = &ctx;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    memset(&keepalive, 0, sizeof(keepalive));
    keepalive.secs_since_valid_ping = (uint16_t)ctx.d.conf.hub_ping_seconds;
    keepalive.secs_since_valid_hangup =
        (uint16_t)(2 * ctx.d.conf.hub_ping_seconds);
    info.retry_and_idle_policy = &keepalive;
    /* A handshake not done in this many seconds is dropped. */
    info.timeout_secs = 10;
    pthread_mutex_init(&ctx.feed_mu, NULL);
    ctx.lws = lws_create_context(&info);
    if (ctx.lws == NULL) {
        sl_log_error(&ctx.d.log, "cannot listen on %s:%d", info.iface,
                     info.port);
        return 1;
    }

    if (sl_db_init(&ctx.db, ctx.d.conf.db_url, "sluice-hub",
                   ctx.d.conf.db_statement_timeout_ms, NULL, 0,
                   &ctx.d.log) != SL_OK ||
        sl_bus_connect(&ctx.bus, ctx.d.conf.nats_url, "sluice-hub",
                       &ctx.d.log) != SL_OK ||
        sl_liveness_start(&ctx.live, &ctx.bus, &ctx.d.log, SL_SUBJ_PING_HUB,
                          "hubs", liveness_extra, &ctx) != SL_OK) {
        sl_log_error(&ctx.d.log, "cannot set up the database or NATS");
        lws_context_destroy(ctx.lws);
        return 1;
    }
    sl_liveness_check(&ctx.live, &ctx.db);
    hub_inbox_init(&ctx.inbox, HUB_INBOX_MAX, ctx.lws);
    if (hub_catchup_start(&ctx) != SL_OK) {
        sl_log_error(&ctx.d.log, "cannot start the catch-up thread");
        return 1;
    }
    hub_feed_start(&ctx);
    /* Webhook deliveries: their own threads and event loop (deliver.h). */
    if (hub_deliver_start(&ctx.d.conf, &ctx.d.log, &ctx.bus, &deliver) != 0)
        return 1;
    if (pthread_create(&thread, NULL, maintenance, &ctx) != 0) {
        sl_log_error(&ctx.d.log, "cannot start the maintenance thread");
        return 1;
    }
    sl_daemon_write_pid(&ctx.d);
    sl_log_info(&ctx.d.log, "sluice-hub %s listening on %s:%d as %s",
                PACKAGE_VERSION, info.iface, info.port, ctx.live.instance);

    while (!atomic_load(&ctx.stop)) {
        if (lws_service(ctx.lws, 0) < 0)
            break;
        hub_drain(&ctx); /* also done on EVENT_WAIT_CANCELLED */
    }

    pthread_join(thread, NULL);
    hub_deliver_stop(deliver);
    hub_feed_stop(&ctx);
    hub_inbox_close(&ctx.inbox);
    hub_catchup_stop(&ctx);
    sl_liveness_stop(&ctx.live);
    lws_context_destroy(ctx.lws);
    hub_inbox_free(&ctx.inbox);
    sl_bus_close(&ctx.bus);
    sl_db_free(&ctx.db);
    sl_bus_shutdown();
    sl_log_info(&ctx.d.log, "stopped");
    lws_logger = NULL;
    sl_daemon_stop(&ctx.d);
    return 0;
}
