/*
 * test_pii_mask.c: the runner's pii_mask module on the PII engine: named
 * columns masked as before, columns detected by the engine (and the log
 * naming their entity type), hashing under the organisation's key (the
 * API's hash token), and scope "entities" replacing only what is found
 * inside free text.
 */
#include <string.h>

#include "engine.h"
#include "pii.h"
#include "runfix.h"
#include "unit.h"

extern const struct run_module_ops run_mod_pii_mask;

static struct runfix fx;

static void
setup(void)
{
    runfix_init(&fx);
    fx.conf.secret_key = "0123456789abcdef0123456789abcdef";
}

static void
teardown(void)
{
    runfix_free(&fx);
}

static struct run_col cols[] = {
    {"id", "bigint"}, {"contact", "text"}, {"note", "text"}};
static const struct run_schema schema = {3, cols};

static void
add(struct run_batch *b, const char *id, const char *contact, const char *note)
{
    char **row = run_batch_add_row(b);

    ck_assert_ptr_nonnull(row);
    row[0] = sl_pstrdup(b->pool, id);
    row[1] = contact ? sl_pstrdup(b->pool, contact) : NULL;
    row[2] = note ? sl_pstrdup(b->pool, note) : NULL;
}

/* The rows mask() runs over: id, contact, note. */
static const char *const default_rows[][3] = {
    {"1", "ann@example.com", "call me at 415-555-0132 please"},
    {"2", "bob@example.org", "nothing personal"},
    {"3", NULL, "card 4111 1111 1111 1111"},
};

/* Runs pii_mask with config (JSON text) over the nrows rows; the sink
 * gets them. */
static struct run_node *
mask_rows(const char *config, struct runfix_sink *sink,
          const char *const (*rows)[3], size_t nrows)
{
    struct run_node *next[1] = {runfix_sink_node(&fx, "sink", sink)};
    struct run_node *n = runfix_node(&fx, "mask", json_loads(config, 0, NULL));
    struct run_batch *b = run_batch_new(&schema, 4);
    static struct run_node *nexts[1];

    nexts[0] = next[0];
    n->ops = &run_mod_pii_mask;
    n->next = nexts;
    n->nnext = 1;
    next[0]->nprev++;
    for (size_t r = 0; r < nrows; r++)
        add(b, rows[r][0], rows[r][1], rows[r][2]);
    ck_assert_int_eq(run_mod_pii_mask.open(n), 0);
    ck_assert_int_eq(run_mod_pii_mask.push(n, b), 0);
    ck_assert_int_eq(run_mod_pii_mask.finish(n), 0);
    ck_assert_int_eq(sink->nbatches, 1);
    return n;
}

/* Runs pii_mask with config over the default rows. */
static struct run_node *
mask(const char *config, struct runfix_sink *sink)
{
    return mask_rows(config, sink, default_rows, 3);
}

static const char *
cell(struct runfix_sink *s, size_t r, int c)
{
    return run_cell(s->batches[0], r, c);
}

START_TEST(named_columns_as_before)
{
    struct runfix_sink s;

    mask("{\"columns\": [\"contact\"], \"method\": \"mask\"}", &s);
    ck_assert_str_eq(cell(&s, 0, 1), "***@*******.***");
    ck_assert_str_eq(cell(&s, 0, 2), "call me at 415-555-0132 please");
    runfix_sink_free(&s);
    mask("{\"columns\": [\"contact\"], \"method\": \"partial\"}", &s);
    ck_assert_str_eq(cell(&s, 0, 1), "a***@example.com");
    runfix_sink_free(&s);
    mask("{\"columns\": [\"contact\"], \"method\": \"redact\"}", &s);
    ck_assert_str_eq(cell(&s, 1, 1), "[REDACTED]");
    ck_assert_ptr_null(cell(&s, 2, 1));
    runfix_sink_free(&s);
}
END_TEST

START_TEST(detection_is_the_engines)
{
    struct runfix_sink s;
    struct run_node *n = mask("{\"detect\": true}", &s);
    char *log = json_dumps(fx.logged, 0);

    /* contact: two e-mail addresses of two values; note: free text. */
    ck_assert_str_eq(cell(&s, 1, 1), "***@*******.***");
    ck_assert_str_eq(cell(&s, 1, 2), "nothing personal");
    ck_assert_ptr_nonnull(strstr(log, "EMAIL_ADDRESS"));
    ck_assert_ptr_nonnull(strstr(log, "contact"));
    ck_assert_int_eq(json_array_size(json_object_get(
                         json_object_get(n->result, "pii"), "columns")),
                     1);
    free(log);
    runfix_sink_free(&s);
}
END_TEST

START_TEST(hash_is_the_organisations)
{
    struct runfix_sink s;
    unsigned char key[SL_PII_KEY_LEN];
    char want[65];

    mask("{\"columns\": [\"contact\"], \"method\": \"hash\"}", &s);
    ck_assert_int_eq(
        sl_pii_org_key(fx.conf.secret_key, "hash", RUNFIX_TENANT, key), 0);
    ck_assert_int_eq(sl_pii_hash_token(key, "ann@example.com", 15, want), 0);
    ck_assert_str_eq(cell(&s, 0, 1), want);
    runfix_sink_free(&s);
}
END_TEST

START_TEST(scope_entities_masks_inside_text)
{
    struct runfix_sink s;
    struct run_node *n;

    n = mask("{\"columns\": [\"note\"], \"scope\": \"entities\"}", &s);
    ck_assert_str_eq(cell(&s, 0, 2), "call me at ***-***-**** please");
    ck_assert_str_eq(cell(&s, 1, 2), "nothing personal");
    ck_assert_str_eq(cell(&s, 2, 2), "card **** **** **** ****");
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(n->result, "pii"), "entities_masked")),
                     2);
    runfix_sink_free(&s);
    mask("{\"columns\": [\"note\"], \"scope\": \"entities\", "
         "\"method\": \"redact\", \"entities\": [\"CREDIT_CARD\"]}",
         &s);
    ck_assert_str_eq(cell(&s, 0, 2), "call me at 415-555-0132 please");
    ck_assert_str_eq(cell(&s, 2, 2), "card [REDACTED]");
    runfix_sink_free(&s);
}
END_TEST

/*
 * mask and partial mask every character but spaces and punctuation, in any
 * script: they masked ASCII letters and digits only, so that "Анна
 * Петрова" passed unmasked and "Zoë Müller" kept its "ë" and "ü"; partial
 * kept an e-mail's first byte, half of a character.
 */
START_TEST(non_ascii_values_are_masked)
{
    static const char *const rows[][3] = {
        {"1", "Zo\xc3\xab M\xc3\xbcller", "x"},
        {"2",
         "\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0 "
         "\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb0",
         "x"},
        {"3", "\xc3\xa9va@example.com", "x"},
    };
    struct runfix_sink s;

    mask_rows("{\"columns\": [\"contact\"], \"method\": \"mask\"}", &s, rows,
              3);
    ck_assert_str_eq(cell(&s, 0, 1), "*** ******");
    ck_assert_str_eq(cell(&s, 1, 1), "**** *******");
    ck_assert_str_eq(cell(&s, 2, 1), "***@*******.***");
    runfix_sink_free(&s);
    mask_rows("{\"columns\": [\"contact\"], \"method\": \"partial\"}", &s, rows,
              3);
    ck_assert_str_eq(cell(&s, 0, 1), "*** **ller");
    ck_assert_str_eq(cell(&s, 1, 1),
                     "**** ***\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb0");
    ck_assert_str_eq(cell(&s, 2, 1), "\xc3\xa9***@example.com");
    runfix_sink_free(&s);
}
END_TEST

static Suite *
pii_mask_suite(void)
{
    Suite *s = suite_create("pii_mask");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, named_columns_as_before);
    tcase_add_test(tc, detection_is_the_engines);
    tcase_add_test(tc, hash_is_the_organisations);
    tcase_add_test(tc, scope_entities_masks_inside_text);
    tcase_add_test(tc, non_ascii_values_are_masked);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pii_mask_suite)
