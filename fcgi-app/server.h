/*
 * server.h: serving one request (server.c) and running a worker
 * (worker.c).
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <fcgiapp.h>

#include "api.h"

/* Answers one accepted FastCGI request. Never fails: errors become JSON. */
void api_handle(struct api_ctx *ctx, FCGX_Request *fcgi);

/*
 * Runs a worker on listen_fd until SIGTERM, after which it finishes the
 * request in hand and returns. conf and cache (may be NULL) are borrowed.
 * Returns the process's exit status.
 */
int api_worker_run(const struct sl_conf *conf, int listen_fd,
                   struct api_authcache *cache);

#endif
