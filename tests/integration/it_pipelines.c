/*
 * it_pipelines.c: pipelines through nginx — every seed's create shape,
 * versions, validation, lists, slugs, status changes, roles, and one
 * organisation never seeing another's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

/* A valid seed 004 graph: csv -> cleaner -> postgres (the warehouse). */
static json_t *
graph_004(void)
{
    return json_pack(
        "{s:[{s:s, s:s, s:s, s:{s:s}, s:s, s:{s:i, s:i}}, "
        "{s:s, s:s, s:s, s:{s:b, s:[s]}, s:s}, "
        "{s:s, s:s, s:s, s:{s:s, s:s}, s:s}], "
        "s:[{s:s, s:s}, {s:s, s:s}]}",
        "nodes", "id", "read", "type", "extractor", "module", "csv", "config",
        "path", "in/customers.csv", "description", "read the file", "position",
        "x", 100, "y", 100, "id", "clean", "type", "transformer", "module",
        "cleaner", "config", "remove_duplicates", 1, "columns", "email",
        "description", "dedupe", "id", "write", "type", "loader", "module",
        "postgres", "config", "table", "customers", "mode", "append",
        "description", "load", "edges", "source", "read", "target", "clean",
        "source", "clean", "target", "write");
}

/* Creates a pipeline from body (taken); asserts 201; returns its id. */
static char *
create(struct it_client *c, const char *token, json_t *body)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/pipelines", token, body, &r);
    it_assert_status(&r, 201);
    ck_assert_ptr_nonnull(it_str(&r, "id"));
    ck_assert_str_eq(it_str(&r, "id"), it_str(&r, "pipeline_id"));
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* GETs a pipeline and asserts its graph has these modules in order. */
static void
assert_modules(struct it_client *c, const char *token, const char *id,
               const char *const *types, const char *const *modules, size_t n)
{
    struct it_resp r;
    char path[128], at[64];

    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_uint_eq(json_array_size(it_at(&r, "nodes")), n);
    ck_assert_uint_eq(json_array_size(it_at(&r, "edges")), n - 1);
    ck_assert_uint_eq(json_array_size(it_at(&r, "steps")), n);
    for (size_t i = 0; i < n; i++) {
        snprintf(at, sizeof(at), "nodes.%zu.type", i);
        ck_assert_str_eq(it_str(&r, at), types[i]);
        snprintf(at, sizeof(at), "nodes.%zu.module", i);
        ck_assert_str_eq(it_str(&r, at), modules[i]);
        snprintf(at, sizeof(at), "steps.%zu.order", i);
        ck_assert_int_eq(it_int(&r, at), (long long)i + 1);
    }
    for (size_t i = 0; i + 1 < n; i++) {
        snprintf(at, sizeof(at), "edges.%zu.source", i);
        ck_assert_str_eq(it_str(&r, at),
                         json_string_value(json_object_get(
                             json_array_get(it_at(&r, "nodes"), i), "id")));
        snprintf(at, sizeof(at), "edges.%zu.target", i);
        ck_assert_str_eq(it_str(&r, at),
                         json_string_value(json_object_get(
                             json_array_get(it_at(&r, "nodes"), i + 1), "id")));
    }
    it_resp_free(&r);
}

START_TEST(every_seed_shape_becomes_the_same_graph)
{
    static const char *const types[] = {"extractor", "transformer", "loader"};
    static const char *const modules[] = {"csv", "cleaner", "postgres"};
    static const char *const types2[] = {"extractor", "loader"};
    static const char *const modules2[] = {"csv", "postgres"};
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, path[128];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);

    /* seed 004: config.nodes / config.edges, read back exactly. */
    id = create(&c, token,
                json_pack("{s:s, s:s, s:o, s:s, s:[s, s], s:{s:s}}", "name",
                          "Shape 004", "description", "nodes and edges",
                          "config", graph_004(), "schedule", "0 2 * * *",
                          "tags", "users", "daily", "default_params",
                          "start_date", "2025-01-01"));
    assert_modules(&c, token, id, types, modules, 3);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(&c, path, token, &r);
    ck_assert_str_eq(it_str(&r, "nodes.0.id"), "read");
    ck_assert_str_eq(it_str(&r, "nodes.0.config.path"), "in/customers.csv");
    ck_assert_int_eq(it_int(&r, "nodes.0.position.x"), 100);
    ck_assert(json_is_true(it_at(&r, "nodes.1.config.remove_duplicates")));
    ck_assert_str_eq(it_str(&r, "nodes.2.config.table"), "customers");
    ck_assert_str_eq(it_str(&r, "status"), "draft");
    ck_assert_int_eq(it_int(&r, "version"), 1);
    ck_assert_str_eq(it_str(&r, "schedule"), "0 2 * * *");
    ck_assert_str_eq(it_str(&r, "schedule_config.timezone"), "UTC");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "next_run"), "T02:00:00Z"));
    ck_assert_str_eq(it_str(&r, "tags.1"), "daily");
    ck_assert_str_eq(it_str(&r, "default_params.start_date"), "2025-01-01");
    ck_assert_str_eq(it_str(&r, "source_type"), "csv");
    ck_assert_str_eq(it_str(&r, "target_type"), "postgres");
    ck_assert_str_eq(it_str(&r, "slug"), "shape_004");
    it_resp_free(&r);
    free(id);

    /* seed 002: sources, transformations, targets. */
    id = create(&c, token,
                json_pack("{s:s, s:[{s:s, s:s, s:{s:s}}], s:[{s:s, s:s, s:b}], "
                          "s:[{s:s, s:s, s:{s:s}}], s:s}",
                          "name", "Shape 002", "sources", "id", "source_1",
                          "type", "csv", "config", "path", "in/customers.csv",
                          "transformations", "id", "transform_1", "type",
                          "cleaner", "remove_duplicates", 1, "targets", "id",
                          "target_1", "type", "postgresql", "config", "table",
                          "customers", "schedule", "0 3 * * *"));
    assert_modules(&c, token, id, types, modules, 3);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(&c, path, token, &r);
    ck_assert(json_is_true(it_at(&r, "nodes.1.config.remove_duplicates")));
    it_resp_free(&r);
    free(id);

    /* seed 001: source_type, target_type, configuration, and its
     * schedule object. */
    id = create(&c, token,
                json_pack("{s:s, s:s, s:s, s:{s:{s:s}, s:{s:s}, s:i}, "
                          "s:{s:s, s:s, s:b}, s:[{s:s, s:s}]}",
                          "name", "Shape 001", "source_type", "csv",
                          "target_type", "postgresql", "configuration",
                          "source", "path", "in/customers.csv", "target",
                          "table", "customers", "batch_size", 500, "schedule",
                          "cron", "30 4 * * *", "timezone", "UTC", "enabled", 1,
                          "data_quality_rules", "type", "not_null", "column",
                          "id"));
    assert_modules(&c, token, id, types2, modules2, 2);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(&c, path, token, &r);
    ck_assert_str_eq(it_str(&r, "schedule"), "30 4 * * *");
    ck_assert(json_is_true(it_at(&r, "schedule_config.enabled")));
    ck_assert_int_eq(it_int(&r, "configuration.batch_size"), 500);
    ck_assert_str_eq(it_str(&r, "data_quality_rules.0.type"), "not_null");
    it_resp_free(&r);
    free(id);

    /* seed 000: ordered steps, given out of order. */
    id =
        create(&c, token,
               json_pack("{s:s, s:s, s:[{s:s, s:s, s:i, s:s, s:{s:s}}, "
                         "{s:s, s:s, s:i, s:s, s:{s:s}}, "
                         "{s:s, s:s, s:i, s:s, s:{s:b}}]}",
                         "name", "Shape 000", "pipeline_id", "bronze_to_silver",
                         "steps", "step_id", "load", "type", "loader", "order",
                         3, "module", "postgres", "config", "table", "silver",
                         "step_id", "extract", "type", "extractor", "order", 1,
                         "module", "csv", "config", "path", "bronze.csv",
                         "step_id", "data_cleaning", "type", "transformer",
                         "order", 2, "module", "cleaner", "config", "trim", 1));
    assert_modules(&c, token, id, types, modules, 3);
    /* ... and addressable by its readable id. */
    it_get(&c, "/api/v1/pipelines/bronze_to_silver", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "id"), id);
    ck_assert_str_eq(it_str(&r, "steps.1.step_id"), "data_cleaning");
    it_resp_free(&r);
    /* A second pipeline may not take the same slug. */
    it_call(&c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:s, s:o}", "name", "Again", "slug",
                      "bronze_to_silver", "config", graph_004()),
            &r);
    it_assert_error(&r, 409, "DUPLICATE_RESOURCE");
    it_resp_free(&r);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* Asserts that body (taken) is refused with 422 naming field. */
static void
assert_invalid(struct it_client *c, const char *token, json_t *body,
               const char *field, const char *reason_part)
{
    struct it_resp r;
    json_t *errors, *e;
    size_t i;
    bool found = false;

    it_call(c, "POST", "/api/v1/pipelines", token, body, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    errors = it_at(&r, "error.details.errors");
    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *why = json_string_value(json_object_get(e, "reason"));

        if (strcmp(f, field) == 0 &&
            (reason_part == NULL || strstr(why, reason_part) != NULL))
            found = true;
    }
    ck_assert_msg(found, "no error on %s (%s) in %s", field,
                  reason_part ? reason_part : "", r.body);
    it_resp_free(&r);
}

/*
 * Asserts that the seed 004 graph, with member key of node's config set
 * to value, is refused naming nodes[node].config.key.
 */
static void
assert_invalid_config(struct it_client *c, const char *token, int node,
                      const char *key, const char *value,
                      const char *reason_part)
{
    json_t *g = graph_004();
    char field[64];

    json_object_set_new(
        json_object_get(json_array_get(json_object_get(g, "nodes"), node),
                        "config"),
        key, json_string(value));
    snprintf(field, sizeof(field), "nodes[%d].config.%s", node, key);
    assert_invalid(c, token, json_pack("{s:s, s:o}", "name", key, "config", g),
                   field, reason_part);
}

/* A copy of the seed 004 graph with one change made by fn. */
static json_t *
graph_with(void (*fn)(json_t *g))
{
    json_t *g = graph_004();

    fn(g);
    return g;
}

static void
add_cycle(json_t *g)
{
    json_array_append_new(
        json_object_get(g, "edges"),
        json_pack("{s:s, s:s}", "source", "write", "target", "clean"));
    /* write -> clean makes clean/write a cycle, and write a loader with an
     * output: both are reported. */
}

static void
dangle(json_t *g)
{
    json_array_append_new(
        json_object_get(g, "edges"),
        json_pack("{s:s, s:s}", "source", "clean", "target", "nowhere"));
}

static void
unknown_module(json_t *g)
{
    json_object_set_new(json_array_get(json_object_get(g, "nodes"), 2),
                        "module", json_string("s3"));
}

static void
bad_config(json_t *g)
{
    json_t *cfg = json_object_get(
        json_array_get(json_object_get(g, "nodes"), 2), "config");

    json_object_set_new(cfg, "mode", json_string("merge"));
    json_object_del(cfg, "table");
}

static void
disconnect(json_t *g)
{
    json_array_remove(json_object_get(g, "edges"), 1);
}

START_TEST(validation_names_every_problem)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, path[160];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o}", "name", "cycle", "config",
                             graph_with(add_cycle)),
                   "edges", "cycle");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o}", "name", "dangling", "config",
                             graph_with(dangle)),
                   "edges[2].target", "nowhere");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o}", "name", "s3", "config",
                             graph_with(unknown_module)),
                   "nodes[2].module", "unknown module 's3'");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o}", "name", "bad config", "config",
                             graph_with(bad_config)),
                   "nodes[2].config.mode", "append");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o}", "name", "bad config", "config",
                             graph_with(bad_config)),
                   "nodes[2].config.table", "is required");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o}", "name", "split", "config",
                             graph_with(disconnect)),
                   "edges", "not connected");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o, s:s}", "name", "cron", "config",
                             graph_004(), "schedule", "61 * * * *"),
                   "schedule", "minute");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o, s:{s:s, s:s}}", "name", "tz", "config",
                             graph_004(), "schedule", "cron", "0 2 * * *",
                             "timezone", "Mars/Olympus"),
                   "schedule.timezone", "Mars/Olympus");
    assert_invalid(&c, token,
                   json_pack("{s:s, s:o, s:s}", "name", "no project", "config",
                             graph_004(), "project_id",
                             "0190a0a0-0000-4000-8000-000000000000"),
                   "project_id", "no project");
    assert_invalid(&c, token, json_pack("{s:s}", "name", "no graph"), "nodes",
                   "is required");
    /* Sizes are bounded before anything is built: 150 sources and 10
     * targets would be 1500 edges. */
    {
        json_t *sources = json_array(), *targets = json_array();

        for (int i = 0; i < 150; i++)
            json_array_append_new(sources, json_pack("{s:s}", "type", "csv"));
        for (int i = 0; i < 10; i++)
            json_array_append_new(targets,
                                  json_pack("{s:s}", "type", "postgres"));
        assert_invalid(&c, token,
                       json_pack("{s:s, s:o, s:o}", "name", "huge", "sources",
                                 sources, "targets", targets),
                       "targets", "at most 1000 edges");
        sources = json_array();
        for (int i = 0; i < 201; i++)
            json_array_append_new(sources, json_pack("{s:s}", "type", "csv"));
        assert_invalid(
            &c, token,
            json_pack("{s:s, s:o}", "name", "huge", "nodes", sources), "nodes",
            "at most 200 nodes");
    }
    /* The warehouse has three layers, and no other organisation's. */
    assert_invalid_config(&c, token, 2, "schema", "t_other_gold",
                          "bronze, silver or gold");
    /* A file path is refused where the runner would refuse it: any "..",
     * even inside a name (lib/warehouse.c, one rule for both). */
    assert_invalid_config(&c, token, 0, "path", "in/a..b.csv", "no '..'");
    /* A connector that does not exist in this organisation. */
    {
        json_t *g = graph_004();

        json_object_set_new(
            json_object_get(json_array_get(json_object_get(g, "nodes"), 2),
                            "config"),
            "connection_id",
            json_string("0190a0a0-0000-4000-8000-000000000001"));
        assert_invalid(&c, token,
                       json_pack("{s:s, s:o}", "name", "conn", "config", g),
                       "nodes[2].config.connection_id", "no connector");
    }

    /* POST .../validate: seed 004's form, for the stored pipeline and for
     * a proposed change, which is not stored. */
    id = create(
        &c, token,
        json_pack("{s:s, s:o}", "name", "to validate", "config", graph_004()));
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/validate", id);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "valid")));
    ck_assert_uint_eq(json_array_size(it_at(&r, "errors")), 0);
    ck_assert_uint_eq(json_array_size(it_at(&r, "warnings")), 0);
    it_resp_free(&r);
    it_call(&c, "POST", path, token,
            json_pack("{s:o}", "config", graph_with(add_cycle)), &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_false(it_at(&r, "valid")));
    ck_assert_ptr_nonnull(strstr(it_str(&r, "errors.0"), "edges"));
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "version"), 1);
    ck_assert_uint_eq(json_array_size(it_at(&r, "edges")), 2);
    it_resp_free(&r);
    /* An update to an invalid graph is refused and changes nothing. */
    it_call(&c, "PUT", path, token,
            json_pack("{s:o}", "config", graph_with(dangle)), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "version"), 1);
    it_resp_free(&r);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(every_change_is_a_version)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, path[160];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    id = create(
        &c, token,
        json_pack("{s:s, s:o}", "name", "Versioned", "config", graph_004()));
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    /* seed 002's PUT changes only what it names. */
    it_call(&c, "PUT", path, token,
            json_pack("{s:s, s:s, s:s}", "name", "Renamed", "description",
                      "Updated", "schedule", "0 4 * * *"),
            &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "version"), 2);
    ck_assert_str_eq(it_str(&r, "name"), "Renamed");
    ck_assert_uint_eq(json_array_size(it_at(&r, "nodes")), 3);
    it_resp_free(&r);
    it_call(&c, "PATCH", path, token, json_pack("{s:[s]}", "tags", "renamed"),
            &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "version"), 3);
    ck_assert_str_eq(it_str(&r, "description"), "Updated");
    it_resp_free(&r);

    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/versions", id);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 3);
    ck_assert_int_eq(it_int(&r, "items.0.version"), 3);
    ck_assert(json_is_true(it_at(&r, "items.0.is_current")));
    ck_assert_str_eq(it_str(&r, "items.2.name"), "Versioned");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/versions/1", id);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "definition.name"), "Versioned");
    ck_assert_ptr_null(it_str(&r, "definition.schedule"));
    ck_assert(json_is_false(it_at(&r, "is_current")));
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/versions/9", id);
    it_get(&c, path, token, &r);
    it_assert_error(&r, 404, "VERSION_NOT_FOUND");
    it_resp_free(&r);

    /* deploy, pause, resume. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/resume", id);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 409, "INVALID_STATE");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/deploy", id);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "deployed");
    ck_assert_str_eq(it_str(&r, "pipeline.status"), "active");
    ck_assert_int_eq(it_int(&r, "version"), 3);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/pause", id);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "paused");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/resume", id);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "active");
    it_resp_free(&r);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(lists_filter_sort_and_paginate)
{
    static const char *const names[] = {"Echo", "alpha", "Delta", "charlie",
                                        "Bravo"};
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    for (size_t i = 0; i < 5; i++)
        free(create(&c, token,
                    json_pack("{s:s, s:o, s:[s], s:s}", "name", names[i],
                              "config", graph_004(), "tags",
                              i % 2 ? "odd" : "even", "status",
                              i == 0 ? "active" : "draft")));

    it_get(&c, "/api/v1/pipelines?page=2&page_size=2&sort=name&order=asc",
           token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 5);
    ck_assert_int_eq(it_int(&r, "page"), 2);
    ck_assert_int_eq(it_int(&r, "total_pages"), 3);
    ck_assert_str_eq(it_str(&r, "items.0.name"), "charlie");
    ck_assert_str_eq(it_str(&r, "items.1.name"), "Delta");
    ck_assert_str_eq(it_header(&r, "X-Total-Count"), "5");
    ck_assert_str_eq(it_header(&r, "X-Page"), "2");
    ck_assert_str_eq(it_header(&r, "X-Page-Size"), "2");
    ck_assert_str_eq(it_header(&r, "X-Total-Pages"), "3");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?skip=4&limit=2&sort=name", token, &r);
    ck_assert_int_eq(it_int(&r, "skip"), 4);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 1);
    ck_assert_str_eq(it_str(&r, "items.0.name"), "Echo");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?offset=9&limit=2", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 5);
    ck_assert_uint_eq(json_array_size(it_at(&r, "items")), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?status=active", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.name"), "Echo");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?tags=odd&sort=name&order=desc", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 2);
    ck_assert_str_eq(it_str(&r, "items.0.name"), "charlie");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?search=LPH", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.name"), "alpha");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?search=%25", token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?status=running", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "status");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines?sort=password", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    free(token);
    free(admin);
    free(org);
}
END_TEST

START_TEST(roles_and_organizations)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *admin_b, *org_b, *token_b, *id, *viewer;
    char path[160];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    token_b = it_new_org(&c, &admin_b, &org_b);
    id = create(&c, token,
                json_pack("{s:s, s:s, s:o}", "name", "Private", "slug",
                          "private_one", "config", graph_004()));

    /* A viewer reads but cannot write. */
    viewer = it_member(&c, token, "viewer");
    it_get(&c, "/api/v1/pipelines", viewer, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/pipelines", viewer,
            json_pack("{s:s, s:o}", "name", "Nope", "config", graph_004()), &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_call(&c, "DELETE", path, viewer, NULL, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);

    /* Organisation B sees nothing of A's, by id or by slug. */
    it_get(&c, path, token_b, &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines/private_one", token_b, &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "PUT", path, token_b, json_pack("{s:s}", "name", "Mine"), &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    it_get(&c, "/api/v1/pipelines", token_b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    /* B may use the same slug: slugs are per organisation. */
    free(create(&c, token_b,
                json_pack("{s:s, s:s, s:o}", "name", "Also", "slug",
                          "private_one", "config", graph_004())));
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "name"), "Private");
    it_resp_free(&r);
    free(viewer);
    free(id);
    free(token);
    free(admin);
    free(org);
    free(token_b);
    free(admin_b);
    free(org_b);
}
END_TEST

START_TEST(modules_are_the_runner_list)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_get(&c, "/api/v1/modules", token, &r);
    it_assert_status(&r, 200);
    ck_assert_uint_eq(json_array_size(it_at(&r, "extractors")), 3);
    ck_assert_uint_eq(json_array_size(it_at(&r, "transformers")), 7);
    ck_assert_uint_eq(json_array_size(it_at(&r, "loaders")), 3);
    ck_assert_uint_eq(json_array_size(it_at(&r, "quality_gates")), 1);
    ck_assert_str_eq(it_str(&r, "extractors.0.name"), "postgres");
    ck_assert_str_eq(it_str(&r, "extractors.0.color"), "#336791");
    ck_assert_ptr_nonnull(it_str(&r, "transformers.1.display_name"));
    it_resp_free(&r);
    it_get(&c, "/api/v1/modules/extractor/postgres/schema", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "schema.type"), "object");
    ck_assert_str_eq(it_str(&r, "schema.properties.query.language"), "sql");
    ck_assert_str_eq(it_str(&r, "defaults.query"), "SELECT * FROM table_name");
    /* Seed 004's required: nothing always (a query or a table, anyOf). */
    ck_assert(json_is_array(it_at(&r, "schema.required")));
    ck_assert_uint_eq(json_array_size(it_at(&r, "schema.anyOf")), 2);
    it_resp_free(&r);
    it_get(&c, "/api/v1/modules/transformer/cleaner/schema", token, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_array(it_at(&r, "schema.required")));
    it_resp_free(&r);
    it_get(&c, "/api/v1/modules/transformers/sql/schema", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "schema.required.0"), "query");
    it_resp_free(&r);
    it_get(&c, "/api/v1/modules/loaders/postgres/schema", token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "defaults.mode"), "append");
    it_resp_free(&r);
    it_get(&c, "/api/v1/modules/loader/s3/schema", token, &r);
    it_assert_error(&r, 404, "MODULE_NOT_FOUND");
    it_resp_free(&r);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/*
 * Seed 002's transformations: an sql one gives its query as code, which
 * runs; a python one is refused, saying what runs instead.
 */
START_TEST(seed_002_sql_code_runs_and_python_is_refused)
{
    static const char *const code =
        "SELECT id, amount FROM input WHERE amount::numeric > 0";
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, *run, *v, path[160];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    it_data_file(org, "sales.csv", "id,amount\n1,10\n2,-3\n3,0\n4,7.5\n");
    id = create(
        &c, token,
        json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:s}}], s:[{s:s, s:s, s:s}], "
                  "s:[{s:s, s:s, s:{s:s}}], s:s}",
                  "name", "Custom ETL Pipeline", "description",
                  "Manual pipeline creation", "sources", "id", "source_1",
                  "type", "csv", "config", "path", "sales.csv",
                  "transformations", "id", "transform_1", "type", "sql", "code",
                  code, "targets", "id", "target_1", "type", "postgresql",
                  "config", "table", "daily_sales", "schedule", "0 3 * * *"));
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "nodes.1.module"), "sql");
    ck_assert_str_eq(it_str(&r, "nodes.1.config.query"), code);
    ck_assert_ptr_null(it_at(&r, "nodes.1.config.code"));
    it_resp_free(&r);
    run = it_execute(&c, token, id);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    snprintf(path, sizeof(path),
             "SELECT string_agg(id || '=' || amount, ',' ORDER BY id) "
             "FROM t_%s_bronze.daily_sales",
             org);
    v = it_wh(path, NULL);
    ck_assert_str_eq(v, "1=10,4=7.5");
    free(v);

    /* The seed's own python transformation: no runtime for it here. */
    assert_invalid(
        &c, token,
        json_pack("{s:s, s:[{s:s, s:s, s:{s:s}}], s:[{s:s, s:s, s:s}], "
                  "s:[{s:s, s:s, s:{s:s}}]}",
                  "name", "Daily Sales ETL", "sources", "id", "source_1",
                  "type", "csv", "config", "path", "sales.csv",
                  "transformations", "id", "transform_1", "type", "python",
                  "code", "def transform(df): return df[df['amount'] > 0]",
                  "targets", "id", "target_1", "type", "postgresql", "config",
                  "table", "daily_sales"),
        "transformations[0].type", "runs SQL (type \"sql\"");
    free(run);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* The number of the organisation's connectors. */
static long long
connector_count(struct it_client *c, const char *token)
{
    struct it_resp r;
    long long n;

    it_get(c, "/api/v1/connectors", token, &r);
    it_assert_status(&r, 200);
    n = it_int(&r, "total");
    it_resp_free(&r);
    return n;
}

/*
 * Seed 001's pipeline: its source and target give their connections
 * inline (a connection string, a password). Each becomes a connector the
 * pipeline names, made in the pipeline's transaction, never echoed and
 * never kept in the pipeline; the transformation's SQL, with seed 001's
 * quoted '${start_date}', reads with the parameter bound.
 */
START_TEST(seed_001_connection_settings_become_connectors)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, *run, *v, *pass, sql[512], cs[512];
    char src[96], dst[96], path[160], conn_src[64], conn_dst[64];
    json_t *wh = it_wh_settings(), *target, *body;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    pass = strdup(json_string_value(json_object_get(wh, "password")));
    snprintf(src, sizeof(src), "customers_%s", org);
    snprintf(dst, sizeof(dst), "customers_raw_%s", org);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE public.%s (customer_id int, name text, email text, "
             "created_at timestamptz)",
             src);
    free(it_wh(sql, NULL));
    snprintf(sql, sizeof(sql),
             "INSERT INTO public.%s VALUES (1, 'Ann', 'ann@x.io', "
             "'2023-12-31'), (2, 'Bob', 'bob@x.io', '2024-01-01'), "
             "(3, 'Cy', 'cy@x.io', '2024-03-05')",
             src);
    free(it_wh(sql, NULL));
    snprintf(cs, sizeof(cs), "postgresql://sluice_wh:%s@%s:%lld/%s?sslmode=%s",
             pass, json_string_value(json_object_get(wh, "host")),
             (long long)json_integer_value(json_object_get(wh, "port")),
             "sluice_warehouse", "disable");
    snprintf(sql, sizeof(sql),
             "SELECT customer_id, name, email, created_at FROM %s "
             "WHERE created_at >= '${start_date}'",
             src);
    /* The seed's body, but for its target (iceberg: no module here). */
    target = json_deep_copy(wh);
    json_object_set_new(target, "schema", json_string("public"));
    json_object_set_new(target, "table", json_string(dst));
    body = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:{s:O, s:O, s:s, s:s, s:s, s:s}, s:o, "
        "s:{s:s, s:{s:s}}}, s:{s:s, s:s, s:b}, s:[{s:s, s:s}, {s:s, s:s}]}",
        "name", "Customer Data Ingestion", "description",
        "Daily customer data import from CRM", "source_type", "postgresql",
        "target_type", "postgresql", "configuration", "source", "host",
        json_object_get(wh, "host"), "port", json_object_get(wh, "port"),
        "database", "sluice_warehouse", "schema", "public", "table", src,
        "connection_string", cs, "target", target, "transformation", "sql", sql,
        "parameters", "start_date", "2024-01-01", "schedule", "cron",
        "0 2 * * *", "timezone", "UTC", "enabled", 1, "data_quality_rules",
        "type", "not_null", "column", "customer_id", "type", "unique", "column",
        "email");

    it_call(&c, "POST", "/api/v1/pipelines", token, json_incref(body), &r);
    it_assert_status(&r, 201);
    ck_assert_ptr_null(strstr(r.body, pass));
    ck_assert_ptr_nonnull(it_str(&r, "pipeline_id"));
    ck_assert_str_eq(it_str(&r, "status"), "draft");
    ck_assert_str_eq(it_str(&r, "message"), "Pipeline created successfully");
    ck_assert_str_eq(it_str(&r, "deployment_status"), "not_deployed");
    ck_assert_ptr_nonnull(it_str(&r, "created_at"));
    ck_assert_uint_eq(json_array_size(it_at(&r, "connectors_created")), 2);
    ck_assert_str_eq(it_str(&r, "connectors_created.0.node_id"), "source");
    snprintf(conn_src, sizeof(conn_src), "%s",
             it_str(&r, "connectors_created.0.id"));
    snprintf(conn_dst, sizeof(conn_dst), "%s",
             it_str(&r, "connectors_created.1.id"));
    id = strdup(it_str(&r, "pipeline_id"));
    it_resp_free(&r);

    /* The pipeline names the connectors and holds no connection setting. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", id);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_null(strstr(r.body, pass));
    ck_assert_str_eq(it_str(&r, "nodes.0.config.connection_id"), conn_src);
    ck_assert_str_eq(it_str(&r, "nodes.1.config.connection_id"), conn_dst);
    ck_assert_ptr_null(it_at(&r, "nodes.0.config.host"));
    ck_assert_ptr_null(it_at(&r, "nodes.0.config.connection_string"));
    ck_assert_ptr_null(it_at(&r, "nodes.1.config.password"));
    ck_assert_ptr_null(it_at(&r, "configuration.source"));
    ck_assert_ptr_nonnull(
        strstr(it_str(&r, "nodes.0.config.query"), ">= ${start_date}"));
    it_resp_free(&r);
    v = it_sql("SLUICE_TEST_OWNER_DB_URL",
               "SELECT count(*) FROM pipelines p WHERE p.id = $1 "
               "AND strpos(p::text, $2) > 0",
               id, pass, NULL, NULL, 0);
    ck_assert_str_eq(v, "0");
    free(v);
    /* The connectors are the organisation's, sealed, and can be rotated. */
    snprintf(path, sizeof(path), "/api/v1/connectors/%s", conn_src);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "type"), "postgresql");
    ck_assert_ptr_null(strstr(r.body, pass));
    ck_assert_ptr_nonnull(strstr(it_str(&r, "name"), "Customer Data"));
    it_resp_free(&r);
    ck_assert_int_eq(connector_count(&c, token), 2);

    /* It runs: rows from 2024-01-01 on. */
    run = it_execute(&c, token, id);
    it_await_run(&c, token, run, "completed|failed", 30, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(customer_id || name, ',' ORDER BY customer_id) "
             "FROM public.%s",
             dst);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "2Bob,3Cy");
    free(v);

    /* The seed's own target is refused for what it is; and a pipeline
     * refused once its connectors were written leaves none behind. */
    json_object_set_new(body, "target_type", json_string("iceberg"));
    assert_invalid(&c, token, json_incref(body), "target_type",
                   "'iceberg' has no module");
    json_object_set_new(body, "target_type", json_string("postgresql"));
    json_object_set_new(body, "project_id",
                        json_string("0190a0a0-0000-4000-8000-000000000000"));
    assert_invalid(&c, token, json_incref(body), "project_id", "no project");
    json_object_del(body, "project_id");
    ck_assert_int_eq(connector_count(&c, token), 2);

    /* A connector_id with settings beside it: which would win is not
     * guessed. */
    json_object_set_new(body, "target_type", json_string("postgresql"));
    json_object_set_new(
        json_object_get(json_object_get(body, "configuration"), "source"),
        "connector_id", json_string(conn_src));
    assert_invalid(&c, token, json_incref(body), "configuration.source.host",
                   "not both");
    /* ... and a connector_id alone is used as it is. */
    {
        json_t *source =
            json_object_get(json_object_get(body, "configuration"), "source");

        json_object_del(source, "host");
        json_object_del(source, "port");
        json_object_del(source, "database");
        json_object_del(source, "connection_string");
    }
    it_call(&c, "POST", "/api/v1/pipelines", token, json_incref(body), &r);
    it_assert_status(&r, 201);
    ck_assert_uint_eq(json_array_size(it_at(&r, "connectors_created")), 1);
    ck_assert_str_eq(it_str(&r, "nodes.0.config.connection_id"), conn_src);
    it_resp_free(&r);
    ck_assert_int_eq(connector_count(&c, token), 3);
    /* A long name in any script names its connector, cut between
     * characters. */
    {
        char name[256] = "x";

        for (int i = 0; i < 90; i++)
            strcat(name, "\xc3\xa9");
        json_object_set_new(body, "name", json_string(name));
    }
    it_call(&c, "POST", "/api/v1/pipelines", token, json_incref(body), &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    ck_assert_int_eq(connector_count(&c, token), 4);

    json_decref(body);
    json_decref(wh);
    free(run);
    free(id);
    free(pass);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
pipelines_suite(void)
{
    Suite *s = suite_create("it_pipelines");
    TCase *tc = tcase_create("pipelines");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_seed_shape_becomes_the_same_graph);
    tcase_add_test(tc, validation_names_every_problem);
    tcase_add_test(tc, every_change_is_a_version);
    tcase_add_test(tc, lists_filter_sort_and_paginate);
    tcase_add_test(tc, roles_and_organizations);
    tcase_add_test(tc, modules_are_the_runner_list);
    tcase_add_test(tc, seed_002_sql_code_runs_and_python_is_refused);
    tcase_add_test(tc, seed_001_connection_settings_become_connectors);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pipelines_suite)
