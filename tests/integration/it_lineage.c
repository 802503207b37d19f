/*
 * it_lineage.c: data lineage, as a user meets it (issue 12).
 *
 * Two pipelines chained through the warehouse record their own lineage
 * when their runs end, and the graph around the table between them
 * shows one feeding the other; an OpenLineage event with column lineage
 * posted where OpenLineage's HTTP transport posts is read back; invalid
 * events are refused naming the field; another organisation sees
 * nothing; a cycle in posted events does not loop; depth is honoured.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "json.h"
#include "lineage.h"
#include "unit.h"

/* Creates a pipeline called name of nodes (taken), chained; its id. */
static char *
pipeline_named(struct it_client *c, const char *token, const char *name,
               json_t *nodes)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:O, s:o}", "name", name, "nodes", nodes, "edges",
                      it_chain(nodes)),
            &r);
    it_assert_status(&r, 201);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    json_decref(nodes);
    return id;
}

/* Runs pipeline pid to completion; its run id. */
static char *
run_ok(struct it_client *c, const char *token, const char *pid)
{
    struct it_resp r;
    char *run = it_execute(c, token, pid);

    it_await_run(c, token, run, "completed|failed", 60, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    return run;
}

/* Whether the JSON array arr has an object whose member key is value. */
static bool
has(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, key));

        if (s != NULL && strcmp(s, value) == 0)
            return true;
    }
    return false;
}

/* The object of arr whose member key is value, or NULL. */
static json_t *
find(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, key));

        if (s != NULL && strcmp(s, value) == 0)
            return v;
    }
    return NULL;
}

/* Whether the graph r has the edge source -> target. */
static bool
has_edge(const struct it_resp *r, const char *source, const char *target)
{
    size_t i;
    json_t *e;

    json_array_foreach(it_at(r, "edges"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "source")), source) ==
                0 &&
            strcmp(json_string_value(json_object_get(e, "target")), target) ==
                0)
            return true;
    }
    return false;
}

START_TEST(chain_of_two_pipelines)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *p0, *pa, *pb, *run0, *runa, *runb;
    char a[64], b[64], zero[64], path[512], job_a[96], job_b[96];
    json_t *up, *down, *f;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "t1.csv",
                 "id,name,amount,note\n1,Ada,10.5,x\n2,Grace,20,y\n");
    snprintf(zero, sizeof(zero), "load_%s", it_unique());
    snprintf(a, sizeof(a), "A_%s", it_unique());
    snprintf(b, sizeof(b), "B_%s", it_unique());
    /* The file into bronze.t1, then A: t1 -> t2, then B: t2 -> t3. */
    p0 = pipeline_named(&c, token, zero,
                        json_pack("[o, o]",
                                  it_node("in", "extractor", "csv",
                                          json_pack("{s:s}", "path", "t1.csv")),
                                  it_node("out", "loader", "postgres",
                                          json_pack("{s:s, s:s}", "schema",
                                                    "bronze", "table", "t1"))));
    pa = pipeline_named(
        &c, token, a,
        json_pack(
            "[o, o, o, o, o]",
            it_node("in", "extractor", "postgres",
                    json_pack("{s:s, s:s}", "schema", "bronze", "table", "t1")),
            it_node(
                "keep", "transformer", "select",
                json_pack("{s:[s, s, s]}", "columns", "id", "name", "amount")),
            it_node("ren", "transformer", "rename",
                    json_pack("{s:{s:s}}", "mapping", "name", "customer")),
            it_node("num", "transformer", "cast",
                    json_pack("{s:{s:s}}", "columns", "amount", "numeric")),
            it_node(
                "out", "loader", "postgres",
                json_pack("{s:s, s:s}", "schema", "silver", "table", "t2"))));
    pb = pipeline_named(
        &c, token, b,
        json_pack(
            "[o, o]",
            it_node("in", "extractor", "postgres",
                    json_pack("{s:s, s:s}", "schema", "silver", "table", "t2")),
            it_node("out", "loader", "postgres",
                    json_pack("{s:s, s:s}", "schema", "gold", "table", "t3"))));
    run0 = run_ok(&c, token, p0);
    runa = run_ok(&c, token, pa);
    runb = run_ok(&c, token, pb);

    /* Seed 000's view of the table in the middle. */
    it_get(&c, "/api/v1/lineage/datasets/silver.t2?namespace=warehouse", token,
           &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "dataset_name"), "silver.t2");
    ck_assert_str_eq(it_str(&r, "namespace"), "warehouse");
    ck_assert_str_eq(it_str(&r, "layer"), "silver");
    up = it_at(&r, "upstream_datasets");
    down = it_at(&r, "downstream_datasets");
    ck_assert_int_eq(json_array_size(up), 1);
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.dataset_name"),
                     "bronze.t1");
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.relationship"),
                     "derived_from");
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.job_name"), a);
    ck_assert_int_eq(json_array_size(down), 1);
    ck_assert_str_eq(it_str(&r, "downstream_datasets.0.dataset_name"),
                     "gold.t3");
    ck_assert_str_eq(it_str(&r, "downstream_datasets.0.relationship"),
                     "feeds_into");
    ck_assert_str_eq(it_str(&r, "downstream_datasets.0.job_name"), b);
    ck_assert_str_eq(it_str(&r, "transformations.0.job_name"), a);
    ck_assert_str_eq(it_str(&r, "transformations.0.run_id"), runa);
    ck_assert_str_eq(it_str(&r, "transformations.0.state"), "COMPLETE");
    ck_assert_ptr_nonnull(it_at(&r, "transformations.0.executed_at"));
    /* What A wrote: its columns, from the rows it loaded. */
    ck_assert(has(it_at(&r, "fields"), "name", "customer"));
    it_resp_free(&r);

    /* The graph around it, one job each way: t1 -> A -> t2 -> B -> t3. */
    snprintf(job_a, sizeof(job_a), "job:sluice:%s", a);
    snprintf(job_b, sizeof(job_b), "job:sluice:%s", b);
    it_get(&c,
           "/api/v1/lineage/graph?namespace=warehouse&dataset=silver.t2"
           "&depth=1",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 5);
    ck_assert_int_eq(json_array_size(it_at(&r, "edges")), 4);
    f = find(it_at(&r, "nodes"), "id", "dataset:warehouse:bronze.t1");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(json_string_value(json_object_get(f, "type")), "dataset");
    ck_assert_str_eq(json_string_value(json_object_get(f, "layer")), "bronze");
    f = find(it_at(&r, "nodes"), "id", "dataset:warehouse:gold.t3");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(json_string_value(json_object_get(f, "layer")), "gold");
    f = find(it_at(&r, "nodes"), "id", job_a);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(json_string_value(json_object_get(f, "type")), "job");
    ck_assert(has_edge(&r, "dataset:warehouse:bronze.t1", job_a));
    ck_assert(has_edge(&r, job_a, "dataset:warehouse:silver.t2"));
    ck_assert(has_edge(&r, "dataset:warehouse:silver.t2", job_b));
    ck_assert(has_edge(&r, job_b, "dataset:warehouse:gold.t3"));
    ck_assert(!has(it_at(&r, "nodes"), "id", "dataset:files:t1.csv"));
    ck_assert_str_eq(it_str(&r, "edges.0.transformation") ? "set" : "", "set");
    ck_assert_ptr_nonnull(it_at(&r, "edges.0.created_at"));
    it_resp_free(&r);
    /* Two jobs each way reach the file the first pipeline read. */
    it_get(&c,
           "/api/v1/lineage/graph?namespace=warehouse&dataset=silver.t2"
           "&depth=2",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 7);
    ck_assert(has(it_at(&r, "nodes"), "id", "dataset:files:t1.csv"));
    it_resp_free(&r);

    /* t3's upstream is t2 only; t1's downstream is t2 only. */
    it_get(&c, "/api/v1/lineage/datasets/gold.t3", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "upstream_datasets")), 1);
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.dataset_name"),
                     "silver.t2");
    ck_assert_int_eq(json_array_size(it_at(&r, "downstream_datasets")), 0);
    ck_assert_str_eq(it_str(&r, "transformations.0.run_id"), runb);
    it_resp_free(&r);

    /* Column lineage A knew: customer is t1's name, renamed; amount is
     * t1's amount, cast. */
    it_get(&c, "/api/v1/lineage/columns/silver.t2?namespace=warehouse", token,
           &r);
    it_assert_status(&r, 200);
    f = find(it_at(&r, "fields"), "field", "customer");
    ck_assert_msg(f != NULL, "%s", r.body);
    f = json_array_get(json_object_get(f, "input_fields"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(f, "dataset_name")),
                     "bronze.t1");
    ck_assert_str_eq(json_string_value(json_object_get(f, "field")), "name");
    f = find(it_at(&r, "fields"), "field", "amount");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(
        json_string_value(json_object_get(f, "transformation_type")),
        "TRANSFORMATION");
    ck_assert_msg(strstr(r.body, "cast to numeric") != NULL, "%s", r.body);
    ck_assert(find(it_at(&r, "fields"), "field", "note") == NULL);
    it_resp_free(&r);
    snprintf(path, sizeof(path),
             "/api/v1/lineage/columns/gold.t3?namespace=warehouse&field=id");
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "fields")), 1);
    ck_assert_str_eq(it_str(&r, "fields.0.input_fields.0.dataset_name"),
                     "silver.t2");
    it_resp_free(&r);

    free(run0);
    free(runa);
    free(runb);
    free(p0);
    free(pa);
    free(pb);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* An OpenLineage event: run runid of job in ns, reading ins and writing
 * outs (JSON arrays of names, taken), at second s past a fixed time. */
static json_t *
event(const char *type, const char *runid, int s, const char *ns,
      const char *job, json_t *ins, json_t *outs)
{
    json_t *inputs = json_array(), *outputs = json_array(), *v;
    char when[40];
    size_t i;

    snprintf(when, sizeof(when), "2026-01-09T16:%02d:%02d.5Z", s / 60, s % 60);
    json_array_foreach(ins, i, v)
    {
        json_array_append_new(
            inputs, json_pack("{s:s, s:O}", "namespace", ns, "name", v));
    }
    json_array_foreach(outs, i, v)
    {
        json_array_append_new(
            outputs, json_pack("{s:s, s:O}", "namespace", ns, "name", v));
    }
    json_decref(ins);
    json_decref(outs);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:o, s:o}",
                     "eventType", type, "eventTime", when, "producer",
                     "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/"
                     "client/python",
                     "schemaURL",
                     "https://openlineage.io/spec/2-0-2/OpenLineage.json#/"
                     "$defs/RunEvent",
                     "run", "runId", runid, "job", "namespace", ns, "name", job,
                     "inputs", inputs, "outputs", outputs);
}

/* A new run id. */
static const char *
new_run(char out[40])
{
    char *v = it_owner_value("SELECT gen_random_uuid()::text", NULL, NULL);

    snprintf(out, 40, "%s", v);
    free(v);
    return out;
}

START_TEST(openlineage_column_lineage)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *viewer, run[40], id[64];
    json_t *ev, *out;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    new_run(run);
    ev = event("COMPLETE", run, 1, "postgres://db.example:5432", "etl.orders",
               json_pack("[s]", "shop.public.orders"),
               json_pack("[s]", "shop.gold.orders"));
    out = json_array_get(json_object_get(ev, "outputs"), 0);
    json_object_set_new(
        out, "facets",
        json_pack(
            "{s:{s:s, s:s, s:{s:{s:[{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}], "
            "s:s, s:s}, s:{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}], s:s}}}, "
            "s:{s:[{s:s, s:s}, {s:s, s:s}]}}",
            "columnLineage", "_producer", "https://example.com/producer",
            "_schemaURL",
            "https://openlineage.io/spec/facets/1-2-0/"
            "ColumnLineageDatasetFacet.json",
            "fields", "order_id", "inputFields", "namespace",
            "postgres://db.example:5432", "name", "shop.public.orders", "field",
            "id", "transformations", "type", "DIRECT", "subtype", "IDENTITY",
            "description", "", "transformationDescription", "identical",
            "transformationType", "IDENTITY", "total", "inputFields",
            "namespace", "postgres://db.example:5432", "name",
            "shop.public.orders", "field", "price", "namespace",
            "postgres://db.example:5432", "name", "shop.public.orders", "field",
            "qty", "transformationType", "TRANSFORMATION", "schema", "fields",
            "name", "order_id", "type", "integer", "name", "total", "type",
            "numeric"));
    it_call(&c, "POST", "/api/v1/lineage", token, json_incref(ev), &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "status"), "recorded");
    snprintf(id, sizeof(id), "%s", it_str(&r, "event_id"));
    it_resp_free(&r);
    /* The same event again (a producer retrying): recorded once. */
    it_call(&c, "POST", "/api/v1/lineage", token, ev, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "event_id"), id);
    ck_assert(json_is_true(it_at(&r, "duplicate")));
    it_resp_free(&r);

    it_get(&c,
           "/api/v1/lineage/columns/shop.gold.orders?namespace="
           "postgres://db.example:5432",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "fields")), 2);
    ck_assert_str_eq(it_str(&r, "fields.0.field"), "order_id");
    ck_assert_str_eq(it_str(&r, "fields.0.transformation_type"), "IDENTITY");
    ck_assert_str_eq(it_str(&r, "fields.0.transformation_description"),
                     "identical");
    ck_assert_str_eq(it_str(&r, "fields.0.input_fields.0.dataset_name"),
                     "shop.public.orders");
    ck_assert_str_eq(it_str(&r, "fields.0.input_fields.0.field"), "id");
    ck_assert_str_eq(
        it_str(&r, "fields.0.input_fields.0.transformations.0.subtype"),
        "IDENTITY");
    ck_assert_str_eq(it_str(&r, "fields.1.field"), "total");
    ck_assert_int_eq(json_array_size(it_at(&r, "fields.1.input_fields")), 2);
    ck_assert_str_eq(it_str(&r, "fields.1.input_fields.1.field"), "qty");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/columns/shop.gold.orders?field=total", token,
           &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "fields")), 1);
    it_resp_free(&r);

    /* Seed 000's form at seed 000's path; its schema facet shows. */
    it_call(&c, "POST", "/api/v1/lineage/events", token,
            json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:[{s:s, s:s}], "
                      "s:[{s:s, s:s}]}",
                      "event_type", "START", "event_time",
                      "2026-01-09T16:30:00Z", "run", "run_id", run, "job",
                      "namespace", "atlas_pipeline", "name", "bronze_to_silver",
                      "inputs", "namespace", "atlas", "name",
                      "bronze.customers", "outputs", "namespace", "atlas",
                      "name", "silver.customers"),
            &r);
    it_assert_status(&r, 201);
    ck_assert_str_eq(it_str(&r, "status"), "recorded");
    ck_assert_ptr_nonnull(it_at(&r, "recorded_at"));
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/shop.gold.orders", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "layer"), "gold");
    ck_assert_str_eq(it_str(&r, "fields.1.name"), "total");
    it_resp_free(&r);

    /* A later run of the job with a wider schema and a changed column:
     * the dataset and its column lineage follow. */
    ev = event("COMPLETE", new_run(run), 5, "postgres://db.example:5432",
               "etl.orders", json_pack("[s]", "shop.public.orders"),
               json_pack("[s]", "shop.gold.orders"));
    json_object_set_new(
        json_array_get(json_object_get(ev, "outputs"), 0), "facets",
        json_pack("{s:{s:[{s:s}, {s:s}, {s:s}]}, s:{s:{s:{s:[{s:s, s:s, "
                  "s:s}], s:s}}}}",
                  "schema", "fields", "name", "order_id", "name", "total",
                  "name", "tax", "columnLineage", "fields", "order_id",
                  "inputFields", "namespace", "postgres://db.example:5432",
                  "name", "shop.public.orders", "field", "id",
                  "transformationType", "TRANSFORMATION"));
    it_call(&c, "POST", "/api/v1/lineage", token, ev, &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/shop.gold.orders", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "fields")), 3);
    ck_assert_str_eq(it_str(&r, "fields.2.name"), "tax");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/columns/shop.gold.orders?field=order_id", token,
           &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "fields.0.transformation_type"),
                     "TRANSFORMATION");
    it_resp_free(&r);

    /* A viewer reads lineage but records none. */
    viewer = it_member(&c, token, "viewer");
    it_get(&c, "/api/v1/lineage/graph", viewer, &r);
    it_assert_status(&r, 200);
    ck_assert(has(it_at(&r, "nodes"), "id", "dataset:atlas:silver.customers"));
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/lineage", viewer,
            event("START", run, 2, "n", "j", json_array(), json_array()), &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    free(viewer);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* Posts ev (taken); the 422's details.field. */
static void
refused(struct it_client *c, const char *token, json_t *ev, const char *field)
{
    struct it_resp r;

    it_call(c, "POST", "/api/v1/lineage", token, ev, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_msg(strcmp(it_str(&r, "error.details.field"), field) == 0,
                  "want %s: %s", field, r.body);
    it_resp_free(&r);
}

START_TEST(invalid_events_name_the_field)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, run[40], *big, hdr[2048];
    json_t *ev;
    size_t n = 2 * 1024 * 1024;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    new_run(run);
    refused(&c, token,
            event("COMPLETE", "not-a-uuid", 1, "n", "j", json_array(),
                  json_array()),
            "run.runId");
    refused(&c, token,
            event("DONE", run, 1, "n", "j", json_array(), json_array()),
            "eventType");
    ev = event("COMPLETE", run, 1, "n", "j", json_array(), json_array());
    json_object_set_new(ev, "eventTime", json_string("2026-01-09 yesterday"));
    refused(&c, token, ev, "eventTime");
    ev = event("COMPLETE", run, 1, "n", "j", json_array(), json_array());
    json_object_del(json_object_get(ev, "job"), "name");
    refused(&c, token, ev, "job.name");
    ev = event("COMPLETE", run, 1, "n", "j", json_array(),
               json_pack("[s]", "out"));
    json_object_set_new(
        json_array_get(json_object_get(ev, "outputs"), 0), "facets",
        json_pack("{s:{s:{s:{s:[{s:s, s:s}]}}}}", "columnLineage", "fields",
                  "a", "inputFields", "namespace", "n", "name", "src"));
    refused(&c, token, ev,
            "outputs[0].facets.columnLineage.fields.a.inputFields[0].field");
    /* Nothing of them was recorded. */
    it_get(&c, "/api/v1/lineage/graph", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 0);
    it_resp_free(&r);
    /* Past the body bound: 413, whatever nginx allows. */
    big = malloc(n + 64);
    ck_assert_ptr_nonnull(big);
    snprintf(big, 64, "{\"pad\": \"");
    memset(big + strlen(big), 'x', n);
    snprintf(big + 9 + n, 55, "\"}");
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
    it_request(&c, "POST", "/api/v1/lineage", hdr, "application/json", big,
               strlen(big), &r);
    it_assert_error(&r, 413, "PAYLOAD_TOO_LARGE");
    it_resp_free(&r);
    free(big);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(another_org_sees_nothing)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *org2, *user2, *token2, run[40];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    token2 = it_new_org(&c, &user2, &org2);
    new_run(run);
    it_call(&c, "POST", "/api/v1/lineage", token,
            event("COMPLETE", run, 1, "secret", "payroll",
                  json_pack("[s]", "hr.salaries"),
                  json_pack("[s]", "gold.salary_report")),
            &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/hr.salaries", token, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/hr.salaries", token2, &r);
    it_assert_error(&r, 404, "DATASET_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/graph?dataset=hr.salaries", token2, &r);
    it_assert_error(&r, 404, "DATASET_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/columns/gold.salary_report", token2, &r);
    it_assert_error(&r, 404, "DATASET_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/graph?namespace=secret", token2, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 0);
    ck_assert_int_eq(json_array_size(it_at(&r, "edges")), 0);
    it_resp_free(&r);
    /* The same run id and names in the other organisation are its own. */
    it_call(&c, "POST", "/api/v1/lineage", token2,
            event("COMPLETE", run, 1, "secret", "payroll",
                  json_pack("[s]", "hr.salaries"), json_array()),
            &r);
    it_assert_status(&r, 201);
    ck_assert(json_is_false(it_at(&r, "duplicate")));
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/hr.salaries", token2, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "downstream_datasets")), 0);
    it_resp_free(&r);
    free(token);
    free(user);
    free(org);
    free(token2);
    free(user2);
    free(org2);
}
END_TEST

START_TEST(cycles_end_and_depth_bounds)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, run[40], name[32], next[32], job[32];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    /* x -> j1 -> y -> j2 -> x: a cycle. */
    it_call(&c, "POST", "/api/v1/lineage", token,
            event("COMPLETE", new_run(run), 1, "cyc", "j1",
                  json_pack("[s]", "x"), json_pack("[s]", "y")),
            &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/lineage", token,
            event("COMPLETE", new_run(run), 2, "cyc", "j2",
                  json_pack("[s]", "y"), json_pack("[s]", "x")),
            &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/graph?namespace=cyc&dataset=x&depth=20", token,
           &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 4);
    ck_assert_int_eq(json_array_size(it_at(&r, "edges")), 4);
    ck_assert(json_is_false(it_at(&r, "truncated")));
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/x?namespace=cyc", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.dataset_name"), "y");
    ck_assert_str_eq(it_str(&r, "downstream_datasets.0.dataset_name"), "y");
    it_resp_free(&r);

    /* d0 -> k1 -> d1 -> ... -> k6 -> d6: depth 3 reaches d3. */
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "d%d", i);
        snprintf(next, sizeof(next), "d%d", i + 1);
        snprintf(job, sizeof(job), "k%d", i + 1);
        it_call(&c, "POST", "/api/v1/lineage", token,
                event("COMPLETE", new_run(run), 10 + i, "line", job,
                      json_pack("[s]", name), json_pack("[s]", next)),
                &r);
        it_assert_status(&r, 201);
        it_resp_free(&r);
    }
    it_get(&c, "/api/v1/lineage/graph?namespace=line&dataset=d0", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "depth"), 3);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 7);
    ck_assert(has(it_at(&r, "nodes"), "id", "dataset:line:d3"));
    ck_assert(!has(it_at(&r, "nodes"), "id", "dataset:line:d4"));
    ck_assert(has(it_at(&r, "nodes"), "id", "job:line:k3"));
    ck_assert(!has(it_at(&r, "nodes"), "id", "job:line:k4"));
    it_resp_free(&r);
    /* Upstream of d6 at depth 2: d4, d5, k5, k6 and d6. */
    it_get(&c, "/api/v1/lineage/graph?namespace=line&dataset=d6&depth=2", token,
           &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "nodes")), 5);
    ck_assert(has(it_at(&r, "nodes"), "id", "dataset:line:d4"));
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/graph?dataset=d0&depth=21", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "depth");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/graph?dataset=d0&depth=0", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* A failed run records its lineage too, as FAIL, in the transaction that
 * records its end. */
START_TEST(failed_run_records_fail)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, name[64];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    it_data_file(org, "bad.csv", "id,amount\n1,10\n2,ten\n");
    snprintf(name, sizeof(name), "F_%s", it_unique());
    pid = pipeline_named(
        &c, token, name,
        json_pack("[o, o, o]",
                  it_node("in", "extractor", "csv",
                          json_pack("{s:s}", "path", "bad.csv")),
                  it_node("num", "transformer", "cast",
                          json_pack("{s:{s:s}, s:s}", "columns", "amount",
                                    "integer", "on_error", "fail")),
                  it_node("out", "loader", "postgres",
                          json_pack("{s:s, s:s}", "schema", "silver", "table",
                                    "never"))));
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed", 60, &r);
    ck_assert_str_eq(it_str(&r, "status"), "failed");
    it_resp_free(&r);
    it_get(&c, "/api/v1/lineage/datasets/silver.never?namespace=warehouse",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "transformations.0.run_id"), run);
    ck_assert_str_eq(it_str(&r, "transformations.0.state"), "FAIL");
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.dataset_name"), "bad.csv");
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.namespace"), "files");
    it_resp_free(&r);
    free(run);
    free(pid);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* A connector's table is named as OpenLineage names PostgreSQL tables:
 * postgres://<host>:<port>/<database>, <schema>.<table>. */
START_TEST(connector_tables_are_postgres_uris)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *conn, *pid, *run, sql[256], want[256], table[96];
    json_t *settings = it_wh_settings();

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);
    snprintf(table, sizeof(table), "src_%s", org);
    snprintf(sql, sizeof(sql), "CREATE TABLE public.%s AS SELECT 1 AS id",
             table);
    free(it_wh(sql, NULL));
    pid = pipeline_named(
        &c, token, it_unique(),
        json_pack("[o, o]",
                  it_node("in", "extractor", "postgres",
                          json_pack("{s:s, s:s, s:s}", "connection_id", conn,
                                    "schema", "public", "table", table)),
                  it_node("out", "loader", "postgres",
                          json_pack("{s:s, s:s}", "schema", "bronze", "table",
                                    "copied"))));
    run = run_ok(&c, token, pid);
    it_get(&c, "/api/v1/lineage/datasets/bronze.copied?namespace=warehouse",
           token, &r);
    it_assert_status(&r, 200);
    snprintf(want, sizeof(want), "postgres://%s:%lld/%s",
             sl_json_get_str(settings, "host"),
             (long long)sl_json_get_int(settings, "port", 5432),
             sl_json_get_str(settings, "database"));
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.namespace"), want);
    snprintf(want, sizeof(want), "public.%s", table);
    ck_assert_str_eq(it_str(&r, "upstream_datasets.0.dataset_name"), want);
    it_resp_free(&r);
    json_decref(settings);
    free(run);
    free(pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* A level that finds more nodes than the answer may hold: the answer
 * stops at SL_LINEAGE_MAX_NODES and says it was truncated. */
START_TEST(graph_never_exceeds_the_node_cap)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    /* src -> fan -> out_0 ... out_10049, made directly for speed. */
    it_owner_sql("WITH j AS (INSERT INTO lineage_jobs (tenant_id, namespace,"
                 " name) VALUES ($1, 'cap', 'fan') RETURNING id),"
                 " d AS (INSERT INTO lineage_datasets (tenant_id, namespace,"
                 " name) SELECT $1, 'cap', CASE WHEN i < 0 THEN 'src'"
                 " ELSE 'out_' || i END FROM generate_series(-1, 10049) i"
                 " RETURNING id, name)"
                 " INSERT INTO lineage_edges (tenant_id, job_id, dataset_id,"
                 " direction) SELECT $1, j.id, d.id, CASE d.name WHEN 'src'"
                 " THEN 'in' ELSE 'out' END FROM j, d",
                 org);
    it_get(&c, "/api/v1/lineage/graph?namespace=cap&dataset=src&depth=2",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "truncated")));
    ck_assert_int_le(json_array_size(it_at(&r, "nodes")), SL_LINEAGE_MAX_NODES);
    ck_assert_int_gt(json_array_size(it_at(&r, "nodes")), 2);
    it_resp_free(&r);
}
END_TEST

static Suite *
lineage_suite(void)
{
    Suite *s = suite_create("lineage");
    TCase *tc = tcase_create("lineage");

    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, openlineage_column_lineage);
    tcase_add_test(tc, invalid_events_name_the_field);
    tcase_add_test(tc, another_org_sees_nothing);
    tcase_add_test(tc, cycles_end_and_depth_bounds);
    tcase_add_test(tc, graph_never_exceeds_the_node_cap);
    tcase_add_test(tc, chain_of_two_pipelines);
    tcase_add_test(tc, failed_run_records_fail);
    tcase_add_test(tc, connector_tables_are_postgres_uris);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(lineage_suite)
