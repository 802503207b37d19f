/*
 * lineage.h: OpenLineage run events, checked and put in one form.
 *
 * The API takes run events at POST /lineage/events (seed 000, whose
 * example names members event_type, event_time, run.run_id) and at
 * POST /lineage (OpenLineage's HTTP transport: eventType, eventTime,
 * run.runId); the runner makes one for each run it ends. Whatever comes
 * in goes through sl_lineage_check(), which names every problem by its
 * path in the event ("run.runId", "outputs[0].facets.columnLineage.
 * fields.id.inputFields[1].field") and rewrites seed 000's names into
 * OpenLineage's, so that the one recorder (lineage_ingest() in
 * sql/025_lineage.sql) sees one form. The sizes an event may have are
 * named here.
 */
#ifndef SL_LINEAGE_H
#define SL_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* A posted event's body, at most (the route checks it before parsing). */
#define SL_LINEAGE_MAX_BODY (1024 * 1024)
/* Inputs, and outputs, of one event. */
#define SL_LINEAGE_MAX_DATASETS 100
/* Fields of a schema facet, and fields of a columnLineage facet. */
#define SL_LINEAGE_MAX_FIELDS 1000
/* Input fields of one output field; transformations of one input field. */
#define SL_LINEAGE_MAX_INPUT_FIELDS 100
#define SL_LINEAGE_MAX_TRANSFORMS   20
/* Input fields of all the columnLineage facets of one event together:
 * each is a row of lineage_columns, and may name a dataset of its own
 * (without it, SL_LINEAGE_MAX_FIELDS x SL_LINEAGE_MAX_INPUT_FIELDS per
 * output let one event ask for as many rows as its body can spell). */
#define SL_LINEAGE_MAX_COLUMN_INPUTS 10000
/* Namespaces, names and fields: characters. */
#define SL_LINEAGE_MAX_NAME 1024
/* producer and schemaURL: characters. */
#define SL_LINEAGE_MAX_URI 2048
/* GET /lineage/graph: depth by default and at most; nodes answered. */
#define SL_LINEAGE_DEPTH_DEFAULT 3
#define SL_LINEAGE_DEPTH_MAX     20
#define SL_LINEAGE_MAX_NODES     10000

/* What an event without producer or schemaURL (seed 000's) is given. */
#define SL_LINEAGE_PRODUCER "https://github.com/sluice/sluice"
#define SL_LINEAGE_SCHEMA_URL                                                  \
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

/* Told each problem: the path of the member at fault, and why. */
typedef void (*sl_lineage_fail_fn)(void *arg, const char *field,
                                   const char *reason);

/*
 * Checks event (borrowed; changed in place) as an OpenLineage RunEvent,
 * calling fail for each problem (at most SL_LINEAGE_MAX_PROBLEMS). Seed
 * 000's member names are renamed to OpenLineage's, an absent eventType
 * becomes "OTHER", an absent producer or schemaURL the defaults above,
 * and runId is lower-cased. Returns 0 when the event is valid, SL_EINVAL
 * when a problem was told, SL_ENOMEM.
 */
#define SL_LINEAGE_MAX_PROBLEMS 50
int sl_lineage_check(json_t *event, sl_lineage_fail_fn fail, void *arg);

/* True when s is RFC 3339 date-time text with a time zone. */
bool sl_lineage_time_valid(const char *s);

/* True when s is an eventType of OpenLineage's. */
bool sl_lineage_event_type_valid(const char *s);

#endif
