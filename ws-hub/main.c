/*
 * main.c: sluice-hub, the live hub: WebSocket subscribers (behind nginx's
 * /ws/) and, later, webhook deliveries.
 *
 *   sluice-hub [-c FILE] [--pid-file FILE] [--check-config]
 *
 * This first version is the daemon's frame: a libwebsockets server on
 * hub_listen:hub_port that greets each WebSocket client and answers its
 * pings; connections to PostgreSQL and NATS, kept while either restarts;
 * liveness answers on sluice.ping.hub; a clean stop on SIGTERM or SIGINT.
 *
 * Threads: the main thread runs the libwebsockets loop and owns every
 * connection; a second thread takes signals and checks the database every
 * few seconds, and wakes the loop with lws_cancel_service() to stop it.
 * NATS callbacks run on NATS's threads and touch only atomics.
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
#include "json.h"
#include "liveness.h"

#define HUB_TICK 2
/* A client message larger than this is refused (the hub reads commands). */
#define HUB_MAX_MESSAGE 4096

struct hub_ctx {
    struct sl_daemon d;
    struct sl_db db; /* used by the maintenance thread only */
    struct sl_bus bus;
    struct sl_liveness live;
    struct lws_context *lws;
    atomic_bool stop;
    atomic_int clients;
    sigset_t signals;
};

/* One WebSocket connection. */
struct hub_conn {
    bool greeted;
    int pongs; /* pongs owed */
    size_t rx; /* bytes of the current message so far */
};

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

static int
send_json(struct lws *wsi, json_t *j)
{
    unsigned char buf[LWS_PRE + 1024];
    char *text = json_dumps(j, JSON_COMPACT);
    size_t n;
    int rc = -1;

    json_decref(j);
    if (text == NULL)
        return -1;
    n = strlen(text);
    if (n <= sizeof(buf) - LWS_PRE) {
        memcpy(buf + LWS_PRE, text, n);
        rc = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
    }
    free(text);
    return rc;
}

static int
on_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
      size_t len)
{
    struct hub_ctx *ctx = lws_context_user(lws_get_context(wsi));
    struct hub_conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof(*c));
        atomic_fetch_add(&ctx->clients, 1);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLOSED:
        atomic_fetch_sub(&ctx->clients, 1);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        c->rx += len;
        if (c->rx > HUB_MAX_MESSAGE) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             (unsigned char *)"message too large", 17);
            return -1;
        }
        if (!lws_is_final_fragment(wsi))
            return 0;
        c->rx = 0;
        /* "ping" or {"type":"ping"}: answer with a pong. */
        if ((len == 4 && memcmp(in, "ping", 4) == 0) ||
            (len < 256 && memmem(in, len, "\"ping\"", 6) != NULL)) {
            c->pongs++;
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c->greeted) {
            c->greeted = true;
            if (send_json(wsi,
                          json_pack("{s:s, s:s, s:o}", "type", "welcome",
                                    "server", "sluice-hub " PACKAGE_VERSION,
                                    "timestamp",
                                    sl_json_time(sl_clock_now()))) != 0)
                return -1;
        } else if (c->pongs > 0) {
            c->pongs--;
            if (send_json(wsi,
                          json_pack("{s:s, s:o}", "type", "pong", "timestamp",
                                    sl_json_time(sl_clock_now()))) != 0)
                return -1;
        }
        if (c->pongs > 0)
            lws_callback_on_writable(wsi);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    /* First: WebSocket clients that name no subprotocol land here. */
    {"sluice", on_ws, sizeof(struct hub_conn), HUB_MAX_MESSAGE, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}, /* terminator */
};

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
        sl_liveness_check(&ctx->live, &ctx->db);
    }
    atomic_store(&ctx->stop, true);
    lws_cancel_service(ctx->lws);
    return NULL;
}

int
main(int argc, char **argv)
{
    struct hub_ctx ctx;
    struct lws_context_creation_info info;
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
    info.protocols = protocols;
    info.user = &ctx;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
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
    if (hub_deliver_start(&ctx.d.conf, &ctx.d.log, &ctx.bus, &deliver) != 0)
        return 1;
    if (pthread_create(&thread, NULL, maintenance, &ctx) != 0) {
        sl_log_error(&ctx.d.log, "cannot start the maintenance thread");
        return 1;
    }
    sl_daemon_write_pid(&ctx.d);
    sl_log_info(&ctx.d.log, "sluice-hub %s listening on %s:%d as %s",
                PACKAGE_VERSION, info.iface, info.port, ctx.live.instance);

    while (!atomic_load(&ctx.stop))
        if (lws_service(ctx.lws, 0) < 0)
            break;

    pthread_join(thread, NULL);
    hub_deliver_stop(deliver);
    sl_liveness_stop(&ctx.live);
    lws_context_destroy(ctx.lws);
    sl_bus_close(&ctx.bus);
    sl_db_free(&ctx.db);
    sl_bus_shutdown();
    sl_log_info(&ctx.d.log, "stopped");
    lws_logger = NULL;
    sl_daemon_stop(&ctx.d);
    return 0;
}
