/*
 * worker.c: one sluice-api worker process.
 *
 * A worker owns one PostgreSQL connection, one NATS connection and one
 * pool, and serves one request at a time, but it holds many FastCGI
 * connections: nginx keeps its upstream connections alive, and a worker
 * that could only wait on one of them would sit idle on it while requests
 * queue on others (libfcgi's own accept loop does exactly that). So the
 * worker polls the listening socket and every connection it holds, and
 * serves whichever has a request. The listening socket is non-blocking:
 * workers race to accept, and the losers simply poll again.
 *
 * Signals are blocked except inside ppoll(), so SIGTERM never interrupts a
 * request: a worker told to stop finishes the request in hand, closes its
 * connections (nginx retries a request sent on a connection closed under
 * it) and exits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authcache.h"
#include "clock.h"
#include "crypto.h"
#include "dispatch.h"
#include "err.h"
#include "json.h"
#include "request.h"
#include "tenants.h"
#include "worker.h"

/* FastCGI connections one worker holds at most. */
#define WORKER_MAX_CONNS 64

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

/* An invalidation from another host (or this one): runs on a NATS thread
 * and only bumps the shared atomic counters. */
static void
on_auth_changed(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                void *closure)
{
    struct api_ctx *ctx = closure;
    json_t *j = json_loadb(natsMsg_GetData(msg),
                           (size_t)natsMsg_GetDataLength(msg), 0, NULL);

    (void)nc;
    (void)sub;
    if (json_is_object(j))
        api_authcache_bump(ctx->authcache, sl_json_get_str(j, "user_id"),
                           sl_json_get_str(j, "tenant_id"));
    json_decref(j);
    natsMsg_Destroy(msg);
}

static int
ctx_init(struct api_ctx *ctx, const struct sl_conf *conf,
         struct api_authcache *cache)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->conf = conf;
    ctx->authcache = cache;
    ctx->started_at = sl_clock_now();
    sl_log_init(&ctx->log, "api", sl_log_level_parse(conf->log_level), 2);
    ctx->bus_log = ctx->log;
    ctx->pool = sl_pool_create(16 * 1024, 0);
    if (ctx->pool == NULL)
        return SL_ENOMEM;
    if (conf->admin_key[0] != '\0') {
        sl_sha256(conf->admin_key, strlen(conf->admin_key),
                  ctx->admin_key_hash);
        ctx->admin_key_set = true;
    }
    if (sl_db_init(&ctx->db, conf->db_url, "sluice-api",
                   conf->db_statement_timeout_ms, api_stmts, ST_COUNT_,
                   &ctx->log) != SL_OK ||
        sl_db_init(&ctx->auth_db, conf->auth_db_url, "sluice-api-login",
                   conf->db_statement_timeout_ms, api_stmts, ST_COUNT_,
                   &ctx->log) != SL_OK)
        return SL_ENOMEM;
    /* Not connecting is not fatal: requests report 503 until it works.
     * The default organisation is made at once: nobody may claim its id
     * by registering or onboarding first. */
    if (sl_db_connect(&ctx->db) != SL_OK)
        sl_log_warn(&ctx->log, "database not reachable yet: %s",
                    sl_db_error(&ctx->db));
    else if (api_default_org_ensure(&ctx->db, conf, NULL) != SL_OK)
        sl_log_warn(&ctx->log, "cannot make the default organisation: %s",
                    sl_db_error(&ctx->db));
    if (sl_bus_connect(&ctx->bus, conf->nats_url, "sluice-api",
                       &ctx->bus_log) != SL_OK)
        sl_log_warn(&ctx->log, "nats is not configured");
    else if (cache != NULL && sl_bus_subscribe(&ctx->bus, API_SUBJ_AUTH_CHANGED,
                                               NULL, on_auth_changed, ctx,
                                               &ctx->auth_changed) != SL_OK)
        sl_log_warn(&ctx->log, "cannot subscribe to %s", API_SUBJ_AUTH_CHANGED);
    return SL_OK;
}

static void
ctx_free(struct api_ctx *ctx)
{
    if (ctx->auth_changed != NULL) {
        natsSubscription_Unsubscribe(ctx->auth_changed);
        natsSubscription_Destroy(ctx->auth_changed);
    }
    sl_bus_close(&ctx->bus);
    sl_db_free(&ctx->db);
    sl_db_free(&ctx->auth_db);
    sl_pool_destroy(ctx->pool);
}

/*
 * Serves the next request on a slot: on a held connection that polled
 * readable, or (ipcFd < 0) on a connection accepted now. Returns true when
 * a request was served; false when the connection turned out closed or
 * there was nothing to accept (the slot is then free).
 */
static bool
serve(struct api_ctx *ctx, FCGX_Request *req)
{
    if (FCGX_Accept_r(req) != 0) {
        /* EOF on a held connection, or another worker won the accept. */
        req->ipcFd = -1;
        return false;
    }
    api_handle(ctx, req);
    /* Flushes the response; keeps the connection when nginx asked. */
    FCGX_Finish_r(req);
    sl_pool_reset(ctx->pool);
    return true;
}

/* Closes a held connection without libfcgi's lingering close. */
static void
drop(FCGX_Request *req)
{
    if (req->ipcFd >= 0) {
        close(req->ipcFd);
        req->ipcFd = -1;
    }
    FCGX_Free(req, 0);
}

int
api_worker_run(const struct sl_conf *conf, int listen_fd,
               struct api_authcache *cache)
{
    static FCGX_Request conns[WORKER_MAX_CONNS];
    struct pollfd pfd[WORKER_MAX_CONNS + 1];
    int slot_of[WORKER_MAX_CONNS + 1];
    struct api_ctx ctx;
    struct sigaction sa;
    sigset_t term, waiting;
    int status = EXIT_SUCCESS, flags;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    sigprocmask(SIG_BLOCK, &term, &waiting);
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);

    flags = fcntl(listen_fd, F_GETFL);
    if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return EXIT_FAILURE;
    if (ctx_init(&ctx, conf, cache) != SL_OK) {
        ctx_free(&ctx);
        return EXIT_FAILURE;
    }
    for (int i = 0; i < WORKER_MAX_CONNS; i++)
        FCGX_InitRequest(&conns[i], listen_fd, 0);
    sl_log_info(&ctx.log, "worker ready");

    while (!stopping) {
        int n = 0, free_slot = -1, ready;

        for (int i = 0; i < WORKER_MAX_CONNS; i++) {
            if (conns[i].ipcFd >= 0) {
                pfd[n].fd = conns[i].ipcFd;
                pfd[n].events = POLLIN;
                slot_of[n++] = i;
            } else if (free_slot < 0) {
                free_slot = i;
            }
        }
        /* With every slot taken, leave new connections to other workers. */
        if (free_slot >= 0) {
            pfd[n].fd = listen_fd;
            pfd[n].events = POLLIN;
            slot_of[n++] = -1;
        }
        ready = ppoll(pfd, (nfds_t)n, NULL, &waiting);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            sl_log_error(&ctx.log, "poll failed: %s", strerror(errno));
            status = EXIT_FAILURE;
            break;
        }
        for (int k = 0; k < n && !stopping; k++) {
            if (pfd[k].revents == 0)
                continue;
            if (slot_of[k] >= 0)
                serve(&ctx, &conns[slot_of[k]]);
            else
                serve(&ctx, &conns[free_slot]);
        }
    }
    for (int i = 0; i < WORKER_MAX_CONNS; i++)
        drop(&conns[i]);
    sl_log_info(&ctx.log, "worker stopped");
    ctx_free(&ctx);
    sl_bus_shutdown();
    return status;
}
