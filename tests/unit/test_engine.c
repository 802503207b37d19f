/*
 * test_engine.c: how a run moves rows (engine.h): batches and schemas;
 * run_emit() between test nodes (a copy for each successor after the
 * first, empty batches dropped, cancellation, a successor's failure); and
 * whole runs of the pure modules over files (csv in, filter, select, a
 * quality gate, csv and jsonl out): what they write, their figures, and
 * how a failed, cancelled or unbuildable run ends with nothing written.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"
#include "runfix.h"
#include "unit.h"

static struct runfix fx;
static json_t *definition; /* of the last run(): the nodes borrow from it */

static void
setup(void)
{
    runfix_init(&fx);
}

static void
teardown(void)
{
    runfix_free(&fx);
    json_decref(definition);
    definition = NULL;
}

/* --- batches and schemas ------------------------------------------------- */

static struct run_col cols3[] = {
    {"id", "bigint"}, {"name", "text"}, {"note", "text"}};
static const struct run_schema schema3 = {3, cols3};

/* Appends a row of three values (NULL allowed) to b, copied into b. */
static void
add3(struct run_batch *b, const char *a, const char *c, const char *d)
{
    char **row = run_batch_add_row(b);

    ck_assert_ptr_nonnull(row);
    row[0] = a ? sl_pstrdup(b->pool, a) : NULL;
    row[1] = c ? sl_pstrdup(b->pool, c) : NULL;
    row[2] = d ? sl_pstrdup(b->pool, d) : NULL;
}

START_TEST(batches_grow_and_copy_deeply)
{
    struct run_batch *b = run_batch_new(&schema3, 0), *c;
    char text[16];

    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->cap, 1); /* never 0: there is always a row */
    ck_assert_uint_eq(b->nrows, 0);
    for (int i = 0; i < 100; i++) {
        snprintf(text, sizeof(text), "%d", i);
        add3(b, text, i % 3 ? "x" : NULL, "");
    }
    ck_assert_uint_eq(b->nrows, 100);
    ck_assert_uint_ge(b->cap, 100);
    /* Growing kept every row in place. */
    for (int i = 0; i < 100; i++) {
        snprintf(text, sizeof(text), "%d", i);
        ck_assert_str_eq(run_cell(b, (size_t)i, 0), text);
        if (i % 3)
            ck_assert_str_eq(run_cell(b, (size_t)i, 1), "x");
        else
            ck_assert_ptr_null(run_cell(b, (size_t)i, 1));
        ck_assert_str_eq(run_cell(b, (size_t)i, 2), "");
    }
    /* A new row starts as NULLs. */
    ck_assert_ptr_null(run_batch_add_row(b)[1]);
    b->nrows--;

    c = run_batch_clone(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(c->schema, b->schema);
    ck_assert_uint_eq(c->nrows, b->nrows);
    ck_assert_ptr_ne(c->pool, b->pool);
    ck_assert_ptr_ne(run_cell(c, 5, 0), run_cell(b, 5, 0));
    ck_assert_str_eq(run_cell(c, 5, 0), "5");
    ck_assert_ptr_null(run_cell(c, 6, 1));
    /* Values are writable, and the copy's are its own. */
    run_cell(c, 5, 0)[0] = '9';
    ck_assert_str_eq(run_cell(b, 5, 0), "5");
    run_batch_free(b);
    ck_assert_str_eq(run_cell(c, 7, 1), "x");
    run_batch_free(c);
    run_batch_free(NULL);
}
END_TEST

START_TEST(schemas_find_compare_and_copy)
{
    struct run_col other[] = {{"id", "text"}, {"name", "text"}, {"x", "text"}};
    struct run_col fewer[] = {{"id", "bigint"}, {"name", "text"}};
    struct run_schema s_other = {3, other}, s_fewer = {2, fewer};
    struct run_schema *copy;

    ck_assert_int_eq(run_schema_find(&schema3, "id"), 0);
    ck_assert_int_eq(run_schema_find(&schema3, "note"), 2);
    ck_assert_int_eq(run_schema_find(&schema3, "Note"), -1);
    ck_assert_int_eq(run_schema_find(&schema3, ""), -1);
    ck_assert(run_schema_same(&schema3, &schema3));
    ck_assert(!run_schema_same(&schema3, &s_other)); /* a name differs */
    ck_assert(!run_schema_same(&schema3, &s_fewer));
    /* Names and their order make a schema the same; types do not. */
    other[2].name = "note";
    ck_assert(run_schema_same(&schema3, &s_other));

    copy = run_schema_copy(fx.job.pool, &schema3);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(copy->ncols, 3);
    ck_assert_ptr_ne(copy->cols, schema3.cols);
    ck_assert_ptr_ne(copy->cols[1].name, schema3.cols[1].name);
    ck_assert_str_eq(copy->cols[0].type, "bigint");
    ck_assert(run_schema_same(copy, &schema3));
    s_fewer.ncols = 0;
    copy = run_schema_copy(fx.job.pool, &s_fewer);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(copy->ncols, 0);
}
END_TEST

START_TEST(trim_and_fail)
{
    char a[] = "  padded\t\n", b[] = "   ", c[] = "none";
    struct run_node *n = runfix_node(&fx, "n", NULL);

    ck_assert_str_eq(run_trim(a), "padded");
    ck_assert_str_eq(run_trim(b), "");
    ck_assert_str_eq(run_trim(c), "none");
    /* The first failure is the one that explains. */
    ck_assert_int_eq(run_node_fail(n, "QUALITY_CHECK_FAILED", "first %d", 1),
                     SL_ERR);
    ck_assert_int_eq(run_node_fail(n, "OTHER", "second"), SL_ERR);
    ck_assert_int_eq(n->status, RUN_NODE_FAILED);
    ck_assert_str_eq(n->error, "first 1");
    ck_assert_str_eq(n->error_code, "QUALITY_CHECK_FAILED");
    run_node_log(n, "INFO", NULL, "a line of %s", "n");
    ck_assert(runfix_logged(&fx, "a line of n"));
}
END_TEST

/* A run is given its pipeline's timeout, within the operator's ceiling. */
START_TEST(a_runs_timeout)
{
    static const struct {
        const char *def;
        int want;
    } cases[] = {
        {"{}", 3600},
        {"{\"configuration\": {}}", 3600},
        {"{\"configuration\": {\"timeout\": 30}}", 30},
        {"{\"configuration\": {\"timeout\": 7200}}", 7200},
        /* Beyond the ceiling: the ceiling. */
        {"{\"configuration\": {\"timeout\": 604800}}", 86400},
        /* Not a whole positive number of seconds: the default. */
        {"{\"configuration\": {\"timeout\": 0}}", 3600},
        {"{\"configuration\": {\"timeout\": -5}}", 3600},
        {"{\"configuration\": {\"timeout\": \"30\"}}", 3600},
        {"{\"configuration\": {\"timeout\": 1.5}}", 3600},
    };
    struct sl_conf conf = {.run_timeout_seconds = 3600,
                           .run_timeout_max_seconds = 86400};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *d = json_loads(cases[i].def, 0, NULL);

        ck_assert_msg(run_timeout_for(d, &conf) == cases[i].want, "%s: %d",
                      cases[i].def, run_timeout_for(d, &conf));
        json_decref(d);
    }
}
END_TEST

/* --- run_emit between test nodes ----------------------------------------- */

static struct run_batch *
two_rows(void)
{
    struct run_batch *b = run_batch_new(&schema3, 2);

    add3(b, "1", "Ann", NULL);
    add3(b, "2", "Bob", "x");
    return b;
}

START_TEST(emit_gives_each_successor_its_own_batch)
{
    struct runfix_sink sa, sb;
    struct run_node *next[2] = {runfix_sink_node(&fx, "a", &sa),
                                runfix_sink_node(&fx, "b", &sb)};
    struct run_node *src = runfix_feeding(&fx, next, 2);
    struct run_batch *b = two_rows();

    ck_assert_int_eq(run_emit(src, b), 0);
    ck_assert_int_eq(sa.nbatches, 1);
    ck_assert_int_eq(sb.nbatches, 1);
    /* The first successor gets the batch itself, the others copies. */
    ck_assert_ptr_eq(sa.batches[0], b);
    ck_assert_ptr_ne(sb.batches[0], b);
    ck_assert_str_eq(run_cell(sb.batches[0], 1, 1), "Bob");
    ck_assert_ptr_null(run_cell(sb.batches[0], 0, 2));
    ck_assert_uint_eq(src->rows_out, 2);
    /* An extractor's bytes read: its values' text, NULLs none. */
    ck_assert_uint_eq(src->bytes_read, strlen("1Ann2Bobx"));
    ck_assert_uint_eq(next[0]->rows_in, 2);
    ck_assert_uint_eq(next[1]->rows_in, 2);
    ck_assert_int_eq(next[1]->status, RUN_NODE_RUNNING);
    ck_assert(src->nested_wall_ms >= 0);

    /* An empty batch goes nowhere. */
    ck_assert_int_eq(run_emit(src, run_batch_new(&schema3, 4)), 0);
    ck_assert_int_eq(sa.nbatches, 1);
    ck_assert_int_eq(sb.nbatches, 1);
    /* Nor does anything from a node without successors. */
    ck_assert_int_eq(run_emit(next[0], two_rows()), 0);
    ck_assert_uint_eq(next[0]->rows_out, 2);
    ck_assert_uint_eq(next[0]->bytes_read, 0); /* a loader reads nothing */
    runfix_sink_free(&sa);
    runfix_sink_free(&sb);
}
END_TEST

START_TEST(emit_stops_on_cancel)
{
    struct runfix_sink sa;
    struct run_node *next[1] = {runfix_sink_node(&fx, "a", &sa)};
    struct run_node *src = runfix_feeding(&fx, next, 1);

    atomic_store(&fx.job.cancel, true);
    ck_assert(run_cancelled(&fx.job));
    ck_assert_int_eq(run_emit(src, two_rows()), RUN_ECANCELLED);
    ck_assert_int_eq(sa.nbatches, 0);
    ck_assert_uint_eq(next[0]->rows_in, 0);
}
END_TEST

START_TEST(emit_passes_a_failure_up)
{
    struct runfix_sink sa, sb;
    struct run_node *next[2] = {runfix_sink_node(&fx, "a", &sa),
                                runfix_sink_node(&fx, "b", &sb)};
    struct run_node *src = runfix_feeding(&fx, next, 2);

    /* The second successor (served first, with a copy) refuses: the
     * first never sees the batch, which is freed all the same. */
    sb.fail = SL_ERR;
    ck_assert_int_eq(run_emit(src, two_rows()), SL_ERR);
    ck_assert_int_eq(sa.nbatches, 0);
    ck_assert_int_eq(next[1]->status, RUN_NODE_FAILED);
    ck_assert_str_eq(next[1]->error, "refused");
    /* A failed node takes nothing more. */
    sb.fail = 0;
    ck_assert_int_eq(run_emit(src, two_rows()), SL_ERR);
    ck_assert_int_eq(sb.nbatches, 0);

    /* A code without a message is the node's failure, named. */
    next[1] = runfix_sink_node(&fx, "c", &sb);
    sb.fail = SL_ENOMEM;
    ck_assert_int_eq(run_emit(src, two_rows()), SL_ENOMEM);
    ck_assert_int_eq(next[1]->status, RUN_NODE_FAILED);
    ck_assert_str_eq(next[1]->error, sl_strerror(SL_ENOMEM));
    ck_assert_ptr_null(next[1]->error_code);
    ck_assert_int_eq(sa.nbatches, 0);
}
END_TEST

/* --- whole runs of the pure modules -------------------------------------- */

static const char orders_csv[] = "id,customer,amount,status\n"
                                 "1,Ann,25.50,paid\n"
                                 "2,Bob,5,paid\n"
                                 "3,\"Cat, Jr.\",120,void\n"
                                 "4,,99.99,paid\n"
                                 "5,Eve,,paid\n";

/* Runs text, a pipeline version's definition, as a new job of fx, and
 * settles it as the worker does once the run's end is recorded (its
 * loads committed when it completed); returns what run_engine_execute()
 * returned. */
static int
run(const char *text)
{
    json_error_t e;
    json_t *d = json_loads(text, 0, &e);
    int rc;

    ck_assert_msg(d != NULL, "%s", e.text);
    json_decref(definition);
    definition = d;
    /* What a previous run of the test filled in. */
    json_decref(fx.job.result);
    fx.job.result = NULL;
    fx.job.nodes = NULL;
    fx.job.nnodes = 0;
    fx.job.records = fx.job.records_failed = 0;
    fx.job.error_code = NULL;
    rc = run_engine_execute(&fx.job, d);
    run_engine_settle(&fx.job, rc == 0 && fx.job.end == RUN_END_COMPLETED);
    return rc;
}

/* The node with id in the finished job. */
static struct run_node *
node(const char *id)
{
    for (int i = 0; i < fx.job.nnodes; i++)
        if (strcmp(fx.job.nodes[i].id, id) == 0)
            return &fx.job.nodes[i];
    ck_abort_msg("no node %s", id);
    return NULL;
}

#define PIPE_FILTER_SELECT                                                     \
    "{\"nodes\": ["                                                            \
    "{\"id\": \"read\", \"type\": \"extractor\", \"module\": \"csv\", "        \
    "\"config\": {\"path\": \"in/orders.csv\"}},"                              \
    "{\"id\": \"keep\", \"type\": \"transformer\", \"module\": \"filter\", "   \
    "\"config\": {\"expression\": \"amount > 10 and status = 'paid'\"}},"      \
    "{\"id\": \"cols\", \"type\": \"transformer\", \"module\": \"select\", "   \
    "\"config\": {\"columns\": [\"customer\", \"amount\"]}},"                  \
    "{\"id\": \"write\", \"type\": \"loader\", \"module\": \"csv\", "          \
    "\"config\": {\"path\": \"out/big.csv\"}}],"                               \
    "\"edges\": [{\"source\": \"read\", \"target\": \"keep\"},"                \
    "{\"source\": \"keep\", \"target\": \"cols\"},"                            \
    "{\"source\": \"cols\", \"target\": \"write\"}]}"

START_TEST(a_run_moves_rows_through_its_graph)
{
    runfix_write(&fx, "in/orders.csv", orders_csv);
    ck_assert_int_eq(run(PIPE_FILTER_SELECT), 0);
    ck_assert_msg(fx.job.end == RUN_END_COMPLETED, "%s", fx.job.error);
    ck_assert_str_eq(fx.job.error, "");
    runfix_assert_file(&fx, "out/big.csv",
                       "customer,amount\nAnn,25.50\n,99.99\n");
    /* Figures: five rows read, two filtered by value and one more by the
     * unknown (NULL) amount, two loaded. */
    ck_assert_int_eq(fx.job.nnodes, 4);
    ck_assert_uint_eq(node("read")->rows_out, 5);
    ck_assert_uint_eq(node("keep")->rows_in, 5);
    ck_assert_uint_eq(node("keep")->rows_out, 2);
    ck_assert_uint_eq(node("keep")->rows_filtered, 3);
    ck_assert_uint_eq(node("write")->rows_in, 2);
    ck_assert_uint_eq(fx.job.records, 2);
    ck_assert_int_eq(
        json_integer_value(json_object_get(fx.job.result, "records_processed")),
        2);
    for (int i = 0; i < fx.job.nnodes; i++) {
        ck_assert_int_eq(fx.job.nodes[i].status, RUN_NODE_DONE);
        ck_assert_int_eq(fx.job.nodes[i].position, i);
        ck_assert_ptr_null(fx.job.nodes[i].pool); /* released */
    }
    ck_assert(runfix_logged(&fx, "Kept 2 of 5 rows"));
}
END_TEST

START_TEST(small_batches_give_the_same_rows)
{
    runfix_write(&fx, "in/orders.csv", orders_csv);
    fx.job.batch_size = 2;
    ck_assert_int_eq(run(PIPE_FILTER_SELECT), 0);
    ck_assert_msg(fx.job.end == RUN_END_COMPLETED, "%s", fx.job.error);
    runfix_assert_file(&fx, "out/big.csv",
                       "customer,amount\nAnn,25.50\n,99.99\n");
}
END_TEST

START_TEST(one_source_feeds_two_loaders)
{
    runfix_write(&fx, "in/orders.csv", "id,customer\n1,Ann\n2,\n");
    ck_assert_int_eq(
        run("{\"nodes\": ["
            "{\"id\": \"read\", \"type\": \"extractor\", \"module\": \"csv\", "
            "\"config\": {\"path\": \"in/orders.csv\"}},"
            "{\"id\": \"csv\", \"type\": \"loader\", \"module\": \"csv\", "
            "\"config\": {\"path\": \"out/a.csv\", \"header\": false}},"
            "{\"id\": \"json\", \"type\": \"loader\", \"module\": \"jsonl\", "
            "\"config\": {\"path\": \"out/b.jsonl\"}}],"
            "\"edges\": [{\"source\": \"read\", \"target\": \"csv\"},"
            "{\"source\": \"read\", \"target\": \"json\"}]}"),
        0);
    ck_assert_msg(fx.job.end == RUN_END_COMPLETED, "%s", fx.job.error);
    runfix_assert_file(&fx, "out/a.csv", "1,Ann\n2,\n");
    runfix_assert_file(&fx, "out/b.jsonl",
                       "{\"id\":\"1\",\"customer\":\"Ann\"}\n"
                       "{\"id\":\"2\",\"customer\":null}\n");
    ck_assert_uint_eq(fx.job.records, 4); /* what every loader took */
}
END_TEST

START_TEST(a_failed_gate_commits_nothing)
{
    runfix_write(&fx, "in/orders.csv", orders_csv);
    runfix_write(&fx, "out/kept.csv", "before\n");
    ck_assert_int_eq(
        run("{\"nodes\": ["
            "{\"id\": \"read\", \"type\": \"extractor\", \"module\": \"csv\", "
            "\"config\": {\"path\": \"in/orders.csv\"}},"
            "{\"id\": \"gate\", \"type\": \"quality\", "
            "\"module\": \"quality_gate\", \"config\": {\"rules\": "
            "[{\"type\": \"not_null\", \"column\": \"customer\"}]}},"
            "{\"id\": \"write\", \"type\": \"loader\", \"module\": \"csv\", "
            "\"config\": {\"path\": \"out/kept.csv\"}}],"
            "\"edges\": [{\"source\": \"read\", \"target\": \"gate\"},"
            "{\"source\": \"gate\", \"target\": \"write\"}]}"),
        0);
    ck_assert_int_eq(fx.job.end, RUN_END_FAILED);
    ck_assert_str_eq(fx.job.error_code, "QUALITY_CHECK_FAILED");
    ck_assert_msg(strstr(fx.job.error, "node gate (quality_gate)") != NULL,
                  "%s", fx.job.error);
    ck_assert_int_eq(node("gate")->status, RUN_NODE_FAILED);
    /* The loader had all the rows, and wrote none of them. */
    ck_assert_uint_eq(node("write")->rows_in, 5);
    runfix_assert_file(&fx, "out/kept.csv", "before\n");
    ck_assert_int_eq(runfix_entries(&fx, "out"), 1);
}
END_TEST

START_TEST(a_failing_node_names_itself)
{
    runfix_write(&fx, "in/orders.csv", orders_csv);
    ck_assert_int_eq(
        run("{\"nodes\": ["
            "{\"id\": \"read\", \"type\": \"extractor\", \"module\": \"csv\", "
            "\"config\": {\"path\": \"in/orders.csv\"}},"
            "{\"id\": \"keep\", \"type\": \"transformer\", "
            "\"module\": \"filter\", \"config\": {\"expression\": "
            "\"amout > 1\"}},"
            "{\"id\": \"write\", \"type\": \"loader\", \"module\": \"csv\", "
            "\"config\": {\"path\": \"out/x.csv\"}}],"
            "\"edges\": [{\"source\": \"read\", \"target\": \"keep\"},"
            "{\"source\": \"keep\", \"target\": \"write\"}]}"),
        0);
    ck_assert_int_eq(fx.job.end, RUN_END_FAILED);
    ck_assert_msg(
        strstr(fx.job.error, "VALIDATION_ERROR: node keep (filter)") ==
                fx.job.error &&
            strstr(fx.job.error, "amout") != NULL,
        "%s", fx.job.error);
    runfix_assert_file(&fx, "out/x.csv", NULL);

    /* A file that is not there. */
    ck_assert_int_eq(
        run("{\"nodes\": [{\"id\": \"read\", \"type\": \"extractor\", "
            "\"module\": \"jsonl\", \"config\": {\"path\": \"in/no.jsonl\"}}],"
            "\"edges\": []}"),
        0);
    ck_assert_int_eq(fx.job.end, RUN_END_FAILED);
    ck_assert_str_eq(fx.job.error_code, "FILE_NOT_FOUND");
}
END_TEST

START_TEST(a_cancelled_run_writes_nothing)
{
    runfix_write(&fx, "in/orders.csv", orders_csv);
    atomic_store(&fx.job.cancel, true);
    ck_assert_int_eq(run(PIPE_FILTER_SELECT), 0);
    ck_assert_int_eq(fx.job.end, RUN_END_CANCELLED);
    ck_assert_str_eq(fx.job.error, "Cancelled");
    runfix_assert_file(&fx, "out/big.csv", NULL);
    ck_assert_int_eq(runfix_entries(&fx, "out"), 0);
}
END_TEST

START_TEST(what_cannot_be_built_does_not_run)
{
    static const struct {
        const char *definition, *error;
    } cases[] = {
        {"{}", "the pipeline has no nodes"},
        {"{\"nodes\": []}", "the pipeline has no nodes"},
        {"{\"nodes\": [{\"type\": \"extractor\", \"module\": \"csv\"}]}",
         "a node has no id"},
        {"{\"nodes\": [{\"id\": \"a\", \"type\": \"extractor\", "
         "\"module\": \"s3\"}]}",
         "no module s3 for this node"},
        /* The name of a module, but not of that type. */
        {"{\"nodes\": [{\"id\": \"a\", \"type\": \"loader\", "
         "\"module\": \"filter\"}]}",
         "no module filter for this node"},
        {"{\"nodes\": [{\"id\": \"a\", \"type\": \"extractor\", "
         "\"module\": \"csv\"}], \"edges\": [{\"source\": \"a\", "
         "\"target\": \"b\"}]}",
         "an edge names an unknown node"},
        {"{\"nodes\": [{\"id\": \"a\", \"type\": \"loader\", "
         "\"module\": \"csv\"}, {\"id\": \"b\", \"type\": \"extractor\", "
         "\"module\": \"csv\"}], \"edges\": [{\"source\": \"b\", "
         "\"target\": \"a\"}]}",
         "the edge into a goes backwards"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(run(cases[i].definition), 0);
        ck_assert_int_eq(fx.job.end, RUN_END_FAILED);
        ck_assert_str_eq(fx.job.error, cases[i].error);
    }
    ck_assert_int_eq(runfix_entries(&fx, ""), 0);
}
END_TEST

static Suite *
engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *parts = tcase_create("parts"), *runs = tcase_create("runs");

    tcase_add_checked_fixture(parts, setup, teardown);
    tcase_add_test(parts, batches_grow_and_copy_deeply);
    tcase_add_test(parts, schemas_find_compare_and_copy);
    tcase_add_test(parts, trim_and_fail);
    tcase_add_test(parts, a_runs_timeout);
    tcase_add_test(parts, emit_gives_each_successor_its_own_batch);
    tcase_add_test(parts, emit_stops_on_cancel);
    tcase_add_test(parts, emit_passes_a_failure_up);
    suite_add_tcase(s, parts);
    tcase_add_checked_fixture(runs, setup, teardown);
    tcase_add_test(runs, a_run_moves_rows_through_its_graph);
    tcase_add_test(runs, small_batches_give_the_same_rows);
    tcase_add_test(runs, one_source_feeds_two_loaders);
    tcase_add_test(runs, a_failed_gate_commits_nothing);
    tcase_add_test(runs, a_failing_node_names_itself);
    tcase_add_test(runs, a_cancelled_run_writes_nothing);
    tcase_add_test(runs, what_cannot_be_built_does_not_run);
    suite_add_tcase(s, runs);
    return s;
}

SL_TEST_MAIN(engine_suite)
