/*
 * sched.h: firing what is due, for the runner's clock and the API's
 * POST /api/v1/scheduler/trigger alike.
 *
 * A pipeline's cron schedule and each cron trigger carry next_run_at.
 * sl_sched_fire_due() asks scheduler_due() (sql/006_scheduler.sql) what
 * is due now, across organisations; for each item it computes the next
 * time after now with lib/cron.c (firings missed while nobody scheduled
 * are not run one by one later), and calls scheduler_fire()
 * (sql/009_scheduler_fire.sql) in a transaction scoped to the item's
 * organisation: that claims the item (next_run_at moves on only if it is
 * still the time seen, so two schedulers never fire it twice), checks the
 * plan's quotas and writes the run with its request in the outbox. After
 * commit the request is published on NATS with the outbox id as
 * Nats-Msg-Id and the outbox row marked sent; when that fails the run
 * stands, and the runner's relay publishes it later.
 *
 * An item whose next time can never be computed (its expression does not
 * parse, its zone names no zone, it provably never fires) would be due
 * for ever: it is disabled instead, by scheduler_disable()
 * (sql/013_relay.sql), with the reason, which the API shows, and reported
 * once as SL_SCHED_INVALID. A failure that may pass (the zone database
 * cannot be read now, memory runs out) disables nothing: the item stays
 * due, the failure is logged and reported as SL_SCHED_ERROR, and the next
 * pass tries again.
 *
 * Statement tables are per daemon (db.h): a daemon that schedules puts
 * the three statements below in its table, by these macros, and passes
 * their indices in struct sl_sched_stmts, with that of a statement it
 * already has that marks outbox row $1 sent.
 */
#ifndef SL_SCHED_H
#define SL_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "db.h"
#include "log.h"

/* The subject and body of unsent outbox row $1 (a run's pipeline.queued
 * event, sql/020_run_queued.sql). Read-only (retry: true). */
#define SL_SCHED_SQL_QUEUED                                                    \
    "SELECT subject, payload::text FROM outbox "                               \
    "WHERE id = $1::uuid AND sent_at IS NULL"

/* What is due: $1 at most this many rows. Read-only (retry: true). */
#define SL_SCHED_SQL_DUE                                                       \
    "SELECT kind, id, tenant_id, pipeline_id, cron, timezone, next_run_at "    \
    "FROM scheduler_due($1::integer)"
/* Fires kind $1, id $2, seen due at $3, next at $4, as run $5 with
 * outbox row $6 (retry: false). */
#define SL_SCHED_SQL_FIRE                                                      \
    "SELECT outcome, pipeline_id, run_id, quota_type, payload FROM "           \
    "scheduler_fire($1, $2::uuid, $3::timestamptz, $4::timestamptz, "          \
    "$5::uuid, $6::uuid)"
/* Disables kind $1, id $2, seen due at $3, for reason $4; answers
 * whether it did (retry: false). */
#define SL_SCHED_SQL_DISABLE                                                   \
    "SELECT scheduler_disable($1, $2::uuid, $3::timestamptz, $4)"

/* At most this many items a pass; the rest wait for the next one. */
#define SL_SCHED_BATCH 500

/*
 * The indices of the statements above in the caller's table; sent marks
 * outbox row $1 sent, and is run scoped to the item's organisation (the
 * API's UPDATE under RLS and the relay's outbox_mark_sent() both do).
 */
struct sl_sched_stmts {
    int due, fire, disable, sent;
    /* SL_SCHED_SQL_QUEUED, to publish a fired run's pipeline.queued event
     * before its request (0: none; the relay sends it then). */
    int queued;
};

enum sl_sched_outcome {
    SL_SCHED_FIRED,    /* a run was written (and, if NATS was up, sent) */
    SL_SCHED_QUOTA,    /* a plan quota is spent: the firing passed, no run */
    SL_SCHED_INACTIVE, /* the subscription is not active: likewise */
    SL_SCHED_INVALID,  /* its next time cannot be computed: disabled */
    SL_SCHED_ERROR,    /* failed for now (the database, or its next time
                          could not be computed at the moment): it stays
                          due; see log */
};

/*
 * What scheduler_fire() answered, name ("fired", "quota", "inactive", or
 * "taken": another scheduler fired the item first), as an outcome and
 * whether the caller hears of it (not of "taken"). Returns 0, or SL_EDB
 * for a name this file does not know (outcome and reported untouched).
 */
int sl_sched_outcome_parse(const char *name, enum sl_sched_outcome *outcome,
                           bool *reported);

/*
 * Writes into out (SL_RFC3339_MAX bytes) the first time strictly after
 * now (UTC seconds) at which cron expression expr fires in the IANA zone
 * zone: the next_run_at a firing moves an item on to. Returns 0, or a
 * code of sl_cron_next_in() with, when why is not NULL, a sentence for
 * people saying what is wrong in why (whysz bytes). For SL_EPARSE,
 * SL_EINVAL and SL_ENOTFOUND (sl_sched_next_final()) that is the reason
 * the item is disabled with; for another code (SL_EIO, SL_ENOMEM,
 * SL_ERR) it says what failed, for the log.
 */
int sl_sched_next_time(const char *expr, const char *zone, int64_t now,
                       char *out, char *why, size_t whysz);

/*
 * Whether rc, from sl_sched_next_time(), means that the item will never
 * fire as it is (disable it), rather than a failure that may pass (leave
 * it due, try again).
 */
bool sl_sched_next_final(int rc);

/*
 * One item and what became of it, for the caller's report. Every string
 * is borrowed, valid during the callback only; those that do not apply
 * are NULL.
 */
struct sl_sched_item {
    enum sl_sched_outcome outcome;
    const char *kind;        /* "pipeline" or "trigger" */
    const char *id;          /* the pipeline's or the trigger's id */
    const char *tenant_id;   /* its organisation */
    const char *pipeline_id; /* the pipeline that runs */
    const char *run_id;      /* SL_SCHED_FIRED */
    const char *next_run;    /* RFC 3339: the next firing */
    const char *quota_type;  /* SL_SCHED_QUOTA, SL_SCHED_INACTIVE */
    const char *reason;      /* SL_SCHED_INVALID: why, as the API shows it */
};

/* Called once for each item fired or skipped; an item another scheduler
 * fired first is not reported. */
typedef void (*sl_sched_report_fn)(void *arg, const struct sl_sched_item *it);

/*
 * One pass: fires every item due now, up to SL_SCHED_BATCH, on db (which
 * must not be in a transaction), publishing on bus (borrowed; may be
 * disconnected). report (may be NULL) hears of each item, with arg. One
 * item's failure is logged on log (may be NULL) and reported; the others
 * still fire. Returns the number of runs written, or a negative code when
 * what is due could not be read.
 */
int sl_sched_fire_due(struct sl_db *db, struct sl_bus *bus,
                      const struct sl_sched_stmts *st,
                      sl_sched_report_fn report, void *arg,
                      struct sl_logger *log);

/*
 * Publishes run run_id's request, payload (its outbox row's), with
 * outbox_id as Nats-Msg-Id, and marks the row sent with the caller's
 * statement sent (as in struct sl_sched_stmts), scoped to tenant_id. Used
 * after the commit that wrote the run, by the scheduler and by the API's
 * starts alike. A failure is logged and leaves the row for the relay: the
 * run stands either way.
 */
void sl_sched_publish_request(struct sl_db *db, struct sl_bus *bus, int sent,
                              const char *tenant_id, const char *run_id,
                              const char *outbox_id, const char *payload,
                              struct sl_logger *log);

/* As sl_sched_publish_request(), for any outbox row: payload on subject
 * (a run's pipeline.queued event, say). */
void sl_sched_publish_outbox(struct sl_db *db, struct sl_bus *bus, int sent,
                             const char *tenant_id, const char *run_id,
                             const char *subject, const char *outbox_id,
                             const char *payload, struct sl_logger *log);

#endif
