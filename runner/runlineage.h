/*
 * runlineage.h: the OpenLineage run event a Sluice run records of itself.
 *
 * At a run's end the worker records, in the transaction that writes the
 * end (worker.c, finish()), one event made here from the executed graph
 * and recorded by lineage_record_run() (sql/025_lineage.sql), which
 * fills in the job's name (the pipeline's) and records it as a posted
 * event is recorded.
 *
 * Names (docs/api.md, "Lineage"):
 *   - the job: namespace "sluice", name the pipeline's name;
 *   - a warehouse table: namespace "warehouse", name "<layer>.<table>"
 *     (layer bronze when the node names none);
 *   - a connector's table: namespace "connector:<connector id>", which
 *     the database turns into postgres://<host>:<port>/<database> when
 *     the connector's settings name them; name "<schema>.<table>"
 *     (schema public when the node names none);
 *   - a file: namespace "files" (the organisation's data directory) or
 *     "connector:<id>", name its path as the node gives it.
 * An extractor with a query but no table reads no named dataset: it is
 * left out.
 *
 * Column lineage: each column a loader received is followed back through
 * its predecessors to an extractor's column: select, filter, quality gate
 * and cleaner pass a column through (cleaner's trim is a
 * transformation), rename maps names, cast and pii_mask transform (a
 * masked column says masking). A sql node ends the trail: what its query
 * computes is not followed.
 */
#ifndef RUN_LINEAGE_H
#define RUN_LINEAGE_H

#include <jansson.h>

#include "engine.h"
#include "lineage.h"

/*
 * The event of job's run, ended with eventType type ("COMPLETE", "FAIL",
 * "ABORT"), as a new object owned by the caller; NULL when out of memory.
 * Its job.name is the pipeline's id, for lineage_record_run() to replace.
 * Reads job->nodes, which must still be there (before the settle).
 */
json_t *run_lineage_event(const struct run_job *job, const char *type);

#endif
