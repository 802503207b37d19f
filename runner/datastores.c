/*
 * datastores.c: where a node's data lives: the PostgreSQL database or the
 * directory its config names (engine.h: run_pg_open, run_wh_schema,
 * run_file_path).
 *
 * A node reaches only what its organisation owns. A connection_id is
 * looked up in a transaction scoped to the run's organisation, so another
 * organisation's connector is "not found"; the warehouse is reached in
 * the organisation's own schemas; files resolve under the organisation's
 * own directory of data_dir, and a path that climbs out (.., an absolute
 * path, a symbolic link) is refused after the real path is known.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connector.h"
#include "crypto.h"
#include "engine.h"
#include "json.h"
#include "pgconn.h"
#include "pgcopy.h"
#include "stmt.h"
#include "uuid.h"
#include "warehouse.h"

const char *
run_wh_schema(struct run_node *n, const char *layer)
{
    const char *s;

    if (layer == NULL)
        layer = SL_WH_LAYER_DEFAULT;
    if ((s = sl_wh_schema(n->pool, n->job->tenant_id, layer)) != NULL)
        return s;
    if (sl_wh_layer(layer) != NULL) /* out of memory */
        return NULL;
    run_node_fail(n, "VALIDATION_ERROR",
                  "schema \"%.63s\": the warehouse has the layers bronze, "
                  "silver and gold",
                  layer);
    return NULL;
}

/*
 * Reads connector id of the run's organisation, secrets opened, as a new
 * object in *settings (registered on n's pool). Fails n when there is no
 * such connector or it is not of kind want.
 */
static int
load_connector(struct run_node *n, const char *id, const char *want,
               json_t **settings)
{
    struct run_job *job = n->job;
    PGresult *res = NULL;
    int rc;

    *settings = NULL;
    if (!sl_uuid_valid(id))
        return run_node_fail(n, "CONNECTOR_NOT_FOUND",
                             "connection_id: no connector %.64s in this "
                             "organization",
                             id);
    rc = sl_db_exec_scoped(job->db, job->tenant_id, NULL, RUN_ST_CONNECTOR, 1,
                           &id, &res);
    if (rc != 0)
        return run_node_fail(n, NULL, "cannot read connector %s: %s", id,
                             sl_strerror(rc));
    if (PQntuples(res) == 0) {
        PQclear(res);
        return run_node_fail(n, "CONNECTOR_NOT_FOUND",
                             "connection_id: no connector %s in this "
                             "organization",
                             id);
    }
    if (strcmp(PQgetvalue(res, 0, 0), want) != 0) {
        rc = run_node_fail(n, "VALIDATION_ERROR",
                           "connector %s is of type %s, not %s", id,
                           PQgetvalue(res, 0, 0), want);
        PQclear(res);
        return rc;
    }
    *settings =
        sl_json_pool_own(n->pool, json_loads(PQgetvalue(res, 0, 1), 0, NULL));
    rc = *settings == NULL
             ? SL_EPARSE
             : sl_connector_unseal(job->conf->secret_key, job->tenant_id, id,
                                   sl_db_value(res, 0, 2), *settings);
    PQclear(res);
    if (rc != 0)
        return run_node_fail(n, "CONNECTOR_ERROR",
                             "the credentials of connector %s cannot be "
                             "opened with this server's secret_key",
                             id);
    return 0;
}

/* Connects to the warehouse as the runner. */
static int
open_warehouse(struct run_node *n, PGconn **conn)
{
    const struct sl_conf *conf = n->job->conf;
    char timeout[16];
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          NULL};
    const char *vals[] = {conf->warehouse_url, timeout, "sluice-runner", NULL};
    PGconn *c;

    snprintf(timeout, sizeof(timeout), "%d",
             (conf->connector_timeout_ms + 999) / 1000);
    c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        sl_log_error(n->job->log, "warehouse unreachable: %s",
                     c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return run_node_fail(n, "WAREHOUSE_UNAVAILABLE",
                             "the warehouse is unavailable");
    }
    *conn = c;
    return 0;
}

/*
 * The organisation's warehouse role, sluice_t_<tenant>, and its password:
 * an HMAC of the name under secret_key, so that every runner knows it and
 * nobody else does. Without a secret_key there is no such password: fails
 * n.
 */
static int
org_role(struct run_node *n, char role[80], char pw[SL_SHA256_HEX_LEN])
{
    const char *secret = n->job->conf->secret_key;
    unsigned char mac[SL_SHA256_LEN];
    char label[128];

    snprintf(role, 80, "sluice_t_%s", n->job->tenant_id);
    snprintf(label, sizeof(label), "sluice warehouse role/%s", role);
    if (secret == NULL || *secret == '\0')
        return run_node_fail(n, "CONFIGURATION_ERROR",
                             "SQL in the warehouse needs the operator's "
                             "secret_key");
    if (sl_hmac_sha256(secret, strlen(secret), label, strlen(label), mac) != 0)
        return SL_ECRYPTO;
    sl_hex(mac, sizeof(mac), pw);
    explicit_bzero(mac, sizeof(mac));
    return 0;
}

/*
 * Creates or updates the organisation's role, as the runner: LOGIN with
 * the derived password (sent as a SCRAM verifier, never in clear), the
 * right to connect and to make temporary tables, USAGE and SELECT on its
 * layer schemas (made first if missing), SELECT on the tables the runner
 * makes there later, those schemas as its search path, and its limits
 * (statement_timeout, temp_file_limit, work_mem) from the configuration.
 * temp_file_limit can be set only by a superuser or a role granted SET
 * on it (PostgreSQL 15). One transaction; a concurrent runner doing the
 * same makes it fail, and the caller then tries again.
 */
static int
org_role_setup(struct run_node *n, PGconn *c, const char *role, const char *pw)
{
    const struct sl_conf *conf = n->job->conf;
    const char *r = run_quote(n->pool, c, role), *p[1] = {role};
    const char *db = NULL, *path = "", *verb;
    char *verifier = NULL, *lit = NULL;
    PGresult *res;
    sl_buf b;
    int rc;

    if (r == NULL)
        return SL_ENOMEM;
    res = PQexecParams(c,
                       "SELECT current_database(), EXISTS (SELECT FROM "
                       "pg_roles WHERE rolname = $1)",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return SL_EDB;
    }
    db = run_quote(n->pool, c, PQgetvalue(res, 0, 0));
    verb = PQgetvalue(res, 0, 1)[0] == 't' ? "ALTER" : "CREATE";
    PQclear(res);
    verifier = PQencryptPasswordConn(c, pw, role, NULL);
    lit = verifier ? PQescapeLiteral(c, verifier, strlen(verifier)) : NULL;
    if (db == NULL || lit == NULL) {
        rc = SL_ENOMEM;
        goto out;
    }
    sl_buf_init(&b, 64 * 1024);
    sl_buf_printf(&b,
                  "BEGIN; %s ROLE %s LOGIN NOINHERIT NOCREATEDB NOCREATEROLE "
                  "CONNECTION LIMIT 32 PASSWORD %s; "
                  "GRANT CONNECT, TEMPORARY ON DATABASE %s TO %s; ",
                  verb, r, lit, db, r);
    for (size_t i = 0; i < sl_wh_nlayers; i++) {
        const char *name =
            sl_wh_schema(n->pool, n->job->tenant_id, sl_wh_layers[i]);
        const char *s = name ? run_quote(n->pool, c, name) : NULL;
        char err[256];

        /* Each schema is made first, on its own (a runner racing to make
         * it is no failure); the transaction grants. */
        if (s == NULL ||
            (rc = sl_wh_schema_create(c, name, err, sizeof(err))) != 0) {
            if (s != NULL)
                sl_log_warn(n->job->log, "warehouse schema %s: %s", name, err);
            rc = s == NULL ? SL_ENOMEM : rc;
            sl_buf_free(&b);
            goto out;
        }
        sl_buf_printf(&b,
                      "GRANT USAGE ON SCHEMA %s TO %s; "
                      "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s; "
                      "ALTER DEFAULT PRIVILEGES IN SCHEMA %s "
                      "GRANT SELECT ON TABLES TO %s; ",
                      s, r, s, r, s, r);
        path = sl_psprintf(n->pool, "%s%s%s", path, i ? ", " : "", s);
    }
    sl_buf_printf(&b,
                  "ALTER ROLE %s SET search_path = %s; "
                  "ALTER ROLE %s SET statement_timeout = %d; "
                  "ALTER ROLE %s SET temp_file_limit = %d; "
                  "ALTER ROLE %s SET work_mem = %d; COMMIT",
                  r, path, r, conf->warehouse_statement_timeout_ms, r,
                  conf->warehouse_temp_file_limit_mb * 1024, r,
                  conf->warehouse_work_mem_mb * 1024);
    res = PQexec(c, b.data);
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : SL_EDB;
    if (rc != 0)
        sl_log_warn(n->job->log, "warehouse role %s: %s", role,
                    PQresultErrorMessage(res));
    PQclear(res);
    sl_buf_free(&b);
    if (rc != 0)
        PQclear(PQexec(c, "ROLLBACK"));
out:
    PQfreemem(lit);
    PQfreemem(verifier);
    return rc;
}

/* Connects to the warehouse as role with password pw. */
static PGconn *
connect_as(struct run_node *n, const char *role, const char *pw)
{
    const struct sl_conf *conf = n->job->conf;
    char timeout[16];
    const char *keys[] = {"dbname",           "user",
                          "password",         "connect_timeout",
                          "application_name", NULL};
    const char *vals[] = {conf->warehouse_url, role, pw, timeout,
                          "sluice-runner",     NULL};

    snprintf(timeout, sizeof(timeout), "%d",
             (conf->connector_timeout_ms + 999) / 1000);
    return PQconnectdbParams(keys, vals, 1);
}

/*
 * Checks the session c of the organisation's role: *as_configured says
 * whether it has the limits the configuration gives, as its role's
 * settings (base units: ms, kB, kB); if not, the role is to be set up
 * again. Fails n when the role may call set_config() (it must not: it
 * could raise them). Returns 0, or < 0 with n failed.
 */
static int
org_role_check(struct run_node *n, PGconn *c, bool *as_configured)
{
    const struct sl_conf *conf = n->job->conf;
    PGresult *res =
        PQexec(c, "SELECT (SELECT string_agg(setting, ',' ORDER BY name) "
                  "FROM pg_settings WHERE name IN ('statement_timeout', "
                  "'temp_file_limit', 'work_mem')), has_function_privilege("
                  "'pg_catalog.set_config(text, text, boolean)', 'EXECUTE')");
    char want[64];
    int rc;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = run_pg_fail(n, c, res);
        PQclear(res);
        return rc;
    }
    snprintf(want, sizeof(want), "%d,%d,%d",
             conf->warehouse_statement_timeout_ms,
             conf->warehouse_temp_file_limit_mb * 1024,
             conf->warehouse_work_mem_mb * 1024);
    *as_configured = strcmp(PQgetvalue(res, 0, 0), want) == 0;
    if (*as_configured && PQgetvalue(res, 0, 1)[0] == 't')
        rc = run_node_fail(n, "CONFIGURATION_ERROR",
                           "every role may call set_config() in the "
                           "warehouse, so SQL could raise its limits: the "
                           "operator must revoke it (docs/operator-guide.md, "
                           "PostgreSQL)");
    else
        rc = 0;
    PQclear(res);
    return rc;
}

int
run_wh_open_org(struct run_node *n, PGconn **conn)
{
    char role[80], pw[SL_SHA256_HEX_LEN];
    PGconn *c = NULL, *admin = NULL;
    bool in = false, ready = false;
    int rc = 0;

    *conn = NULL;
    if ((rc = org_role(n, role, pw)) != 0)
        return rc;
    /* The first time, after secret_key or the limits changed: set the
     * role up, as the runner, and try again. Two runners may race; one
     * attempt more settles it. */
    for (int attempt = 0;; attempt++) {
        c = connect_as(n, role, pw);
        in = c != NULL && PQstatus(c) == CONNECTION_OK;
        if (in && (rc = org_role_check(n, c, &ready)) != 0)
            goto out;
        if (ready || attempt == 2)
            break;
        PQfinish(c);
        c = NULL;
        if ((rc = open_warehouse(n, &admin)) != 0)
            goto out;
        rc = org_role_setup(n, admin, role, pw);
        PQfinish(admin);
        admin = NULL;
        if (rc == SL_ENOMEM)
            goto out;
    }
    if (!in) {
        sl_log_error(n->job->log, "warehouse role %s cannot log in: %s", role,
                     c ? PQerrorMessage(c) : "out of memory");
        rc = run_node_fail(n, "WAREHOUSE_UNAVAILABLE",
                           "the organization's warehouse role cannot log in");
        goto out;
    }
    if (!ready) {
        rc = run_node_fail(n, "CONFIGURATION_ERROR",
                           "the organization's warehouse role cannot be "
                           "given its limits (the runner's log says why)");
        goto out;
    }
    /* A setup that lost a race to another runner's is no failure. */
    if ((rc = run_pg_timeout(n, c, 0)) != 0)
        goto out;
    *conn = c;
    c = NULL;
out:
    PQfinish(c);
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

int
run_pg_timeout(struct run_node *n, PGconn *c, int cap_ms)
{
    int ms = run_time_left_ms(n->job);

    if (run_deadline_passed(n->job))
        return RUN_ECANCELLED;
    if (cap_ms > 0 && cap_ms < ms)
        ms = cap_ms;
    /* INT_MAX: no deadline and no cap (PostgreSQL's 0). */
    return run_pg_do(n, c,
                     sl_psprintf(n->pool, "SET statement_timeout = %d",
                                 ms == INT_MAX ? 0 : ms));
}

int
run_pg_open(struct run_node *n, PGconn **conn, bool *warehouse)
{
    const char *id = sl_json_get_str(n->config, "connection_id");
    struct sl_pgconn_params p;
    struct sl_pgconn_opts o = {0};
    struct sl_pgconn_report rep;
    json_t *settings;
    char port[16];
    int rc;

    *conn = NULL;
    *warehouse = id == NULL;
    if (id == NULL) {
        if ((rc = open_warehouse(n, conn)) != 0)
            return rc;
        return run_pg_timeout(n, *conn, 0);
    }
    if ((rc = load_connector(n, id, "postgresql", &settings)) != 0)
        return rc;
    sl_connector_pg(settings, port, &p);
    o.timeout_ms = n->job->conf->connector_timeout_ms;
    o.allow_private = n->job->conf->connector_allow_private;
    rc = sl_pgconn_open(&p, &o, conn, &rep);
    if (rc != 0)
        return run_node_fail(n, "CONNECTION_FAILED", "connector %s: %s", id,
                             rep.error);
    return run_pg_timeout(n, *conn, 0);
}

/* mkdir -p of dir, which is under an existing root. */
static int
make_dirs(char *dir)
{
    for (char *s = dir + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            *s = '/';
            return SL_EIO;
        }
        *s = '/';
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return SL_EIO;
    return 0;
}

/* Whether path is root or inside it (both real paths). */
static bool
inside(const char *path, const char *root)
{
    size_t n = strlen(root);

    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

const char *
run_file_path(struct run_node *n, const char *rel, bool for_write)
{
    struct run_job *job = n->job;
    const char *id = sl_json_get_str(n->config, "connection_id");
    const char *base;
    char real_base[PATH_MAX], real[PATH_MAX], *full, *slash;
    json_t *settings = NULL;

    if (!sl_wh_path_ok(rel)) {
        run_node_fail(n, "VALIDATION_ERROR",
                      "path must be relative and may not contain \"..\"");
        return NULL;
    }
    if (id != NULL && load_connector(n, id, "file", &settings) != 0)
        return NULL;
    base = sl_connector_dir(n->pool, job->conf->data_dir, job->tenant_id,
                            settings);
    if (base == NULL) {
        run_node_fail(n, "CONNECTOR_ERROR", "the connector's path is invalid");
        return NULL;
    }
    if (for_write && id == NULL)
        make_dirs(sl_pstrdup(n->pool, base));
    if (realpath(base, real_base) == NULL) {
        run_node_fail(n, "FILE_NOT_FOUND", "the directory of %s is missing",
                      id ? "the connector" : "the organization's files");
        return NULL;
    }
    full = sl_psprintf(n->pool, "%s/%s", real_base, rel);
    if (full == NULL)
        return NULL;
    if (for_write) {
        /* The file may not exist yet: its directory must be inside. */
        slash = strrchr(full, '/');
        *slash = '\0';
        if (make_dirs(full) != 0 || realpath(full, real) == NULL ||
            !inside(real, real_base)) {
            run_node_fail(n, "VALIDATION_ERROR",
                          "path %.200s: cannot write there", rel);
            return NULL;
        }
        *slash = '/';
        return full;
    }
    if (realpath(full, real) == NULL) {
        run_node_fail(n, "FILE_NOT_FOUND", "path %.200s: no such file", rel);
        return NULL;
    }
    if (!inside(real, real_base)) {
        run_node_fail(n, "VALIDATION_ERROR",
                      "path %.200s leads outside the directory", rel);
        return NULL;
    }
    return sl_pstrdup(n->pool, real);
}

int
run_file_open(struct run_node *n, int *fd, off_t *size)
{
    const char *rel = sl_json_get_str(n->config, "path");
    const char *path = run_file_path(n, rel, false);
    struct stat st;

    if (path == NULL)
        return SL_ERR;
    if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(*fd, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return run_node_fail(n, "FILE_NOT_FOUND", "cannot read %s", rel);
    *size = st.st_size;
    return 0;
}
