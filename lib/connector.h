/*
 * connector.h: what the API and the runner both need to know of a stored
 * connector: how its sealed credentials are opened, how a PostgreSQL
 * connector's settings become connection parameters, and which directory
 * a file connector names.
 *
 * A connector row holds its settings (JSON, secrets removed) and, apart,
 * its secrets (the members named in sl_connector_secret_fields) sealed
 * with AES-256-GCM under the operator's secret_key, bound to
 * "<tenant>/<connector id>" so that a sealed value copied to another row
 * does not open.
 */
#ifndef SL_CONNECTOR_H
#define SL_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pgconn.h"
#include "pool.h"

/* The settings that are secrets: sealed at rest, masked when shown. */
extern const char *const sl_connector_secret_fields[];
extern const size_t sl_connector_nsecret;

/*
 * Opens sealed (NULL or "" when the connector has no secrets) with the key
 * key_text (the secret_key setting) for connector id of tenant, and merges
 * the secrets into settings; with nothing sealed, removes any secret
 * member settings has. Returns 0, SL_EINVAL (no usable key), SL_ECRYPTO
 * (does not open: another key, another row), SL_EPARSE, or SL_ENOMEM.
 */
int sl_connector_unseal(const char *key_text, const char *tenant,
                        const char *id, const char *sealed, json_t *settings);

/*
 * Fills p from a PostgreSQL connector's settings (host, port, database,
 * username, password, ssl_mode). The strings are borrowed from settings,
 * the port's text from port (16 bytes, the caller's).
 */
void sl_connector_pg(const json_t *settings, char port[16],
                     struct sl_pgconn_params *p);

/*
 * The directory a file connector names: its "path" under the
 * organisation's own directory data_dir/<tenant>/ (that directory itself
 * when path is absent). NULL when path is absolute or climbs (".."), or
 * when out of memory. The result is in pool p.
 */
const char *sl_connector_dir(sl_pool *p, const char *data_dir,
                             const char *tenant, const json_t *settings);

#endif
