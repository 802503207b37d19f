/*
 * warehouse.c: the warehouse's layers, schema names and path rule (see
 * warehouse.h).
 */
#include "warehouse.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

/* SQLSTATEs of a schema that another connection made meanwhile. */
#define SQLSTATE_DUPLICATE_SCHEMA "42P06"
#define SQLSTATE_UNIQUE_VIOLATION "23505"

const char *const sl_wh_layers[] = {"bronze", "silver", "gold"};
const size_t sl_wh_nlayers = sizeof(sl_wh_layers) / sizeof(sl_wh_layers[0]);

const char *
sl_wh_layer(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sl_wh_nlayers; i++)
        if (strcmp(name, sl_wh_layers[i]) == 0)
            return sl_wh_layers[i];
    return NULL;
}

/* Whether t is an organisation's id as tenants.id allows: [a-z0-9_]. */
static bool
tenant_ok(const char *t)
{
    size_t n = t != NULL ? strlen(t) : 0;

    return n >= 1 && n <= SL_WH_TENANT_MAX &&
           strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

const char *
sl_wh_schema(sl_pool *p, const char *tenant, const char *layer)
{
    const char *l = sl_wh_layer(layer);

    if (l == NULL || !tenant_ok(tenant))
        return NULL;
    return sl_psprintf(p, "t_%s_%s", tenant, l);
}

int
sl_wh_schema_create(PGconn *c, const char *schema, char *err, size_t errsz)
{
    char *id = PQescapeIdentifier(c, schema, strlen(schema));
    char sql[128];
    PGresult *res;
    const char *state, *msg;
    int n, rc = 0;

    if (err != NULL && errsz > 0)
        err[0] = '\0';
    if (id == NULL)
        return SL_ENOMEM;
    n = snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", id);
    PQfreemem(id);
    if (n < 0 || (size_t)n >= sizeof(sql))
        return SL_EINVAL; /* longer than any sl_wh_schema() makes */
    res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* Another connection made it between our look and our insert. */
        if (state == NULL || (strcmp(state, SQLSTATE_DUPLICATE_SCHEMA) != 0 &&
                              strcmp(state, SQLSTATE_UNIQUE_VIOLATION) != 0)) {
            msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c);
            if (err != NULL && errsz > 0)
                snprintf(err, errsz, "%.*s", (int)strcspn(msg, "\n"), msg);
            rc = SL_EDB;
        }
    }
    PQclear(res);
    return rc;
}

bool
sl_wh_path_ok(const char *rel)
{
    return rel != NULL && rel[0] != '\0' && rel[0] != '/' &&
           strstr(rel, "..") == NULL;
}
