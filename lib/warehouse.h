/*
 * warehouse.h: how the warehouse is named, said once: its layers, the
 * schema that holds a layer of an organisation, and which relative file
 * paths a pipeline node or a file connector may give.
 *
 * Each organisation has its own schemas in the warehouse database, one
 * per layer, named t_<organisation>_<layer> after its tenant id.
 * Users only ever name the layer ("silver"); the API's catalog, the
 * pipeline validator and the runner turn it into the schema with
 * sl_wh_schema(), and make the schema with sl_wh_schema_create().
 *
 * Files live under directories the operator controls: data_dir/<org>/,
 * and a file connector's directory inside it. A path a user gives is
 * relative to such a directory, and acceptable only when sl_wh_path_ok()
 * says so: the API asks when a pipeline or a connector is saved, the
 * runner asks again before it opens the file (and then also refuses a
 * symbolic link that leads out), with the same answer. Its length is
 * bounded where it is received, by SL_MAX_FILE_PATH (limits.h).
 */
#ifndef SL_WAREHOUSE_H
#define SL_WAREHOUSE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "limits.h"
#include "pool.h"

/* The longest path, as JSON text for the schemas that bound it. */
#define SL_WH_PATH_MAX_TEXT SL_LIMIT_TEXT(SL_MAX_FILE_PATH)

/* The layer a node writes to or reads from when it names none. */
#define SL_WH_LAYER_DEFAULT "bronze"

/* The layers, in their order (raw to refined): bronze, silver, gold. */
extern const char *const sl_wh_layers[];
extern const size_t sl_wh_nlayers;

/*
 * The layer called name, as the static string of sl_wh_layers (names are
 * exact: "Silver" is no layer), or NULL when there is none or name is
 * NULL.
 */
const char *sl_wh_layer(const char *name);

/*
 * The longest organisation id a schema is named after: tenants.id is
 * [a-z0-9_]{3,50}, so that t_<id>_silver fits PostgreSQL's 63 bytes.
 */
#define SL_WH_TENANT_MAX 50

/*
 * The schema of layer for organisation tenant, t_<tenant>_<layer>, in
 * pool p. NULL when layer is not a layer, tenant is not an organisation's
 * id (1 to SL_WH_TENANT_MAX characters of [a-z0-9_]: nothing to quote),
 * or p is out of memory.
 */
const char *sl_wh_schema(sl_pool *p, const char *tenant, const char *layer);

/*
 * Makes schema (a name sl_wh_schema() gave) on c, a connection to the
 * warehouse as its owner, outside any transaction, unless it exists. A
 * concurrent creation by another connection counts as success. Returns
 * 0, SL_ENOMEM, SL_EINVAL (a name longer than sl_wh_schema() makes), or
 * SL_EDB with the server's message (its first line) in err when err is
 * not NULL and errsz is not 0 (err is "" otherwise).
 */
int sl_wh_schema_create(PGconn *c, const char *schema, char *err, size_t errsz);

/*
 * Whether rel is a path a user may give, relative to a directory Sluice
 * reads or writes under: not NULL, not empty, not absolute, and without
 * ".." anywhere in it (so "a..b.csv" is refused too: one rule, simple to
 * state, that no spelling of a parent directory slips through).
 */
bool sl_wh_path_ok(const char *rel);

#endif
