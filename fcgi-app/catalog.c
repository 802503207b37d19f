/*
 * catalog.c: /catalog (seed 001) — the organisation's data, as catalogs
 * of schemas of tables, with their columns and statistics computed from
 * the data itself.
 *
 * Two kinds of catalog: "warehouse", the organisation's own schemas in
 * the warehouse database (DESIGN.md: layers bronze, silver and gold, kept
 * as the schemas t_<tenant>_<layer>, which no other organisation's
 * request ever names), and each of its postgresql connectors, by name or
 * id. Every identifier that reaches SQL text is either one of the three
 * layer names or was first found in the catalog by a parameterised query
 * (lib/pgconn.c), and is quoted with PQescapeIdentifier.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "connectors.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "pgconn.h"
#include "request.h"
#include "uuid.h"
#include "warehouse.h"

#define WAREHOUSE    "warehouse"
#define MAX_TABLES_S "50" /* tables described per list */
#define MAX_TREE     500

/* A catalog opened for a request: a connection and how names map. */
struct catalog {
    PGconn *conn;
    bool warehouse;
    const char *name;
    const char *connector_id; /* NULL for the warehouse */
    const char *created_at;
};

static void
catalog_close(struct catalog *cat)
{
    if (cat->conn != NULL)
        PQfinish(cat->conn);
    cat->conn = NULL;
}

/* The warehouse schema of a layer for this tenant: t_<tenant>_<layer>. */
static const char *
physical(struct api_req *r, const char *layer)
{
    return sl_wh_schema(r->pool, r->who.tenant_id, layer);
}

/*
 * Connects to the warehouse and makes sure the tenant's layer schemas
 * exist. Returns 0 with the connection in *conn, or API_ANSWERED with the
 * 503 set.
 */
static int API_ANSWERS
warehouse_connect(struct api_req *r, PGconn **conn)
{
    const struct sl_conf *conf = r->ctx->conf;
    char timeout[16], options[64];
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          "options", NULL};
    const char *vals[] = {conf->warehouse_url, timeout, "sluice-api", options,
                          NULL};
    PGconn *c;

    snprintf(timeout, sizeof(timeout), "%d",
             (conf->connector_timeout_ms + 999) / 1000);
    snprintf(options, sizeof(options), "-c statement_timeout=%d",
             conf->db_statement_timeout_ms);
    c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        sl_log_error(&r->ctx->log, "warehouse unreachable: %s",
                     c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        api_add_header(r, "Retry-After: 5");
        return api_error(r, 503, "SERVICE_UNAVAILABLE",
                         "The warehouse is unavailable; try again shortly",
                         NULL);
    }
    /* A schema that cannot be made now shows as empty. */
    for (size_t i = 0; i < sl_wh_nlayers; i++) {
        const char *name = physical(r, sl_wh_layers[i]);

        if (name != NULL)
            (void)sl_wh_schema_create(c, name, NULL, 0);
    }
    *conn = c;
    return 0;
}

/*
 * Opens the catalog name. Returns 0 with cat's connection open (the
 * caller closes it with catalog_close()), or API_ANSWERED with the 404,
 * 502, 503 or the database's error set (and no connection).
 */
static int API_ANSWERS
catalog_open(struct api_req *r, const char *name, struct catalog *cat)
{
    const char *params[1] = {name};
    struct sl_pgconn_params p;
    struct sl_pgconn_opts o;
    struct sl_pgconn_report rep;
    const char *type;
    json_t *s;
    PGresult *res;
    int rc;

    memset(cat, 0, sizeof(*cat));
    cat->name = name;
    if (strcmp(name, WAREHOUSE) == 0) {
        cat->warehouse = true;
        return warehouse_connect(r, &cat->conn);
    }
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_CONNECTOR_CATALOGS, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "CATALOG_NOT_FOUND",
                         "No such catalog: give \"warehouse\" or a "
                         "postgresql connector's name or id",
                         json_pack("{s:s}", "catalog", name));
    cat->connector_id = PQgetvalue(res, 0, 0);
    cat->created_at = PQgetvalue(res, 0, 2);
    rc = api_connector_load(r, cat->connector_id, false, &type, &s, NULL);
    if (rc != 0)
        return api_connector_error(r, cat->connector_id, rc);
    api_connector_pg(r, s, &p, &o);
    if (sl_pgconn_open(&p, &o, &cat->conn, &rep) != 0)
        return api_error(r, 502, "CONNECTOR_ERROR", rep.error,
                         json_pack("{s:s}", "catalog", name));
    return 0;
}

/*
 * The physical schema that schema, as the route names it, is in cat, in
 * *phys. Returns 0, or API_ANSWERED with the 404 set.
 */
static int API_ANSWERS
schema_of(struct api_req *r, struct catalog *cat, const char *schema,
          const char **phys)
{
    *phys = schema;
    if (!cat->warehouse)
        return 0;
    if (sl_wh_layer(schema) == NULL)
        return api_error(r, 404, "SCHEMA_NOT_FOUND",
                         "The warehouse has the schemas bronze, silver and "
                         "gold",
                         json_pack("{s:s}", "schema", schema));
    *phys = physical(r, schema);
    return *phys != NULL ? 0 : SL_ENOMEM;
}

/* Schemas with their table counts: [{"name", "tables_count"}]. */
static json_t *
list_schemas(struct api_req *r, struct catalog *cat)
{
    json_t *out = json_array();

    if (cat->warehouse) {
        for (size_t i = 0; i < sl_wh_nlayers; i++) {
            const char *params[1] = {physical(r, sl_wh_layers[i])};
            PGresult *res = NULL;
            int rc = sl_pgconn_exec(
                cat->conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = $1 "
                "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
                "AND NOT c.relispartition",
                1, params, &res);

            json_array_append_new(
                out,
                json_pack("{s:s, s:I}", "name", sl_wh_layers[i], "tables_count",
                          rc == 0 && PQntuples(res) == 1
                              ? (json_int_t)atoll(PQgetvalue(res, 0, 0))
                              : 0));
            PQclear(res);
        }
        return out;
    }
    {
        json_t *tree = NULL, *sch;
        size_t i;

        if (sl_pgconn_schema_tree(cat->conn, MAX_TREE, &tree) != 0)
            return out;
        json_array_foreach(json_object_get(tree, "schemas"), i, sch)
            json_array_append_new(
                out, json_pack("{s:O, s:I}", "name",
                               json_object_get(sch, "name"), "tables_count",
                               (json_int_t)json_array_size(
                                   json_object_get(sch, "tables"))));
        json_decref(tree);
    }
    return out;
}

/*
 * What the table's catalog says beyond sl_pgconn_table(): partitions,
 * their count and when the table's statistics last changed.
 */
static void
table_extras(PGconn *c, const char *schema, const char *table, json_t *out)
{
    const char *params[2] = {schema, table};
    PGresult *res = NULL;
    int rc = sl_pgconn_exec(
        c,
        "SELECT (SELECT json_agg(json_build_object('column', a.attname, "
        "'type', format_type(a.atttypid, a.atttypmod))) "
        "FROM pg_partitioned_table pt JOIN pg_attribute a "
        "ON a.attrelid = pt.partrelid AND a.attnum = ANY(pt.partattrs::int2[]) "
        "WHERE pt.partrelid = r.oid), "
        "(SELECT count(*) FROM pg_inherits WHERE inhparent = r.oid), "
        "(SELECT to_char(greatest(s.last_vacuum, s.last_autovacuum, "
        "s.last_analyze, s.last_autoanalyze) AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_stat_all_tables s "
        "WHERE s.relid = r.oid) "
        "FROM (SELECT to_regclass(format('%I.%I', $1::text, $2::text)) oid) r",
        2, params, &res);

    if (rc == 0 && PQntuples(res) == 1) {
        json_t *parts = PQgetisnull(res, 0, 0)
                            ? json_array()
                            : json_loads(PQgetvalue(res, 0, 0), 0, NULL);

        json_object_set_new(out, "partitions", parts ? parts : json_array());
        json_object_set_new(out, "partition_count",
                            json_integer(atoll(PQgetvalue(res, 0, 1))));
        json_object_set_new(out, "last_updated",
                            sl_json_str_or_null(sl_db_value(res, 0, 2)));
    }
    PQclear(res);
}

/* Answers for a failed introspection call. Returns API_ANSWERED. */
static int API_ANSWERS
introspection_error(struct api_req *r, int rc, const char *schema,
                    const char *table)
{
    if (rc == SL_ENOTFOUND)
        return api_error(
            r, 404, "TABLE_NOT_FOUND", "No such table",
            json_pack("{s:s, s:s}", "schema", schema, "table", table));
    if (rc == SL_EPERM)
        return api_error(r, 403, "INSUFFICIENT_PERMISSIONS",
                         "The catalog's user may not read this table", NULL);
    if (rc == SL_ETIMEDOUT)
        return api_error(r, 504, "DATABASE_TIMEOUT",
                         "The table took too long to read", NULL);
    return api_error(r, 502, "CONNECTOR_ERROR",
                     "The database did not describe the table", NULL);
}

int
api_h_catalogs_list(struct api_req *r)
{
    struct catalog wh;
    json_t *list = json_array();
    PGresult *res;
    const char *params[1] = {NULL};
    int rc;

    sl_json_pool_own(r->pool, list);
    if ((rc = catalog_open(r, WAREHOUSE, &wh)) != 0)
        return rc;
    json_array_append_new(list,
                          json_pack("{s:s, s:s, s:s, s:o}", "name", WAREHOUSE,
                                    "type", "postgresql", "provider", "sluice",
                                    "schemas", list_schemas(r, &wh)));
    catalog_close(&wh);
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_CONNECTOR_CATALOGS, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    /* Connectors' schemas are listed at .../{catalog}/schemas: listing
     * them here would connect to every one of them. */
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "name",
                                        PQgetvalue(res, i, 1), "connector_id",
                                        PQgetvalue(res, i, 0), "type",
                                        "postgresql", "provider", "connector",
                                        "created_at", PQgetvalue(res, i, 2)));
    return api_reply(r, 200,
                     json_pack("{s:O, s:O, s:I}", "catalogs", list, "items",
                               list, "total",
                               (json_int_t)json_array_size(list)));
}

int
api_h_catalog_schemas(struct api_req *r)
{
    struct catalog cat;
    json_t *schemas;
    int rc;

    if ((rc = catalog_open(r, api_param(r, "catalog"), &cat)) != 0)
        return rc;
    schemas = list_schemas(r, &cat);
    catalog_close(&cat);
    return api_reply(
        r, 200,
        json_pack("{s:s, s:o}", "catalog", cat.name, "schemas", schemas));
}

int
api_h_catalog_tables(struct api_req *r)
{
    const char *schema = api_param(r, "schema"), *phys, *params[1];
    struct catalog cat;
    json_t *tables = json_array();
    PGresult *res;
    int rc;

    sl_json_pool_own(r->pool, tables);
    if ((rc = catalog_open(r, api_param(r, "catalog"), &cat)) != 0)
        return rc;
    if ((rc = schema_of(r, &cat, schema, &phys)) != 0)
        goto out;
    params[0] = phys;
    if (sl_pgconn_exec(
            cat.conn,
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = $1 "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND NOT c.relispartition ORDER BY 1 LIMIT " MAX_TABLES_S,
            1, params, &res) != 0) {
        rc = api_error(r, 502, "CONNECTOR_ERROR",
                       "The catalog could not be read", NULL);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *t = NULL;
        const char *name = PQgetvalue(res, i, 0);

        if (sl_pgconn_table(cat.conn, phys, name, &t) != 0)
            continue;
        table_extras(cat.conn, phys, name, t);
        json_object_set_new(t, "name", json_string(name));
        json_object_set_new(t, "schema", json_string(schema));
        json_object_set(t, "updated_at", json_object_get(t, "last_updated"));
        json_array_append_new(tables, t);
    }
    PQclear(res);
    rc = api_reply(r, 200,
                   json_pack("{s:s, s:s, s:O, s:O}", "catalog", cat.name,
                             "schema", schema, "tables", tables, "items",
                             tables));
out:
    catalog_close(&cat);
    return rc;
}

int
api_h_catalog_table_schema(struct api_req *r)
{
    const char *schema = api_param(r, "schema"), *table = api_param(r, "table");
    const char *phys;
    struct catalog cat;
    json_t *t = NULL;
    int rc;

    if ((rc = catalog_open(r, api_param(r, "catalog"), &cat)) != 0)
        return rc;
    if ((rc = schema_of(r, &cat, schema, &phys)) != 0)
        goto out;
    rc = sl_pgconn_table(cat.conn, phys, table, &t);
    if (rc != 0) {
        rc = introspection_error(r, rc, schema, table);
        goto out;
    }
    table_extras(cat.conn, phys, table, t);
    json_object_set_new(t, "schema", json_string(schema));
    json_object_set_new(t, "catalog", json_string(cat.name));
    rc = api_reply(r, 200, t);
out:
    catalog_close(&cat);
    return rc;
}

int
api_h_catalog_table_stats(struct api_req *r)
{
    const char *schema = api_param(r, "schema"), *table = api_param(r, "table");
    const char *phys;
    struct catalog cat;
    json_t *t = NULL, *stats = NULL, *by_col, *col;
    size_t i;
    int rc;

    if ((rc = catalog_open(r, api_param(r, "catalog"), &cat)) != 0)
        return rc;
    if ((rc = schema_of(r, &cat, schema, &phys)) != 0)
        goto out;
    if ((rc = sl_pgconn_table(cat.conn, phys, table, &t)) != 0 ||
        (rc = sl_pgconn_column_stats(cat.conn, phys, table, &stats)) != 0) {
        json_decref(t);
        rc = introspection_error(r, rc, schema, table);
        goto out;
    }
    table_extras(cat.conn, phys, table, t);
    /* Seed 001 keys the column statistics by column name. */
    by_col = json_object();
    json_array_foreach(json_object_get(stats, "columns"), i, col)
    {
        json_t *one = json_deep_copy(col);

        json_object_del(one, "name");
        json_object_set_new(
            by_col, json_string_value(json_object_get(col, "name")), one);
    }
    rc = api_reply(
        r, 200,
        json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O?, s:O?, s:o, s:O?}",
                  "catalog", cat.name, "schema", schema, "table_name", table,
                  "row_count", json_object_get(stats, "row_count"),
                  "size_bytes", json_object_get(t, "size_bytes"),
                  "partition_count", json_object_get(t, "partition_count"),
                  "last_updated", json_object_get(t, "last_updated"),
                  "column_stats", by_col, "truncated",
                  json_object_get(stats, "truncated")));
    json_decref(t);
    json_decref(stats);
out:
    catalog_close(&cat);
    return rc;
}
