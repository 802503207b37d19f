/*
 * runlineage.c: the OpenLineage event of a run, made from its executed graph
 * (see runlineage.h for the names it gives and what it follows).
 */
#include "config.h"

#include "runlineage.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "lineage.h"
#include "modules.h"

#define PRODUCER SL_LINEAGE_PRODUCER "/tree/" PACKAGE_VERSION "/runner"
#define SCHEMA_FACET_URL                                                       \
    "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"         \
    "#/$defs/SchemaDatasetFacet"
#define COLUMN_FACET_URL                                                       \
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"  \
    "#/$defs/ColumnLineageDatasetFacet"

/* How far a column is followed back: a graph has at most this many
 * nodes on one path (it is acyclic; this only bounds the walk). */
#define TRACE_MAX_DEPTH 256

/* The module name of n is name, and its type type. */
static bool
is(const struct run_node *n, enum sl_module_type type, const char *name)
{
    return n->ops != NULL && n->ops->type == type &&
           strcmp(n->module, name) == 0;
}

/*
 * The dataset an extractor or loader node reads or writes, as a new
 * {"namespace", "name"} object, or NULL when it names none.
 */
static json_t *
node_dataset(const struct run_node *n)
{
    const char *conn = sl_json_get_str(n->config, "connection_id");
    const char *schema = sl_json_get_str(n->config, "schema");
    const char *table = sl_json_get_str(n->config, "table");
    const char *path = sl_json_get_str(n->config, "path");
    char ns[128], name[1100];

    if (conn != NULL)
        snprintf(ns, sizeof(ns), "connector:%.100s", conn);
    if (strcmp(n->module, "postgres") == 0) {
        if (table == NULL)
            return NULL; /* a query: no dataset it names */
        if (conn == NULL) {
            snprintf(ns, sizeof(ns), "warehouse");
            snprintf(name, sizeof(name), "%s.%s", schema ? schema : "bronze",
                     table);
        } else {
            snprintf(name, sizeof(name), "%s.%s", schema ? schema : "public",
                     table);
        }
    } else if (path != NULL) {
        if (conn == NULL)
            snprintf(ns, sizeof(ns), "files");
        snprintf(name, sizeof(name), "%.1024s", path);
    } else {
        return NULL;
    }
    return json_pack("{s:s, s:s}", "namespace", ns, "name", name);
}

/* Whether the JSON array of strings arr holds s. */
static bool
holds(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* Appends a DIRECT TRANSFORMATION to ts. */
static void
add_transform(json_t *ts, const char *description, bool masking)
{
    json_array_append_new(ts,
                          json_pack("{s:s, s:s, s:s, s:b}", "type", "DIRECT",
                                    "subtype", "TRANSFORMATION", "description",
                                    description, "masking", masking));
}

/*
 * Follows column col, as node n receives it, back to the extractors it
 * comes from, appending an inputField to out for each; ts (borrowed) holds
 * the transformations met so far, between n and the loader.
 */
static void
trace(const struct run_job *job, const struct run_node *n, const char *col,
      json_t *ts, json_t *out, int depth)
{
    if (depth > TRACE_MAX_DEPTH)
        return;
    for (int i = 0; i < job->nnodes; i++) {
        const struct run_node *p = &job->nodes[i];
        const char *pcol = col;
        json_t *pts;

        for (int k = 0; k < p->nnext; k++) {
            if (p->next[k] != n)
                continue;
            /* p feeds n: what p emits as col is what p received as pcol. */
            pts = json_deep_copy(ts);
            if (p->ops != NULL && p->ops->type == SL_MODULE_EXTRACTOR) {
                json_t *ds = node_dataset(p);

                if (ds != NULL) {
                    if (json_array_size(pts) == 0)
                        json_array_append_new(
                            pts,
                            json_pack("{s:s, s:s, s:b}", "type", "DIRECT",
                                      "subtype", "IDENTITY", "masking", false));
                    json_object_set_new(ds, "field", json_string(col));
                    json_object_set(ds, "transformations", pts);
                    json_array_append_new(out, ds);
                }
                json_decref(pts);
                break;
            }
            if (is(p, SL_MODULE_TRANSFORMER, "sql")) {
                json_decref(pts); /* its query is not followed */
                break;
            }
            if (is(p, SL_MODULE_TRANSFORMER, "select") &&
                !holds(json_object_get(p->config, "columns"), col)) {
                json_decref(pts);
                break;
            }
            if (is(p, SL_MODULE_TRANSFORMER, "rename")) {
                const char *from;
                json_t *to;

                json_object_foreach(json_object_get(p->config, "mapping"), from,
                                    to)
                {
                    if (json_is_string(to) &&
                        strcmp(json_string_value(to), col) == 0) {
                        pcol = from;
                        break;
                    }
                }
            }
            if (is(p, SL_MODULE_TRANSFORMER, "cast")) {
                const char *type =
                    sl_json_get_str(json_object_get(p->config, "columns"), col);
                char d[96];

                if (type != NULL) {
                    snprintf(d, sizeof(d), "cast to %.60s", type);
                    add_transform(pts, d, false);
                }
            }
            if (is(p, SL_MODULE_TRANSFORMER, "cleaner") &&
                sl_json_get_bool(p->config, "trim", false))
                add_transform(pts, "trim", false);
            if (is(p, SL_MODULE_TRANSFORMER, "pii_mask") &&
                holds(json_object_get(p->config, "columns"), col)) {
                char d[96];
                const char *method = sl_json_get_str(p->config, "method");

                snprintf(d, sizeof(d), "pii_mask: %.40s",
                         method ? method : "mask");
                add_transform(pts, d, true);
            }
            trace(job, p, pcol, pts, out, depth + 1);
            json_decref(pts);
            break;
        }
    }
}

/* The columnLineage facet of loader n, or NULL when nothing is known. */
static json_t *
column_facet(const struct run_job *job, const struct run_node *n)
{
    json_t *fields = json_object(), *facet;

    if (fields == NULL || n->in_schema == NULL) {
        json_decref(fields);
        return NULL;
    }
    for (int c = 0; c < n->in_schema->ncols; c++) {
        const char *col = n->in_schema->cols[c].name;
        json_t *ins = json_array(), *ts = json_array();
        bool identity = true;
        size_t i;
        json_t *in;

        trace(job, n, col, ts, ins, 0);
        json_decref(ts);
        if (json_array_size(ins) == 0) {
            json_decref(ins);
            continue;
        }
        json_array_foreach(ins, i, in)
        {
            json_t *t0 =
                json_array_get(json_object_get(in, "transformations"), 0);

            if (json_array_size(json_object_get(in, "transformations")) != 1 ||
                strcmp(sl_json_get_str(t0, "subtype"), "IDENTITY") != 0)
                identity = false;
        }
        json_object_set_new(
            fields, col,
            json_pack("{s:o, s:s}", "inputFields", ins, "transformationType",
                      identity ? "IDENTITY" : "TRANSFORMATION"));
    }
    if (json_object_size(fields) == 0) {
        json_decref(fields);
        return NULL;
    }
    facet = json_pack("{s:s, s:s, s:o}", "_producer", PRODUCER, "_schemaURL",
                      COLUMN_FACET_URL, "fields", fields);
    return facet;
}

/* The schema facet of what loader n received, or NULL. */
static json_t *
schema_facet(const struct run_node *n)
{
    json_t *fields;

    if (n->in_schema == NULL || (fields = json_array()) == NULL)
        return NULL;
    for (int c = 0; c < n->in_schema->ncols; c++)
        json_array_append_new(
            fields, json_pack("{s:s, s:s?}", "name", n->in_schema->cols[c].name,
                              "type", n->in_schema->cols[c].type));
    return json_pack("{s:s, s:s, s:o}", "_producer", PRODUCER, "_schemaURL",
                     SCHEMA_FACET_URL, "fields", fields);
}

json_t *
run_lineage_event(const struct run_job *job, const char *type)
{
    json_t *ev = NULL, *inputs = json_array(), *outputs = json_array();
    char when[40], chain[512] = "";
    size_t used = 0;

    if (inputs == NULL || outputs == NULL ||
        sl_clock_format_ms(sl_clock_now_ms(), when) != 0)
        goto out;
    for (int i = 0; i < job->nnodes; i++) {
        const struct run_node *n = &job->nodes[i];
        json_t *ds;

        if (n->ops == NULL)
            continue;
        if (n->ops->type == SL_MODULE_TRANSFORMER ||
            n->ops->type == SL_MODULE_QUALITY) {
            int w = snprintf(chain + used, sizeof(chain) - used, "%s%s",
                             used ? " > " : "", n->module);

            if (w > 0 && (size_t)w < sizeof(chain) - used)
                used += (size_t)w;
            continue;
        }
        if ((ds = node_dataset(n)) == NULL)
            continue;
        if (n->ops->type == SL_MODULE_EXTRACTOR) {
            json_array_append_new(inputs, ds);
        } else if (n->ops->type == SL_MODULE_LOADER) {
            json_t *facets = json_object(), *f;

            if ((f = schema_facet(n)) != NULL)
                json_object_set_new(facets, "schema", f);
            if ((f = column_facet(job, n)) != NULL)
                json_object_set_new(facets, "columnLineage", f);
            json_object_set_new(ds, "facets", facets);
            json_array_append_new(outputs, ds);
        } else {
            json_decref(ds);
        }
    }
    ev = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:{s:{s:s, s:s, s:s, s:i, s:I, s:I}}}, "
        "s:{s:s, s:s, s:{s:{s:s, s:s, s:s}}}, s:O, s:O}",
        "eventType", type, "eventTime", when, "producer", PRODUCER, "schemaURL",
        SL_LINEAGE_SCHEMA_URL, "run", "runId", job->run_id, "facets", "sluice",
        "_producer", PRODUCER, "_schemaURL", SL_LINEAGE_SCHEMA_URL,
        "pipeline_id", job->pipeline_id, "attempt", job->attempt, "records",
        (json_int_t)job->records, "records_failed",
        (json_int_t)job->records_failed, "job", "namespace", "sluice", "name",
        job->pipeline_id, "facets", "sluice", "_producer", PRODUCER,
        "_schemaURL", SL_LINEAGE_SCHEMA_URL, "transformation",
        used ? chain : "copy", "inputs", inputs, "outputs", outputs);
out:
    json_decref(inputs);
    json_decref(outputs);
    return ev;
}
