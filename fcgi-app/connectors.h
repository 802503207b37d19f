/*
 * connectors.h: what other handlers use of connectors.c: a connector's
 * settings with its secrets opened, libpq's parameters for it, and
 * connectors made from the settings a pipeline gives inline.
 */
#ifndef API_CONNECTORS_H
#define API_CONNECTORS_H

#include <stdbool.h>

#include <jansson.h>

#include "check.h"
#include "pgconn.h"
#include "request.h"

/*
 * A connector's type ("postgresql", "file") and settings with its secrets
 * opened, read in the open transaction when lock (then FOR UPDATE), else
 * in one of its own. *settings is owned by the pool; *type and *name (may
 * be NULL) point into it too. Returns 0, SL_ENOTFOUND, a database code,
 * or SL_EINVAL / SL_ECRYPTO / SL_EPARSE when the secrets cannot be opened
 * with the configured key.
 */
int api_connector_load(struct api_req *r, const char *id, bool lock,
                       const char **type, json_t **settings, const char **name);

/* Answers for a failure of api_connector_load(). Returns API_ANSWERED. */
int api_connector_error(struct api_req *r, const char *id, int rc) API_ANSWERS;

/*
 * Makes connector id of type postgresql, named name (description may be
 * NULL), from settings (borrowed) that a pipeline gave inline, in the
 * open transaction: checked as POST /connectors checks them, its secrets
 * sealed. A problem with the settings is recorded in c at field plus the
 * member ("configuration.source" gives "configuration.source.host"), and
 * then nothing is written. Returns 0 (whether or not problems were
 * recorded) or a database code.
 */
int api_connector_create_in(struct api_req *r, struct api_check *c,
                            const char *field, const char *id, const char *name,
                            const char *description, json_t *settings);

/*
 * libpq parameters (strings borrowed from settings or in the pool) and
 * the operator's connection options for a postgresql connector, into p
 * and o (caller-owned).
 */
void api_connector_pg(struct api_req *r, json_t *settings,
                      struct sl_pgconn_params *p, struct sl_pgconn_opts *o);

#endif
