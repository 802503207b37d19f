/*
 * test_modules.c: the module table is well formed — every schema is a
 * schema the validator fully understands, every defaults object satisfies
 * its schema, names are unique per type, and the lookups work — and it is
 * the runner's list too: every module it lists has runner operations of
 * its type, and the runner has no module it does not list.
 */
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "err.h"
#include "jschema.h"
#include "modules.h"
#include "unit.h"

static void
on_problem(void *arg, const char *path, const char *reason)
{
    ck_abort_msg("%s: %s: %s", (const char *)arg, path, reason);
}

START_TEST(schemas_are_valid_and_defaults_satisfy_them)
{
    for (size_t i = 0; i < sl_nmodules; i++) {
        const struct sl_module *m = &sl_modules[i];
        json_t *schema = json_loads(m->schema, 0, NULL);
        json_t *defaults = json_loads(m->defaults, 0, NULL);

        ck_assert_msg(schema != NULL, "%s: schema is not JSON", m->name);
        ck_assert_msg(json_is_object(defaults), "%s: defaults", m->name);
        ck_assert_int_eq(sl_jschema_check(schema, on_problem, (void *)m->name),
                         0);
        /* Defaults need not be complete (a query to write), but what they
         * hold must be of the right form. */
        ck_assert_int_ge(sl_jschema_validate(schema, defaults, NULL, NULL), 0);
        json_decref(schema);
        json_decref(defaults);
    }
}
END_TEST

/* Seed 004's form reads "required": every schema has it, naming only
 * members the schema describes. */
START_TEST(every_schema_says_what_is_required)
{
    for (size_t i = 0; i < sl_nmodules; i++) {
        const struct sl_module *m = &sl_modules[i];
        json_t *schema = json_loads(m->schema, 0, NULL);
        json_t *req = json_object_get(schema, "required"), *name;
        size_t k;

        ck_assert_msg(json_is_array(req), "%s %s: no required array",
                      sl_module_type_name(m->type), m->name);
        json_array_foreach(req, k, name)
        {
            ck_assert_msg(json_object_get(json_object_get(schema, "properties"),
                                          json_string_value(name)) != NULL,
                          "%s: required names %s, which it does not describe",
                          m->name, json_string_value(name));
        }
        json_decref(schema);
    }
}
END_TEST

START_TEST(names_and_lookups)
{
    ck_assert_uint_eq(sl_nmodules, 14);
    for (size_t i = 0; i < sl_nmodules; i++)
        for (size_t j = i + 1; j < sl_nmodules; j++)
            ck_assert(!(sl_modules[i].type == sl_modules[j].type &&
                        strcmp(sl_modules[i].name, sl_modules[j].name) == 0));
    ck_assert_int_eq(sl_module_find(SL_MODULE_LOADER, "postgres")->type,
                     SL_MODULE_LOADER);
    ck_assert_int_eq(sl_module_lookup("postgres", SL_MODULE_NONE)->type,
                     SL_MODULE_EXTRACTOR);
    ck_assert_int_eq(sl_module_lookup("cleaner", SL_MODULE_NONE)->type,
                     SL_MODULE_TRANSFORMER);
    ck_assert_ptr_null(sl_module_lookup("s3", SL_MODULE_NONE));
    ck_assert_str_eq(sl_module_alias("PostgreSQL"), "postgres");
    ck_assert_str_eq(sl_module_alias("json"), "jsonl");
    ck_assert_ptr_null(sl_module_alias("clickhouse"));
    ck_assert_int_eq(sl_module_type_parse("loaders"), SL_MODULE_LOADER);
    ck_assert_int_eq(sl_module_type_parse("quality_gate"), SL_MODULE_QUALITY);
    ck_assert_int_eq(sl_module_type_parse("sink"), SL_MODULE_NONE);
}
END_TEST

START_TEST(a_bad_config_is_caught)
{
    const struct sl_module *m = sl_module_find(SL_MODULE_LOADER, "postgres");
    json_t *schema = json_loads(m->schema, 0, NULL);
    json_t *bad = json_pack("{s:s, s:i}", "mode", "merge", "extra", 1);

    /* mode not in the enum, table missing, extra not allowed. */
    ck_assert_int_eq(sl_jschema_validate(schema, bad, NULL, NULL), 3);
    json_decref(bad);
    json_decref(schema);
}
END_TEST

START_TEST(every_listed_module_runs)
{
    const struct run_module_ops *seen[SL_MOD_COUNT_];

    ck_assert_uint_eq(sl_nmodules, SL_MOD_COUNT_);
    for (size_t i = 0; i < sl_nmodules; i++) {
        const struct sl_module *m = &sl_modules[i];
        const struct run_module_ops *ops = run_module_ops(m);
        json_t *schema = json_loads(m->schema, 0, NULL);

        /* Each entry sits at its id, so the runner's table, indexed by
         * id, pairs the right operations with it. */
        ck_assert_uint_eq(m->id, i);
        ck_assert_ptr_nonnull(m->name);
        ck_assert_msg(json_is_object(schema), "%s: no schema", m->name);
        json_decref(schema);
        ck_assert_msg(ops != NULL, "%s %s: no runner operations",
                      sl_module_type_name(m->type), m->name);
        ck_assert_msg(ops->type == m->type, "%s: runs as a %s", m->name,
                      sl_module_type_name(ops->type));
        ck_assert_msg(ops->open != NULL, "%s: no open", m->name);
        if (m->type == SL_MODULE_EXTRACTOR)
            ck_assert_msg(ops->produce != NULL && ops->push == NULL,
                          "%s: an extractor produces", m->name);
        else
            ck_assert_msg(ops->push != NULL && ops->produce == NULL,
                          "%s: a %s takes batches", m->name,
                          sl_module_type_name(m->type));
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(seen[j] != ops, "%s shares %s's operations", m->name,
                          sl_modules[j].name);
        seen[i] = ops;
    }
    ck_assert_ptr_null(run_module_ops(NULL));
}
END_TEST

static Suite *
modules_suite(void)
{
    Suite *s = suite_create("modules");
    TCase *tc = tcase_create("modules");

    tcase_add_test(tc, schemas_are_valid_and_defaults_satisfy_them);
    tcase_add_test(tc, every_schema_says_what_is_required);
    tcase_add_test(tc, names_and_lookups);
    tcase_add_test(tc, a_bad_config_is_caught);
    tcase_add_test(tc, every_listed_module_runs);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(modules_suite)
