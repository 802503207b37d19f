/*
 * relay.h: the outbox relay of sluice-runner.
 *
 * The API publishes each outbox row right after its transaction commits;
 * a row it could not publish (NATS down, the API killed between commit
 * and publish) waits in PostgreSQL, the source of truth. The relay
 * publishes such rows, with the outbox id as Nats-Msg-Id (a row published
 * twice is one message: JetStream drops the duplicate), and marks them
 * sent. Several runners may relay at once for the same reason.
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

/*
 * One pass: publishes the unsent rows and marks each sent. Returns the
 * number published, or a negative code (the database or NATS is down;
 * the next pass tries again).
 */
int run_relay(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log);

/* A request sent this long ago, its run still pending, was lost. */
#define RUN_RECONCILE_AFTER "10 seconds"

/*
 * Reconciles (sql/010_reconcile.sql): when the work queue holds no
 * request, requests again, through the outbox, every pending run whose
 * last request was sent more than RUN_RECONCILE_AFTER ago; the next relay
 * pass publishes them. Returns how many, or a negative code.
 */
int run_reconcile(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log);

#endif
