/*
 * lineage.c: data lineage (issue 12; seed 000's /lineage).
 *
 * POST /lineage/events (seed 000) and POST /lineage (the path
 * OpenLineage's HTTP transport posts to, as Marquez serves it) take one
 * OpenLineage run event each: lib/lineage.c checks it (422 naming each
 * field at fault) and puts it in OpenLineage's form, and
 * lineage_ingest() (sql/025_lineage.sql) records it once, however often
 * it is posted. The reads are one statement each, answering the JSON the
 * SQL functions build: a dataset's neighbours and runs, the graph around
 * a dataset (depth-bounded, each node visited once), and column lineage.
 * Everything is scoped to the caller's organisation by row-level
 * security.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "lineage.h"
#include "request.h"
#include "uuid.h"

/* Runs of a dataset's jobs answered by GET /lineage/datasets/{name}. */
#define LINEAGE_DATASET_RUNS 100

static void
check_fail(void *arg, const char *field, const char *reason)
{
    api_check_fail(arg, field, "%s", reason);
}

int
api_h_lineage_event(struct api_req *r)
{
    struct api_check c;
    char id[SL_UUID_LEN];
    const char *p[2];
    json_t *event, *answer;
    PGresult *res;
    bool duplicate;
    int rc;

    if (r->body_len > SL_LINEAGE_MAX_BODY)
        return api_errorf(r, 413, "PAYLOAD_TOO_LARGE",
                          "a lineage event may have at most %d bytes",
                          SL_LINEAGE_MAX_BODY);
    if ((rc = api_body_object(r, false, &event)) != 0)
        return rc;
    api_check_init(&c, r);
    rc = sl_lineage_check(event, check_fail, &c);
    if (rc == SL_ENOMEM)
        return rc;
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (sl_uuid_v7(id) != SL_OK)
        return SL_ECRYPTO;
    p[0] = id;
    p[1] = api_json_text(r, event);
    if (p[1] == NULL)
        return SL_ENOMEM;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_LINEAGE_INGEST,
                         2, p, &res);
    if (rc != 0)
        return api_db_error(r, rc);
    duplicate = PQgetvalue(res, 0, 1)[0] == 't';
    answer = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "event_id",
                       PQgetvalue(res, 0, 0), "status", "recorded",
                       "recorded_at", PQgetvalue(res, 0, 2), "run_id",
                       sl_json_get_str(json_object_get(event, "run"), "runId"),
                       "event_type", sl_json_get_str(event, "eventType"),
                       "event_time", sl_json_get_str(event, "eventTime"),
                       "duplicate", duplicate);
    if (answer == NULL)
        return SL_ENOMEM;
    return api_reply(r, duplicate ? 200 : 201, answer);
}

/* The query parameter name: absent, or 1 to SL_LINEAGE_MAX_NAME bytes. */
static const char *
name_query(struct api_req *r, struct api_check *c, const char *name)
{
    const char *v = api_query(r, name);

    if (v == NULL || *v == '\0')
        return NULL;
    if (strlen(v) > SL_LINEAGE_MAX_NAME) {
        api_check_fail(c, name, "must have at most %d characters",
                       SL_LINEAGE_MAX_NAME);
        return NULL;
    }
    return v;
}

static int
dataset_not_found(struct api_req *r, const char *ns, const char *name)
{
    char msg[600];

    snprintf(msg, sizeof(msg), "no dataset %.200s%s%.200s has lineage",
             name ? name : "", ns ? " in namespace " : "", ns ? ns : "");
    return api_error(
        r, 404, "DATASET_NOT_FOUND", msg,
        json_pack("{s:s?, s:s?}", "dataset_name", name, "namespace", ns));
}

/* Runs statement id with p, n of them; answers its one JSON value, or
 * 404 when it is NULL (no such dataset). */
static int
answer_doc(struct api_req *r, enum api_stmt id, int n, const char *const *p,
           const char *ns, const char *name)
{
    PGresult *res;
    int rc;

    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, id, n, p, &res);
    if (rc != 0)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
        return dataset_not_found(r, ns, name);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_lineage_dataset(struct api_req *r)
{
    struct api_check c;
    const char *name = api_param(r, "name"), *ns, *p[3];
    char runs[16];
    int rc;

    api_check_init(&c, r);
    if (name == NULL || strlen(name) > SL_LINEAGE_MAX_NAME)
        api_check_fail(&c, "dataset_name", "must have 1 to %d characters",
                       SL_LINEAGE_MAX_NAME);
    ns = name_query(r, &c, "namespace");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    snprintf(runs, sizeof(runs), "%d", LINEAGE_DATASET_RUNS);
    p[0] = ns;
    p[1] = name;
    p[2] = runs;
    return answer_doc(r, ST_LINEAGE_DATASET, 3, p, ns, name);
}

int
api_h_lineage_columns(struct api_req *r)
{
    struct api_check c;
    const char *name = api_param(r, "name"), *ns, *field, *p[3];
    int rc;

    api_check_init(&c, r);
    if (name == NULL || strlen(name) > SL_LINEAGE_MAX_NAME)
        api_check_fail(&c, "dataset_name", "must have 1 to %d characters",
                       SL_LINEAGE_MAX_NAME);
    ns = name_query(r, &c, "namespace");
    field = name_query(r, &c, "field");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    p[0] = ns;
    p[1] = name;
    p[2] = field;
    return answer_doc(r, ST_LINEAGE_COLUMNS, 3, p, ns, name);
}

int
api_h_lineage_graph(struct api_req *r)
{
    struct api_check c;
    const char *ns, *name, *depth_text = api_query(r, "depth"), *p[4];
    char depth_buf[16], max_buf[16];
    long depth = SL_LINEAGE_DEPTH_DEFAULT;
    int rc;

    api_check_init(&c, r);
    ns = name_query(r, &c, "namespace");
    name = name_query(r, &c, "dataset");
    if (name == NULL)
        name = name_query(r, &c, "dataset_name");
    if (depth_text != NULL && *depth_text != '\0') {
        char *end;

        depth = strtol(depth_text, &end, 10);
        if (*end != '\0' || depth < 1 || depth > SL_LINEAGE_DEPTH_MAX)
            api_check_fail(&c, "depth", "must be an integer from 1 to %d",
                           SL_LINEAGE_DEPTH_MAX);
    }
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    snprintf(depth_buf, sizeof(depth_buf), "%ld", depth);
    snprintf(max_buf, sizeof(max_buf), "%d", SL_LINEAGE_MAX_NODES);
    p[0] = ns;
    p[1] = name;
    p[2] = depth_buf;
    p[3] = max_buf;
    return answer_doc(r, ST_LINEAGE_GRAPH, 4, p, ns, name);
}
