/*
 * db.c: connections, lazily prepared statements, tenant-scoped
 * transactions in pipeline mode, and reconnection (see db.h).
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"

/* Sets both row-level-security settings for the current transaction. */
static const char ctx_name[] = "sl__ctx";
static const char ctx_sql[] = "SELECT set_config('app.tenant_id', $1, true), "
                              "set_config('app.user_id', $2, true)";

int
sl_db_init(struct sl_db *db, const char *conninfo, const char *app_name,
           int statement_timeout_ms, const struct sl_db_stmt *stmts,
           size_t nstmts, struct sl_logger *log)
{
    memset(db, 0, sizeof(*db));
    db->conninfo = strdup(conninfo);
    db->prepared = calloc(nstmts ? nstmts : 1, 1);
    if (db->conninfo == NULL || db->prepared == NULL) {
        sl_db_free(db);
        return SL_ENOMEM;
    }
    db->app_name = app_name;
    db->statement_timeout_ms = statement_timeout_ms;
    db->stmts = stmts;
    db->nstmts = nstmts;
    db->log = log;
    return SL_OK;
}

void
sl_db_free(struct sl_db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL)
        PQfinish(db->conn);
    free(db->conninfo);
    free(db->prepared);
    memset(db, 0, sizeof(*db));
}

static void
set_error(struct sl_db *db, const char *state, const char *msg)
{
    db->constraint[0] = '\0';
    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
    snprintf(db->error, sizeof(db->error), "%s", msg ? msg : "");
    db->error[strcspn(db->error, "\n")] = '\0';
}

static void
forget_prepared(struct sl_db *db)
{
    memset(db->prepared, 0, db->nstmts ? db->nstmts : 1);
    db->ctx_prepared = false;
    db->in_tx = false;
}

static bool
broken(const struct sl_db *db)
{
    return db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD;
}

int
sl_db_connect(struct sl_db *db)
{
    char options[128];
    const char *keys[] = {"connect_timeout", "application_name", "options",
                          "dbname", NULL};
    const char *vals[] = {"5", db->app_name ? db->app_name : "sluice", options,
                          db->conninfo, NULL};

    if (!broken(db))
        return SL_OK;
    if (db->conn != NULL) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    forget_prepared(db);
    /* Generic plans: every statement is prepared once and its plan kept,
     * instead of planned again for each of its first executions. */
    /* DateStyle and TimeZone pinned: times the daemons read back as text
     * (and compare) must not depend on the server's or role's settings. */
    snprintf(options, sizeof(options),
             "-c statement_timeout=%d -c plan_cache_mode=force_generic_plan "
             "-c DateStyle=ISO -c TimeZone=UTC",
             db->statement_timeout_ms);
    /* Later keywords win: the conninfo may override the defaults above. */
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL) {
        set_error(db, "08000", "out of memory");
        return SL_EDBCONN;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        set_error(db, "08000", PQerrorMessage(db->conn));
        PQfinish(db->conn);
        db->conn = NULL;
        return SL_EDBCONN;
    }
    set_error(db, "", "");
    return SL_OK;
}

/* Maps a failed result (or none) to a return code and records why. */
static int
result_error(struct sl_db *db, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : NULL;

    if (msg == NULL || *msg == '\0')
        msg = db->conn ? PQerrorMessage(db->conn) : "no connection";
    set_error(db, state ? state : "08000", msg);
    if (r != NULL && PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) != NULL)
        snprintf(db->constraint, sizeof(db->constraint), "%s",
                 PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME));
    if (broken(db) || (state != NULL && strncmp(state, "08", 2) == 0))
        return SL_EDBCONN;
    if (state == NULL)
        return SL_EDB;
    if (strcmp(state, "23505") == 0)
        return SL_ECONFLICT;
    if (strcmp(state, "42501") == 0)
        return SL_EPERM;
    if (strcmp(state, "57014") == 0)
        return SL_ETIMEDOUT;
    /* admin_shutdown and friends: the server is going away. */
    if (strncmp(state, "57P", 3) == 0)
        return SL_EDBCONN;
    return SL_EDB;
}

static bool
result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static int
ensure_prepared(struct sl_db *db, int id)
{
    PGresult *r;
    int rc;

    if (db->prepared[id])
        return SL_OK;
    r = PQprepare(db->conn, db->stmts[id].name, db->stmts[id].sql, 0, NULL);
    if (!result_ok(r)) {
        rc = result_error(db, r);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    db->prepared[id] = 1;
    return SL_OK;
}

int
sl_db_exec(struct sl_db *db, int id, int nparams, const char *const *params,
           PGresult **res)
{
    PGresult *r;
    int rc;

    *res = NULL;
    if (id < 0 || (size_t)id >= db->nstmts)
        return SL_EINVAL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (broken(db)) {
            if (db->in_tx) {
                db->in_tx = false;
                set_error(db, "08000", "connection lost in a transaction");
                return SL_EDBCONN;
            }
            if ((rc = sl_db_connect(db)) != SL_OK)
                return rc;
        }
        rc = ensure_prepared(db, id);
        if (rc == SL_OK) {
            r = PQexecPrepared(db->conn, db->stmts[id].name, nparams, params,
                               NULL, NULL, 0);
            if (result_ok(r)) {
                *res = r;
                return SL_OK;
            }
            rc = result_error(db, r);
            PQclear(r);
        }
        if (rc != SL_EDBCONN || db->in_tx || !db->stmts[id].retry)
            break;
    }
    if (rc == SL_EDBCONN)
        db->in_tx = false;
    return rc;
}

/*
 * Collects the results of a pipeline of n commands ended by a sync: one
 * result per command, in order, into out[]. Returns 0 when all succeeded;
 * otherwise the code of the first failure. Every result is kept in out[]
 * (NULL where none arrived) for the caller to clear.
 */
static int
pipeline_collect(struct sl_db *db, PGresult **out, int n)
{
    int got = 0, rc = SL_OK, nulls = 0;

    for (int i = 0; i < n; i++)
        out[i] = NULL;
    for (;;) {
        PGresult *r = PQgetResult(db->conn);

        if (r == NULL) {
            /* A NULL ends each command's results; more means trouble. */
            if (broken(db) || ++nulls > n + 1) {
                if (rc == SL_OK)
                    rc = result_error(db, NULL);
                break;
            }
            continue;
        }
        nulls = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (!result_ok(r) && rc == SL_OK)
            rc = result_error(db, r);
        if (got < n)
            out[got++] = r;
        else
            PQclear(r);
    }
    if (rc == SL_OK && got < n)
        rc = result_error(db, NULL);
    return rc;
}

/*
 * Sends [BEGIN,] the context statement and [statement id] as one pipeline
 * and collects their results. begin selects an explicit transaction;
 * otherwise the commands share the implicit transaction that the extended
 * protocol gives everything before one Sync.
 */
static int
pipeline_scoped(struct sl_db *db, bool begin, const char *tenant_id,
                const char *user_id, int id, int nparams,
                const char *const *params, PGresult **res)
{
    const char *ctx_params[2] = {tenant_id ? tenant_id : "",
                                 user_id ? user_id : ""};
    PGresult *out[5];
    int n = 0, ctx_at, stmt_at = -1, prep_ctx = -1, prep_stmt = -1, rc;
    bool ok = PQenterPipelineMode(db->conn) == 1;

    if (ok && begin) {
        ok = PQsendQueryParams(db->conn, "BEGIN", 0, NULL, NULL, NULL, NULL,
                               0) == 1;
        n++;
    }
    if (ok && !db->ctx_prepared) {
        ok = PQsendPrepare(db->conn, ctx_name, ctx_sql, 2, NULL) == 1;
        prep_ctx = n++;
    }
    if (ok && id >= 0 && !db->prepared[id]) {
        ok = PQsendPrepare(db->conn, db->stmts[id].name, db->stmts[id].sql, 0,
                           NULL) == 1;
        prep_stmt = n++;
    }
    if (ok)
        ok = PQsendQueryPrepared(db->conn, ctx_name, 2, ctx_params, NULL, NULL,
                                 0) == 1;
    ctx_at = n++;
    if (ok && id >= 0) {
        ok = PQsendQueryPrepared(db->conn, db->stmts[id].name, nparams, params,
                                 NULL, NULL, 0) == 1;
        stmt_at = n++;
    }
    if (ok)
        ok = PQpipelineSync(db->conn) == 1;
    if (!ok) {
        rc = result_error(db, NULL);
        PQexitPipelineMode(db->conn);
        return rc;
    }
    rc = pipeline_collect(db, out, n);
    PQexitPipelineMode(db->conn);
    if (prep_ctx >= 0 && out[prep_ctx] && result_ok(out[prep_ctx]))
        db->ctx_prepared = true;
    if (prep_stmt >= 0 && out[prep_stmt] && result_ok(out[prep_stmt]))
        db->prepared[id] = 1;
    (void)ctx_at;
    for (int i = 0; i < n; i++) {
        if (i == stmt_at && rc == SL_OK && res != NULL)
            *res = out[i];
        else
            PQclear(out[i]);
    }
    return rc;
}

int
sl_db_exec_scoped(struct sl_db *db, const char *tenant_id, const char *user_id,
                  int id, int nparams, const char *const *params,
                  PGresult **res)
{
    int rc = SL_EDBCONN;

    *res = NULL;
    if (id < 0 || (size_t)id >= db->nstmts || db->in_tx)
        return SL_EINVAL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (broken(db) && (rc = sl_db_connect(db)) != SL_OK)
            return rc;
        rc = pipeline_scoped(db, false, tenant_id, user_id, id, nparams, params,
                             res);
        if (rc != SL_EDBCONN || !db->stmts[id].retry)
            break;
        /* The connection broke under a read-only statement: try anew. */
        PQfinish(db->conn);
        db->conn = NULL;
    }
    return rc;
}

int
sl_db_begin(struct sl_db *db, const char *tenant_id, const char *user_id)
{
    int rc = SL_EDBCONN;

    if (db->in_tx)
        return SL_EINVAL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (broken(db) && (rc = sl_db_connect(db)) != SL_OK)
            return rc;
        rc = pipeline_scoped(db, true, tenant_id, user_id, -1, 0, NULL, NULL);
        if (rc == SL_OK) {
            db->in_tx = true;
            return SL_OK;
        }
        if (rc != SL_EDBCONN)
            break;
        /* Nothing was done yet: beginning again is always safe. */
        PQfinish(db->conn);
        db->conn = NULL;
    }
    if (!broken(db)) {
        PGresult *r = PQexec(db->conn, "ROLLBACK");
        PQclear(r);
    }
    return rc;
}

int
sl_db_commit(struct sl_db *db)
{
    PGresult *r;
    int rc = SL_OK;

    if (!db->in_tx)
        return SL_EINVAL;
    db->in_tx = false;
    if (broken(db)) {
        set_error(db, "08000", "connection lost in a transaction");
        return SL_EDBCONN;
    }
    r = PQexec(db->conn, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = result_error(db, r);
    /* A COMMIT of an aborted transaction reports ROLLBACK. */
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        set_error(db, "25P02", "transaction was aborted");
        rc = SL_EDB;
    }
    PQclear(r);
    return rc;
}

void
sl_db_rollback(struct sl_db *db)
{
    if (!db->in_tx)
        return;
    db->in_tx = false;
    if (!broken(db))
        PQclear(PQexec(db->conn, "ROLLBACK"));
}

int
sl_db_ping(struct sl_db *db, double *ms)
{
    int64_t t0 = sl_clock_mono_us();
    PGresult *r;
    int rc;

    if (db->in_tx)
        return SL_EINVAL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (broken(db) && (rc = sl_db_connect(db)) != SL_OK)
            return rc;
        r = PQexec(db->conn, "SELECT 1");
        rc = result_ok(r) ? SL_OK : result_error(db, r);
        PQclear(r);
        if (rc != SL_EDBCONN)
            break;
        PQfinish(db->conn);
        db->conn = NULL;
    }
    *ms = (double)(sl_clock_mono_us() - t0) / 1000.0;
    return rc;
}

const char *
sl_db_error(const struct sl_db *db)
{
    return db->error;
}

const char *
sl_db_sqlstate(const struct sl_db *db)
{
    return db->sqlstate;
}

const char *
sl_db_constraint(const struct sl_db *db)
{
    return db->constraint;
}

static void
result_release(void *r)
{
    PQclear(r);
}

PGresult *
sl_db_pool_own(sl_pool *p, PGresult *r)
{
    if (r != NULL && sl_pool_cleanup_add(p, result_release, r) != SL_OK)
        return NULL;
    return r;
}

const char *
sl_db_value(const PGresult *r, int row, int col)
{
    if (r == NULL || row >= PQntuples(r) || col >= PQnfields(r) ||
        PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}
