/*
 * liveness.h: how the runner and the hub tell /health/detailed they are
 * alive.
 *
 * A daemon answers requests on its ping subject (sluice.ping.runner,
 * sluice.ping.hub) with {"status", "instance", "database",
 * "uptime_seconds", ...}: "healthy" while its database connection works,
 * "degraded" otherwise. The database is checked by sl_liveness_check(),
 * which the daemon calls every few seconds from the thread that owns its
 * connection; the answers are sent from a NATS thread and read only
 * atomics and constants.
 */
#ifndef SL_LIVENESS_H
#define SL_LIVENESS_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "bus.h"
#include "db.h"
#include "log.h"

/* Adds a daemon's own fields to an answer; runs on a NATS thread. */
typedef void (*sl_liveness_extra_fn)(json_t *answer, void *arg);

struct sl_liveness {
    struct sl_bus *bus;    /* borrowed */
    struct sl_logger *log; /* borrowed */
    natsSubscription *sub;
    atomic_bool db_ok;
    char instance[160];
    int64_t started_at;
    sl_liveness_extra_fn extra; /* may be NULL */
    void *extra_arg;
};

/*
 * Starts answering on subject, in queue group queue (one answer from a
 * group of processes). bus and log are borrowed. Returns 0 or SL_EBUS.
 */
int sl_liveness_start(struct sl_liveness *l, struct sl_bus *bus,
                      struct sl_logger *log, const char *subject,
                      const char *queue, sl_liveness_extra_fn extra,
                      void *extra_arg);

/* Pings the database and records the outcome, logging changes. */
void sl_liveness_check(struct sl_liveness *l, struct sl_db *db);

/* Stops answering. Accepts a liveness never started. */
void sl_liveness_stop(struct sl_liveness *l);

#endif
