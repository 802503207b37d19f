/*
 * worker.h: the threads of sluice-runner that execute runs.
 *
 * runner_concurrency workers each bind a pull subscription to the durable
 * consumer "runners" of the SLUICE_RUNS work queue. A request there is a
 * wake-up: a worker with its slot free takes one and asks PostgreSQL for
 * the run it should execute now (run_claim_next(), sql/012_fair_claim.sql:
 * the oldest waiting run of the organisation running the fewest, within
 * its plan's concurrent runs), which need not be the run the request
 * names, and acknowledges the request. A run already done, cancelled or
 * held is never claimed, so a repeated request never runs a run twice.
 * The run is executed by the engine (engine.h); its end, its steps, its
 * logs and its terminal event (through the outbox) are written in one
 * transaction. Then the worker claims again, before it waits for another
 * request: a run held back by its organisation's cap is taken when one of
 * that organisation's runs ends.
 *
 * A heartbeat thread beats once a second for every run in hand, tells the
 * work queue the request is still in progress, writes the logs gathered
 * so far, and stops a run that was asked to stop (the API's cancel sets
 * cancel_requested; the core NATS message sluice.run.cancel.<id> makes it
 * immediate): the run's cancel flag is set and every PostgreSQL statement
 * it is blocked on is cancelled, so a run stops within about a second.
 *
 * A run past its deadline (its pipeline's configuration.timeout, or
 * run_timeout_seconds) is stopped the same way and fails with
 * PIPELINE_TIMEOUT.
 *
 * Stopping (SIGTERM) takes no new request, lets the runs in hand end for
 * up to runner_grace_seconds, then stops them and hands each back
 * (pending again, with a new request) for another runner.
 */
#ifndef RUN_WORKER_H
#define RUN_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bus.h"
#include "conf.h"
#include "db.h"
#include "log.h"

struct run_slot;

struct runner {
    const struct sl_conf *conf; /* borrowed */
    struct sl_logger *log;      /* borrowed */
    struct sl_bus *bus;         /* borrowed */
    const char *instance;       /* claimed_by of this runner's runs */

    pthread_mutex_t mu; /* guards the slots' runs */
    atomic_bool stopping;
    atomic_bool ready; /* the streams exist: workers may subscribe */
    struct run_slot *slots;
    int nslots;

    pthread_t beat;
    bool beat_started;
    struct sl_db beat_db;
    natsSubscription *cancel_sub;
};

/*
 * Starts the workers and the heartbeat. conf, log, bus and instance are
 * borrowed and must outlive the runner. Returns 0 or SL_ENOMEM / SL_EIO.
 */
int run_workers_start(struct runner *rn, const struct sl_conf *conf,
                      struct sl_logger *log, struct sl_bus *bus,
                      const char *instance);

/*
 * Stops as described above, waiting up to grace_seconds for the runs in
 * hand, and joins every thread. Accepts a runner never started.
 */
void run_workers_stop(struct runner *rn, int grace_seconds);

/* How many runs are in hand now. */
int run_workers_busy(struct runner *rn);

#endif
