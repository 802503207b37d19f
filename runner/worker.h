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
 * The run is executed by the engine (engine.h) up to its decision: a
 * completed run's loaders are prepared. Its end, its steps, its logs and
 * its terminal event (through the outbox) are then written in one
 * transaction, which only succeeds while the run is still this attempt's
 * (claimed_by and attempts) and which, for a completed run, is the
 * decision to commit its loads (commit.h); only after it are they
 * committed. Writing the end is retried, with backoff, until it is
 * written or the run is known to be another's (its loads are then
 * rolled back). A run whose end could not be written is never taken for
 * ended: it is handed back (pending again, with a new request) when it is
 * still this attempt's, or else the sweep of stale runs takes it. Then
 * the worker claims again, before it waits for another request: a run
 * held back by its organisation's cap is taken when one of that
 * organisation's runs ends.
 *
 * A heartbeat thread beats once a second for every run in hand, writes
 * the logs gathered so far, and stops a run that was asked to stop (the API's cancel sets
 * cancel_requested; the core NATS message sluice.run.cancel.<id> makes it
 * immediate): the run's cancel flag is set and every PostgreSQL statement
 * it is blocked on is cancelled, so a run stops within about a second.
 * A watchdog stops every run in hand when no heartbeat has succeeded for
 * RUN_BEAT_LOST_MS, well before run_stale_after() (15 s) lets another
 * runner claim them: they are not recorded and nothing of them is
 * committed; each is handed back if the database lets it, else left for
 * the sweep. A run past its deadline (its pipeline's
 * configuration.timeout, or run_timeout_seconds) is stopped as a cancel
 * is, and fails with PIPELINE_TIMEOUT.
 *
 * The environment variable SLUICE_RUNNER_FAULT, a test hook, makes the
 * runner _exit() at a point of the commit protocol: "after_prepare" (a
 * completed run's loaders are prepared, its end not yet written) or
 * "after_decision" (its end is written, nothing committed yet).
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

/* How long heartbeats may fail before the runs in hand are stopped. */
#define RUN_BEAT_LOST_MS 5000

struct run_slot;

struct runner {
    const struct sl_conf *conf; /* borrowed */
    struct sl_logger *log;      /* borrowed */
    struct sl_bus *bus;         /* borrowed */
    const char *instance;       /* claimed_by of this runner's runs */
    const char *fault;          /* SLUICE_RUNNER_FAULT, or NULL */

    pthread_mutex_t mu; /* guards the slots' runs */
    atomic_bool stopping;
    atomic_bool ready; /* the streams exist: workers may subscribe */
    struct run_slot *slots;
    int nslots;

    pthread_t beat;
    bool beat_started;
    struct sl_db beat_db;
    atomic_llong beat_ok_ms; /* monotonic: the last heartbeat that held */
    pthread_t watchdog;
    bool watchdog_started;
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
