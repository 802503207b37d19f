/*
 * worker.h: running one sluice-api worker process (worker.c).
 */
#ifndef API_WORKER_H
#define API_WORKER_H

#include "authcache.h"
#include "conf.h"

/*
 * Runs a worker on listen_fd until SIGTERM, after which it finishes the
 * request in hand and returns. conf and cache (may be NULL) are borrowed.
 * Returns the process's exit status.
 */
int api_worker_run(const struct sl_conf *conf, int listen_fd,
                   struct api_authcache *cache);

#endif
