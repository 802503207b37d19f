/*
 * scheduler.h: the runner's clock, which fires pipelines' cron schedules
 * and cron triggers when they are due.
 *
 * Every tick (two seconds) a runner with runner_scheduler on tries to take
 * the PostgreSQL advisory lock RUN_SCHED_LOCK_KEY on its own connection,
 * without waiting. The runner that holds it fires whatever is due
 * (lib/sched.h) and releases it at the end of the pass; the others skip
 * the pass. A runner that dies, or whose connection breaks, loses the
 * lock with its session, and another takes the next pass. The lock only
 * spares the runners the work of racing: the claim in scheduler_fire()
 * (next_run_at moves on only if it has not moved) is what makes each
 * firing happen once, even should two schedulers run at once (the lock
 * lost mid-pass, or the API's POST /api/v1/scheduler/trigger).
 */
#ifndef RUN_SCHEDULER_H
#define RUN_SCHEDULER_H

#include "bus.h"
#include "db.h"
#include "log.h"

/*
 * The advisory lock (the single bigint form) held while one runner
 * schedules. sluice-migrate uses 735324661; keep them apart.
 */
#define RUN_SCHED_LOCK_KEY "735324662"

/*
 * One pass on db (the runner's own connection, not in a transaction): if
 * the lock is free, takes it, fires what is due, publishing on bus, and
 * releases it. Returns the number of runs started, 0 when another runner
 * holds the lock, or a negative code (the database is down: the next tick
 * tries again).
 */
int run_schedule(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log);

#endif
