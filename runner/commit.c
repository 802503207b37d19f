/*
 * commit.c: ending prepared transactions, and the sweep of what runners
 * left prepared (see commit.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commit.h"
#include "connector.h"
#include "err.h"
#include "filesink.h"
#include "json.h"
#include "pgconn.h"
#include "stmt.h"

/* SQLSTATE undefined_object: no prepared transaction of that name. */
#define SQLSTATE_NO_SUCH "42704"

/* Whether gid is of the form run_part_gid() makes, so safe in a literal. */
static bool
gid_ok(const char *gid)
{
    size_t n = strlen(gid);

    return n > 7 && n < 64 && strncmp(gid, "sluice_", 7) == 0 &&
           strspn(gid, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int
run_pg_end_prepared(PGconn *c, const char *gid, bool commit, char *err,
                    size_t errsz)
{
    char sql[128];
    int rc = SL_EDB;

    if (!gid_ok(gid)) {
        snprintf(err, errsz, "not a transaction of ours: %.64s", gid);
        return SL_EINVAL;
    }
    /* The statement takes no parameter; the gid is checked above. */
    snprintf(sql, sizeof(sql), "%s PREPARED '%s'",
             commit ? "COMMIT" : "ROLLBACK", gid);
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        PGresult *r;
        const char *state;

        if (attempt > 0) {
            if (PQstatus(c) == CONNECTION_OK)
                break;
            PQreset(c);
        }
        r = PQexec(c, sql);
        state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (PQresultStatus(r) == PGRES_COMMAND_OK ||
            (state != NULL && strcmp(state, SQLSTATE_NO_SUCH) == 0))
            rc = 0;
        else
            snprintf(err, errsz, "%.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                     PQerrorMessage(c));
        PQclear(r);
    }
    return rc;
}

/* Connects to the warehouse as the runner does. NULL: see the log. */
static PGconn *
open_warehouse(const struct sl_conf *conf, struct sl_logger *log)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          NULL};
    const char *vals[] = {conf->warehouse_url, "10", "sluice-runner", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        sl_log_warn(log, "commit sweep: the warehouse is unreachable: %s",
                    c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    return c;
}

/*
 * Connects to connector id of tenant with its credentials (also a
 * deleted connector: what it left prepared must still end). NULL: see
 * the log.
 */
static PGconn *
open_connector(struct sl_db *db, const struct sl_conf *conf,
               struct sl_logger *log, const char *tenant, const char *id)
{
    struct sl_pgconn_params p;
    struct sl_pgconn_opts o = {0};
    struct sl_pgconn_report rep;
    PGresult *res = NULL;
    json_t *settings = NULL;
    PGconn *c = NULL;
    char port[16];

    if (sl_db_exec_scoped(db, tenant, NULL, RUN_ST_PART_CONNECTOR, 1, &id,
                          &res) != 0 ||
        PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 0), "postgresql"))
        goto out;
    settings = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    if (settings == NULL ||
        sl_connector_unseal(conf->secret_key, tenant, id,
                            sl_db_value(res, 0, 2), settings) != 0)
        goto out;
    sl_connector_pg(settings, port, &p);
    o.timeout_ms = conf->connector_timeout_ms;
    o.allow_private = conf->connector_allow_private;
    if (sl_pgconn_open(&p, &o, &c, &rep) != 0) {
        sl_log_warn(log, "commit sweep: connector %s: %s", id, rep.error);
        c = NULL;
    }
out:
    if (c == NULL && (res == NULL || PQntuples(res) == 0))
        sl_log_warn(log, "commit sweep: connector %s cannot be read", id);
    json_decref(settings);
    PQclear(res);
    return c;
}

/*
 * Ends a file participant: renames tmp over path (commit) or removes it,
 * under the target's lock. Returns 0 when ended, SL_ECONFLICT when a
 * writer holds the lock (it finishes the rename itself, or a later sweep
 * does), or SL_EIO.
 */
static int
end_file(const char *path, const char *tmp, bool commit)
{
    int lock = run_file_lock(NULL, path), rc = 0;

    if (lock < 0)
        return lock;
    /* No temporary file: renamed or removed before. */
    if (access(tmp, F_OK) == 0)
        rc = commit                                ? run_file_replace(tmp, path)
             : unlink(tmp) == 0 || errno == ENOENT ? 0
                                                   : SL_EIO;
    close(lock);
    return rc;
}

int
run_commit_sweep(struct sl_db *db, const struct sl_conf *conf,
                 struct sl_logger *log)
{
    const char *grace[1] = {RUN_COMMIT_GRACE};
    PGresult *res = NULL;
    PGconn *wh = NULL;
    int rc, ended = 0;

    rc = sl_db_exec(db, RUN_ST_PART_DUE, 1, grace, &res);
    if (rc != 0)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *gid = PQgetvalue(res, i, 0);
        const char *tenant = PQgetvalue(res, i, 1);
        const char *kind = PQgetvalue(res, i, 3);
        const char *conn_id = sl_db_value(res, i, 4);
        bool commit = strcmp(PQgetvalue(res, i, 7), "commit") == 0;
        char err[256] = "", arr[96];
        const char *q[1] = {arr};
        PGresult *r2 = NULL;
        PGconn *c = NULL;

        if (strcmp(kind, "file") == 0) {
            if (!run_file_part_ok(conf->data_dir, tenant, PQgetvalue(res, i, 5),
                                  PQgetvalue(res, i, 6))) {
                sl_log_error(log,
                             "run %s: part %s names a file this runner "
                             "does not write; left alone",
                             PQgetvalue(res, i, 2), gid);
                continue;
            }
            rc = end_file(PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), commit);
            if (rc == SL_ECONFLICT)
                continue;
            if (rc != 0)
                snprintf(err, sizeof(err), "%s", strerror(errno));
        } else {
            if (conn_id == NULL && wh == NULL)
                wh = open_warehouse(conf, log);
            c = conn_id == NULL
                    ? wh
                    : open_connector(db, conf, log, tenant, conn_id);
            rc = c == NULL
                     ? SL_EDBCONN
                     : run_pg_end_prepared(c, gid, commit, err, sizeof(err));
            if (c != wh)
                PQfinish(c);
        }
        if (rc != 0) {
            sl_log_warn(log, "run %s: cannot %s %s yet: %s",
                        PQgetvalue(res, i, 2), commit ? "commit" : "roll back",
                        gid, err);
            continue;
        }
        sl_log_warn(log, "run %s: %s %s, which its runner left %s",
                    PQgetvalue(res, i, 2), commit ? "committed" : "rolled back",
                    gid, commit ? "decided but not committed" : "undecided");
        snprintf(arr, sizeof(arr), "{%s}", gid);
        if (sl_db_exec_scoped(db, tenant, NULL, RUN_ST_PART_DONE, 1, q, &r2) ==
            0)
            ended++;
        PQclear(r2);
    }
    PQfinish(wh);
    PQclear(res);
    return ended;
}
