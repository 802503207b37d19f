/*
 * relay.h: the outbox relay of sluice-runner, and the reconciliation of
 * run requests NATS lost.
 *
 * The API publishes each outbox row right after its transaction commits;
 * a row it could not publish (NATS down, the API killed between commit
 * and publish) waits in PostgreSQL, the source of truth. The relay
 * publishes such rows, with the outbox id as Nats-Msg-Id (a row published
 * twice is one message: JetStream drops the duplicate), and marks them
 * sent. Several runners may relay at once for the same reason.
 *
 * One row never holds up the others (sql/013_relay.sql): a row NATS
 * refuses for a fault of its own (too big for max_payload, a subject no
 * stream takes) is tried again after RUN_RELAY_BACKOFF, doubled at each
 * failure up to RUN_RELAY_BACKOFF_MAX, while the rows behind it go; its
 * RUN_RELAY_MAX_ATTEMPTS-th failure parks it: logged as an error, counted
 * by /health/detailed, kept until an operator re-queues it with
 * outbox_requeue() (docs/operator-guide.md). Nothing is counted against
 * a row for trouble that would befall every row: while NATS is
 * unreachable nothing is tried, and when JetStream itself fails (no
 * answer in time, one of Sluice's streams taking nothing, JetStream
 * unavailable or out of storage while the connection stays up) the pass
 * stops at the first such failure.
 *
 * A row marked sent may still never arrive: nats-server acknowledges
 * before it fsyncs, and a crash can lose the message. run_reconcile()
 * notices the runs such a loss leaves pending and requests them again.
 */
#ifndef RUN_RELAY_H
#define RUN_RELAY_H

#include "bus.h"
#include "db.h"
#include "log.h"

/* Rows older than this are the relay's (the API publishes at once). */
#define RUN_RELAY_GRACE "2 seconds"
/* At most this many rows a pass. */
#define RUN_RELAY_BATCH "100"
/* A pass takes no new row after this many milliseconds (each publish may
 * wait PUBLISH_TIMEOUT_MS for NATS), so that it never holds up the
 * runner's other chores for long. */
#define RUN_RELAY_PASS_MS 5000
/* A row that failed waits this long before its next try, twice as long
 * after each further failure, at most RUN_RELAY_BACKOFF_MAX... */
#define RUN_RELAY_BACKOFF     "2 seconds"
#define RUN_RELAY_BACKOFF_MAX "5 minutes"
/* ...and is parked at its tenth failure (about 13 minutes after the
 * first). */
#define RUN_RELAY_MAX_ATTEMPTS "10"

/*
 * One pass: publishes the rows due (outbox_due()) and marks each sent;
 * records the failure of each row NATS refuses for a fault of the row's,
 * and goes on. Returns the number published, or a negative code, and the
 * next pass tries again: SL_EBUS when NATS is unreachable (before or
 * during the pass) or JetStream refused; SL_ETIMEDOUT when JetStream did
 * not answer; SL_ENOTFOUND when one of Sluice's streams took nothing
 * (it is missing, or JetStream is off: the caller makes the streams
 * again); or a database error.
 */
int run_relay(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log);

/* How often a runner reconciles, in seconds: its own clock, whatever the
 * relay or the work queue are doing. */
#define RUN_RECONCILE_EVERY 5
/* A pending run whose last request went out this long ago was perhaps
 * lost; after its second request twice as long, and so on, at most
 * RUN_RECONCILE_AFTER_MAX. */
#define RUN_RECONCILE_AFTER     "10 seconds"
#define RUN_RECONCILE_AFTER_MAX "5 minutes"

/*
 * Reconciles (run_reconcile() in sql/013_relay.sql): requests again,
 * through the outbox, each pending run whose last request went out long
 * enough ago (see above) with none unsent, judged run by run; a run
 * waiting its turn gets a spare request, which the claim makes harmless.
 * The next relay pass publishes them. Returns how many, or a negative
 * code.
 */
int run_reconcile(struct sl_db *db, struct sl_logger *log);

#endif
