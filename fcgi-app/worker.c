/*
 * worker.c: one sluice-api worker process.
 *
 * A worker owns one PostgreSQL connection, one NATS connection and one
 * pool, and serves requests one at a time. SIGTERM is blocked while a
 * request is served and unblocked only while waiting for the next one, so
 * a worker told to stop always finishes the request in hand first. A
 * worker waiting on a kept-alive connection from nginx is woken by
 * shutting that connection down.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "server.h"

static volatile sig_atomic_t stopping;
/* The kept-alive connection we wait on between requests, or -1. Only read
 * by the handler, which runs only while we wait. */
static volatile sig_atomic_t idle_fd = -1;

static void
on_term(int sig)
{
    (void)sig;
    stopping = 1;
    /* Makes libfcgi's accept loop give up instead of retrying. */
    FCGX_ShutdownPending();
    /* Waiting for nginx's next request on a kept-alive connection: end the
     * wait (the read returns 0, libfcgi closes it and returns). */
    if (idle_fd >= 0)
        shutdown(idle_fd, SHUT_RDWR);
}

static int
ctx_init(struct api_ctx *ctx, const struct sl_conf *conf)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->conf = conf;
    ctx->started_at = sl_clock_now();
    sl_log_init(&ctx->log, "api", sl_log_level_parse(conf->log_level), 2);
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
                   &ctx->log) != SL_OK)
        return SL_ENOMEM;
    /* Not connecting is not fatal: requests report 503 until it works. */
    if (sl_db_connect(&ctx->db) != SL_OK)
        sl_log_warn(&ctx->log, "database not reachable yet: %s",
                    sl_db_error(&ctx->db));
    if (sl_bus_connect(&ctx->bus, conf->nats_url, "sluice-api", &ctx->log) !=
        SL_OK)
        sl_log_warn(&ctx->log, "nats not configured: %s", conf->nats_url);
    return SL_OK;
}

static void
ctx_free(struct api_ctx *ctx)
{
    sl_bus_close(&ctx->bus);
    sl_db_free(&ctx->db);
    sl_pool_destroy(ctx->pool);
}

int
api_worker_run(const struct sl_conf *conf, int listen_fd)
{
    struct api_ctx ctx;
    struct sigaction sa;
    sigset_t term;
    FCGX_Request req;
    int status = EXIT_SUCCESS;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked accept must return */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    sigprocmask(SIG_BLOCK, &term, NULL);

    if (ctx_init(&ctx, conf) != SL_OK) {
        ctx_free(&ctx);
        return EXIT_FAILURE;
    }
    FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    sl_log_info(&ctx.log, "worker ready");
    while (!stopping) {
        int rc;

        idle_fd = req.ipcFd;
        sigprocmask(SIG_UNBLOCK, &term, NULL);
        rc = FCGX_Accept_r(&req);
        sigprocmask(SIG_BLOCK, &term, NULL);
        idle_fd = -1;
        if (rc < 0) {
            if (stopping || rc == -EINTR)
                continue;
            sl_log_error(&ctx.log, "accept failed: %s", strerror(-rc));
            status = EXIT_FAILURE;
            break;
        }
        api_handle(&ctx, &req);
        FCGX_Finish_r(&req);
        sl_pool_reset(ctx.pool);
    }
    FCGX_Free(&req, 1);
    sl_log_info(&ctx.log, "worker stopped");
    ctx_free(&ctx);
    sl_bus_shutdown();
    return status;
}
