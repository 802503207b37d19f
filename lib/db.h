/*
 * db.h: the PostgreSQL layer.
 *
 * One struct sl_db is one connection, used by one thread. Statements are
 * named in a table the daemon passes at init and prepared lazily, once per
 * connection; they are run by their index in that table, with text
 * parameters. SQL is never built from input.
 *
 * Tenancy: every tenant-owned table is under row-level security keyed on
 * the settings app.tenant_id and app.user_id. sl_db_begin() opens a
 * transaction with both set (set_config(..., true), so they end with the
 * transaction); sl_db_exec_scoped() runs one statement the same way. Both
 * send their commands as one pipeline: a single round trip.
 *
 * A connection that breaks (the server restarted, say) is re-established
 * on the next call. A statement whose table entry says retry is run again
 * once on the new connection when the old one broke under it outside a
 * transaction; anything else reports SL_EDBCONN and leaves the decision to
 * the caller.
 */
#ifndef SL_DB_H
#define SL_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "log.h"
#include "pool.h"

struct sl_db_stmt {
    const char *name; /* the prepared statement's name */
    const char *sql;
    bool retry; /* read-only: safe to run again after a broken connection */
};

struct sl_db {
    PGconn *conn;
    char *conninfo;       /* owned */
    const char *app_name; /* borrowed */
    int statement_timeout_ms;
    const struct sl_db_stmt *stmts; /* borrowed table */
    size_t nstmts;
    unsigned char *prepared; /* per statement, for the current connection */
    bool ctx_prepared;
    bool in_tx;
    struct sl_logger *log; /* borrowed; may be NULL */
    char sqlstate[6];      /* of the last failure, "" if none */
    char constraint[64];   /* the constraint it broke, "" if none */
    char error[256];       /* of the last failure */
};

/*
 * Prepares db without connecting. conninfo is copied; app_name, stmts and
 * log are borrowed and must outlive db. Returns 0 or SL_ENOMEM.
 */
int sl_db_init(struct sl_db *db, const char *conninfo, const char *app_name,
               int statement_timeout_ms, const struct sl_db_stmt *stmts,
               size_t nstmts, struct sl_logger *log);

/* Closes the connection and frees what init allocated. Accepts NULL. */
void sl_db_free(struct sl_db *db);

/* Connects, or reconnects a broken connection. Returns 0 or SL_EDBCONN. */
int sl_db_connect(struct sl_db *db);

/*
 * Runs statement id of the table. Returns 0 and the result in *res (owned
 * by the caller: PQclear() it, or hand it to sl_db_pool_own()), or a
 * negative code: SL_ECONFLICT (unique violation), SL_EPERM (privilege or
 * row-level security), SL_ETIMEDOUT (statement timeout), SL_EDBCONN, or
 * SL_EDB; *res is NULL then and sl_db_error() tells why.
 */
int sl_db_exec(struct sl_db *db, int id, int nparams, const char *const *params,
               PGresult **res);

/*
 * Runs statement id in a transaction of its own, scoped to tenant_id and
 * user_id (either may be NULL), in one round trip. Results as sl_db_exec().
 */
int sl_db_exec_scoped(struct sl_db *db, const char *tenant_id,
                      const char *user_id, int id, int nparams,
                      const char *const *params, PGresult **res);

/*
 * Opens a transaction scoped to tenant_id and user_id (either may be
 * NULL). Returns 0 or a negative code as sl_db_exec(). A begun transaction
 * must end with sl_db_commit() or sl_db_rollback().
 */
int sl_db_begin(struct sl_db *db, const char *tenant_id, const char *user_id);

/* Commits. Returns 0 or a negative code (the transaction is then over). */
int sl_db_commit(struct sl_db *db);

/* Rolls back, if a transaction is open. Never fails visibly. */
void sl_db_rollback(struct sl_db *db);

/*
 * Round trip to the server ("SELECT 1"), reconnecting first if needed.
 * Returns 0 and the time taken in *ms, or SL_EDBCONN.
 */
int sl_db_ping(struct sl_db *db, double *ms);

/*
 * The last failure's message, SQLSTATE and the name of the constraint it
 * broke ("" when none).
 */
const char *sl_db_error(const struct sl_db *db);
const char *sl_db_sqlstate(const struct sl_db *db);
const char *sl_db_constraint(const struct sl_db *db);

/* Hands a result to the pool, cleared when the pool is reset. Returns r. */
PGresult *sl_db_pool_own(sl_pool *p, PGresult *r);

/* The value at row, col, or NULL for SQL NULL. */
const char *sl_db_value(const PGresult *r, int row, int col);

#endif
