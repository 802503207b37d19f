/*
 * it_softdelete.c: projects, and what an organisation admin does with
 * deleted things — list, count, restore (with what was deleted together),
 * purge — each recorded in the audit log; other organisations see none of
 * it, and other roles may not do it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

static char *
create(struct it_client *c, const char *token, const char *path, json_t *body)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", path, token, body, &r);
    it_assert_status(&r, 201);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* The status of GET prefix + id. */
static int
status_of(struct it_client *c, const char *token, const char *prefix,
          const char *id)
{
    struct it_resp r;
    char path[160];
    int st;

    snprintf(path, sizeof(path), "%s%s", prefix, id);
    it_get(c, path, token, &r);
    st = r.status;
    it_resp_free(&r);
    return st;
}

START_TEST(projects_crud)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *id, path[160];

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    id = create(&c, token, "/api/v1/projects",
                json_pack("{s:s, s:s, s:[s]}", "name", "Sales", "description",
                          "Sales ETL", "tags", "finance"));
    it_call(&c, "POST", "/api/v1/projects", token,
            json_pack("{s:s}", "name", "sales"), &r);
    it_assert_error(&r, 409, "DUPLICATE_RESOURCE");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/projects", token,
            json_pack("{s:i}", "name", 3), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "name");
    it_resp_free(&r);
    free(create(&c, token, "/api/v1/pipelines",
                json_pack("{s:s, s:s, s:o}", "name", "In sales", "project_id",
                          id, "config", it_graph())));
    snprintf(path, sizeof(path), "/api/v1/projects/%s", id);
    it_call(&c, "PATCH", path, token,
            json_pack("{s:s, s:n}", "name", "Sales 2", "description"), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "name"), "Sales 2");
    ck_assert_ptr_null(it_str(&r, "description"));
    ck_assert_str_eq(it_str(&r, "tags.0"), "finance");
    ck_assert_int_eq(it_int(&r, "pipeline_count"), 1);
    it_resp_free(&r);
    it_get(&c, "/api/v1/projects?page=1&page_size=10", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_header(&r, "X-Total-Count"), "1");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/pipelines?project_id=%s", id);
    it_get(&c, path, token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.project_id"), id);
    it_resp_free(&r);
    free(id);
    free(token);
    free(admin);
    free(org);
}
END_TEST

/* Finds the audit entry for action on entity id; asserts its actor. */
static void
assert_audited(struct it_client *c, const char *token, const char *id,
               const char *action, const char *actor)
{
    struct it_resp r;
    char path[200];
    json_t *e;
    size_t i;
    bool found = false;

    snprintf(path, sizeof(path), "/api/v1/admin/audit-log?entity_id=%s", id);
    it_get(c, path, token, &r);
    it_assert_status(&r, 200);
    json_array_foreach(it_at(&r, "items"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "action")), action) ==
            0) {
            found = true;
            ck_assert_str_eq(
                json_string_value(json_object_get(e, "actor_user_id")), actor);
            ck_assert_ptr_nonnull(json_object_get(e, "created_at"));
        }
    }
    ck_assert_msg(found, "no %s of %s in %s", action, id, r.body);
    it_resp_free(&r);
}

START_TEST(delete_restore_purge_audited)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *proj, *p1, *p2, *lone, *me;
    char path[200], *token_b, *admin_b, *org_b;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    token_b = it_new_org(&c, &admin_b, &org_b);
    it_get(&c, "/api/v1/auth/me", token, &r);
    me = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    proj = create(&c, token, "/api/v1/projects",
                  json_pack("{s:s}", "name", "Doomed"));
    p1 = create(&c, token, "/api/v1/pipelines",
                json_pack("{s:s, s:s, s:o}", "name", "One", "project_id", proj,
                          "config", it_graph()));
    p2 = create(&c, token, "/api/v1/pipelines",
                json_pack("{s:s, s:s, s:o}", "name", "Two", "project_id", proj,
                          "config", it_graph()));
    lone =
        create(&c, token, "/api/v1/pipelines",
               json_pack("{s:s, s:o}", "name", "Lone", "config", it_graph()));

    /* Organisation B cannot read or change A's project. */
    ck_assert_int_eq(status_of(&c, token_b, "/api/v1/projects/", proj), 404);
    snprintf(path, sizeof(path), "/api/v1/projects/%s", proj);
    it_call(&c, "PATCH", path, token_b, json_pack("{s:s}", "name", "Mine"), &r);
    it_assert_error(&r, 404, "PROJECT_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "PROJECT_NOT_FOUND");
    it_resp_free(&r);
    /* ... nor put a pipeline in it. */
    it_call(&c, "POST", "/api/v1/pipelines", token_b,
            json_pack("{s:s, s:s, s:o}", "name", "Intruder", "project_id", proj,
                      "config", it_graph()),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "project_id");
    it_resp_free(&r);

    /* Deleting the project takes its pipelines. */
    snprintf(path, sizeof(path), "/api/v1/projects/%s", proj);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "related_entities_deleted.pipelines"), 2);
    it_resp_free(&r);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/projects/", proj), 404);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/pipelines/", p1), 404);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/pipelines/", p2), 404);
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", lone);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_nonnull(it_str(&r, "deleted_at"));
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);

    it_get(&c, "/api/v1/admin/deleted-entities", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 4);
    it_resp_free(&r);
    it_get(&c, "/api/v1/admin/deleted-entities?entity_type=projects", token,
           &r);
    ck_assert_int_eq(it_int(&r, "total"), 1);
    ck_assert_str_eq(it_str(&r, "items.0.entity_id"), proj);
    ck_assert_str_eq(it_str(&r, "items.0.deleted_by"), me);
    it_resp_free(&r);
    it_get(&c, "/api/v1/admin/deleted-entities?deleted_before=2000-01-01",
           token, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/admin/deleted-entities?entity_type=tables", token, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    it_get(&c, "/api/v1/admin/deletion-stats", token, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total_deleted"), 4);
    ck_assert_int_eq(it_int(&r, "by_type.projects"), 1);
    ck_assert_int_eq(it_int(&r, "by_type.pipelines"), 3);
    ck_assert(json_real_value(it_at(&r, "disk_space_recoverable_mb")) > 0);
    it_resp_free(&r);

    /* Another organisation sees none of it and cannot restore it. */
    ck_assert_int_eq(status_of(&c, token_b, "/api/v1/projects/", p1), 404);
    it_get(&c, "/api/v1/projects", token_b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    it_get(&c, "/api/v1/admin/deleted-entities", token_b, &r);
    ck_assert_int_eq(it_int(&r, "total"), 0);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/admin/projects/%s/restore", proj);
    it_call(&c, "POST", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "PROJECT_NOT_FOUND");
    it_resp_free(&r);

    /* A pipeline of a deleted project waits for its project. */
    snprintf(path, sizeof(path), "/api/v1/admin/pipelines/%s/restore", p1);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 409, "INVALID_STATE");
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/admin/projects/%s/restore", proj);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "restored")));
    ck_assert_int_eq(it_int(&r, "related_entities_restored.pipelines"), 2);
    it_resp_free(&r);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/pipelines/", p1), 200);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/pipelines/", p2), 200);
    snprintf(path, sizeof(path), "/api/v1/admin/pipelines/%s/restore", lone);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "related_entities_restored.versions"), 1);
    it_resp_free(&r);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/pipelines/", lone), 200);
    assert_audited(&c, token, proj, "delete", me);
    assert_audited(&c, token, proj, "restore", me);
    assert_audited(&c, token, lone, "delete", me);
    assert_audited(&c, token, lone, "restore", me);

    /* Purge: a dry run counts, the real one removes, both audited. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s", lone);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/admin/cleanup-old-deletions", token,
            json_pack("{s:i, s:[s], s:b}", "older_than_days", 0, "entity_types",
                      "pipelines", "dry_run", 1),
            &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "dry_run")));
    ck_assert_int_eq(it_int(&r, "entities_to_delete"), 1);
    ck_assert_int_eq(it_int(&r, "breakdown.pipelines"), 1);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/admin/cleanup-old-deletions", token,
            json_pack("{s:i, s:b}", "older_than_days", 30, "dry_run", 0), &r);
    ck_assert_int_eq(it_int(&r, "entities_deleted"), 0);
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/admin/cleanup-old-deletions", token,
            json_pack("{s:i, s:[s], s:b}", "older_than_days", 0, "entity_types",
                      "pipelines", "dry_run", 0),
            &r);
    ck_assert_int_eq(it_int(&r, "entities_deleted"), 1);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/admin/pipelines/%s/restore", lone);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_error(&r, 404, "PIPELINE_NOT_FOUND");
    it_resp_free(&r);
    assert_audited(&c, token, lone, "purge", me);

    /* A run of one of its pipelines goes with them. */
    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", p1);
    it_call(&c, "POST", path, token, NULL, &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/admin/projects/%s/permanent", proj);
    it_call(&c, "DELETE", path, token_b, NULL, &r);
    it_assert_error(&r, 404, "PROJECT_NOT_FOUND");
    it_resp_free(&r);
    it_call(&c, "DELETE", path, token, NULL, &r);
    it_assert_status(&r, 200);
    ck_assert(json_is_true(it_at(&r, "permanently_deleted")));
    ck_assert_int_eq(it_int(&r, "cascade_deleted.pipelines"), 2);
    ck_assert_int_eq(it_int(&r, "cascade_deleted.runs"), 1);
    it_resp_free(&r);
    ck_assert_int_eq(status_of(&c, token, "/api/v1/pipelines/", p1), 404);
    {
        char *n = it_sql("SLUICE_TEST_OWNER_DB_URL",
                         "SELECT count(*) FROM pipelines WHERE id = $1::uuid "
                         "OR project_id = $2::uuid",
                         p1, proj, NULL, NULL, 0);

        ck_assert_str_eq(n, "0");
        free(n);
    }
    assert_audited(&c, token, proj, "purge", me);

    free(me);
    free(proj);
    free(p1);
    free(p2);
    free(lone);
    free(token);
    free(admin);
    free(org);
    free(token_b);
    free(admin_b);
    free(org_b);
}
END_TEST

START_TEST(only_admins_administer)
{
    struct it_client c;
    struct it_resp r;
    char *admin, *org, *token, *eng;

    it_client_init(&c);
    token = it_new_org(&c, &admin, &org);
    eng = it_member(&c, token, "engineer");
    it_get(&c, "/api/v1/admin/deleted-entities", eng, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/admin/cleanup-old-deletions", eng, NULL, &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    /* Projects are an architect's (seed 002's roles). */
    it_call(&c, "POST", "/api/v1/projects", eng,
            json_pack("{s:s}", "name", "Engineered"), &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);
    free(eng);
    free(token);
    free(admin);
    free(org);
}
END_TEST

static Suite *
softdelete_suite(void)
{
    Suite *s = suite_create("it_softdelete");
    TCase *tc = tcase_create("softdelete");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, projects_crud);
    tcase_add_test(tc, delete_restore_purge_audited);
    tcase_add_test(tc, only_admins_administer);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(softdelete_suite)
