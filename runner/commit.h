/*
 * commit.h: how a run's loads end once the decision is made, when their
 * runner is no longer there to end them.
 *
 * The protocol (engine.h, sql/011_commit.sql): each loader prepares its
 * output (a postgres target: PREPARE TRANSACTION '<gid>'; a file: a
 * complete, synced temporary file beside the target), after the runner
 * recorded every participant and where it lives in the state database;
 * the runner then records the run's end, which for a completed run is
 * the decision to commit, only while the run is still its attempt's;
 * then it commits each participant (COMMIT PREPARED; the rename) and
 * forgets it. A runner that dies, or loses the run, between those steps
 * leaves participants behind: the sweep, which every runner runs beside
 * the sweep of stale runs, commits those whose run decided to commit
 * their attempt and rolls back those whose attempt can no longer decide.
 *
 * A prepared transaction can only be ended by its own user in its own
 * database: the sweep connects to the warehouse as the runner does, and
 * to a connector's database with the connector's credentials. A file is
 * renamed under the lock its writers take (filesink.h).
 */
#ifndef RUN_COMMIT_H
#define RUN_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "conf.h"
#include "db.h"
#include "log.h"

/* How long a participant is left to its own runner after its run ended
 * (or, for one never decided, after it was recorded). */
#define RUN_COMMIT_GRACE "10 seconds"

/*
 * Ends the prepared transaction gid on c, a connection as its user to its
 * database: COMMIT PREPARED with commit, else ROLLBACK PREPARED. A broken
 * connection is reset and the statement tried once more. Returns 0 when
 * the transaction is ended, or when there is none of that name (ended
 * before, or never prepared); SL_EINVAL for a gid not of our form; else
 * SL_EDB with the server's message in err (errsz bytes).
 */
int run_pg_end_prepared(PGconn *c, const char *gid, bool commit, char *err,
                        size_t errsz);

/*
 * Ends what runners left behind whose fate is known (at most 50 a call),
 * as the header says, on the state database db; logs what it did.
 * Returns how many it ended, or a negative code when db failed.
 */
int run_commit_sweep(struct sl_db *db, const struct sl_conf *conf,
                     struct sl_logger *log);

#endif
