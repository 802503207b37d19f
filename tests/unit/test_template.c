/*
 * test_template.c: alert templates: placeholders filled from an event,
 * what the check refuses, and hostile templates and values.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "template.h"
#include "unit.h"
#include "utf8.h"

static json_t *
event(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I, s:n, s:b, s:{s:i}, s:s}}",
        "event_id", "evt_1", "event_type", "pipeline.failed", "timestamp",
        "2026-01-16T15:30:00Z", "organization_id", "finance", "data",
        "pipeline_name", "daily-sales", "error_message", "disk full",
        "records_processed", (json_int_t)15420, "nothing", "ok", 1,
        "result_data", "rows", 7, "evil", "{{pipeline_name}}");
}

static char *
render(const char *tmpl, json_t *ev)
{
    char *out = NULL;

    ck_assert_int_eq(sl_template_render(tmpl, ev, &out), 0);
    ck_assert_ptr_nonnull(out);
    return out;
}

START_TEST(seed_template)
{
    json_t *ev = event();
    char *out = render("Pipeline {{pipeline_name}} failed at {{timestamp}}. "
                       "Error: {{error_message}}",
                       ev);

    ck_assert_str_eq(out, "Pipeline daily-sales failed at "
                          "2026-01-16T15:30:00Z. Error: disk full");
    free(out);
    json_decref(ev);
}
END_TEST

START_TEST(values_of_every_kind)
{
    json_t *ev = event();
    char *out = render("{{ records_processed }}|{{ok}}|{{nothing}}|{{missing}}|"
                       "{{result_data.rows}}|{{result_data}}|{{data.ok}}|"
                       "{{event_type}}",
                       ev);

    ck_assert_str_eq(out, "15420|true|||7|{\"rows\":7}|true|pipeline.failed");
    free(out);
    json_decref(ev);
}
END_TEST

START_TEST(values_are_not_expanded_again)
{
    json_t *ev = event();
    char *out = render("[{{evil}}]", ev);

    ck_assert_str_eq(out, "[{{pipeline_name}}]");
    free(out);
    json_decref(ev);
}
END_TEST

START_TEST(no_event_gives_empty_fields)
{
    char *out = render("a{{x}}b", NULL);

    ck_assert_str_eq(out, "ab");
    free(out);
    out = render("", NULL);
    ck_assert_str_eq(out, "");
    free(out);
    out = render(NULL, NULL);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(check_refuses_unbalanced)
{
    static const char *const bad[] = {
        "Pipeline {{pipeline_name failed",
        "Pipeline {{pipeline_name} failed",
        "Pipeline {pipeline_name}} failed",
        "{{}}",
        "{{ }}",
        "{{a b}}",
        "{{{a}}}",
        "{{.a}}",
        "{{a.}}",
        "{{a..b}}",
        "{{a}",
        "}}",
        "{{",
    };
    char why[200];
    char *out = (char *)1;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(sl_template_check(bad[i], why, sizeof(why)) == SL_EINVAL,
                      "%s", bad[i]);
        ck_assert_msg(why[0] != '\0', "no reason for %s", bad[i]);
        ck_assert_int_eq(sl_template_render(bad[i], NULL, &out), SL_EINVAL);
        ck_assert_ptr_null(out);
    }
    ck_assert_int_eq(sl_template_check("x {{a", why, sizeof(why)), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "byte 2"));
    ck_assert_ptr_nonnull(strstr(why, "not closed"));
}
END_TEST

START_TEST(check_accepts)
{
    static const char *const good[] = {
        "",
        "plain text { } with braces",
        "{{a}}",
        "{{ a }}",
        "{{a.b-c_d}}",
        "x{{a}}y{{b}}z",
        "{ {a} }",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(sl_template_check(good[i], NULL, 0) == 0, "%s", good[i]);
}
END_TEST

START_TEST(bounds)
{
    char *big = malloc(SL_TEMPLATE_MAX_IN + 2), *out = NULL, why[100];
    json_t *ev;
    char *val;

    memset(big, 'a', SL_TEMPLATE_MAX_IN + 1);
    big[SL_TEMPLATE_MAX_IN + 1] = '\0';
    ck_assert_int_eq(sl_template_check(big, why, sizeof(why)), SL_ETOOBIG);
    ck_assert_int_eq(sl_template_render(big, NULL, &out), SL_ETOOBIG);
    free(big);

    /* A long name is refused. */
    big = malloc(SL_TEMPLATE_NAME_MAX + 10);
    strcpy(big, "{{");
    memset(big + 2, 'n', SL_TEMPLATE_NAME_MAX + 1);
    strcpy(big + 2 + SL_TEMPLATE_NAME_MAX + 1, "}}");
    ck_assert_int_eq(sl_template_check(big, NULL, 0), SL_EINVAL);
    free(big);

    /* Values that would pass the output bound are cut at a character
     * boundary: 3-byte characters never split. */
    val = malloc(10001 * 3 + 1);
    for (int i = 0; i < 10001; i++)
        memcpy(val + 3 * i, "\xe2\x82\xac", 3);
    val[10001 * 3] = '\0';
    ev = json_pack("{s:{s:s}}", "data", "v", val);
    out = render("x{{v}}{{v}}{{v}}", ev);
    ck_assert_uint_le(strlen(out), SL_TEMPLATE_MAX_OUT);
    ck_assert_uint_ge(strlen(out), SL_TEMPLATE_MAX_OUT - 3);
    ck_assert(sl_utf8_valid(out, strlen(out)));
    free(out);
    json_decref(ev);
    free(val);
}
END_TEST

/*
 * Whatever character straddles the output bound, and wherever, the output
 * stays valid UTF-8: "a" then 9000 two-byte characters reaches the bound
 * one byte into a character (the cut once kept a bare 0xc3); so do the
 * three- and four-byte ones at every offset.
 */
START_TEST(cut_at_the_bound_is_valid_utf8)
{
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};

    for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++)
        for (size_t lead = 0; lead < 4; lead++) {
            size_t w = strlen(chars[c]), n = 9000;
            char *val = malloc(lead + n * w + 1), *out;
            json_t *ev;

            memset(val, 'a', lead);
            for (size_t i = 0; i < n; i++)
                memcpy(val + lead + i * w, chars[c], w);
            val[lead + n * w] = '\0';
            ev = json_pack("{s:{s:s}}", "data", "v", val);
            out = render("{{v}}{{v}}", ev);
            ck_assert_uint_le(strlen(out), SL_TEMPLATE_MAX_OUT);
            ck_assert_uint_gt(strlen(out), SL_TEMPLATE_MAX_OUT - w);
            ck_assert_msg(sl_utf8_valid(out, strlen(out)),
                          "%zu-byte characters after %zu ASCII: cut inside "
                          "a character",
                          w, lead);
            free(out);
            json_decref(ev);
            free(val);
        }
}
END_TEST

START_TEST(not_utf8)
{
    char why[100];

    ck_assert_int_eq(sl_template_check("a\xff{{b}}", why, sizeof(why)),
                     SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "UTF-8"));
}
END_TEST

static Suite *
template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, seed_template);
    tcase_add_test(tc, values_of_every_kind);
    tcase_add_test(tc, values_are_not_expanded_again);
    tcase_add_test(tc, no_event_gives_empty_fields);
    tcase_add_test(tc, check_refuses_unbalanced);
    tcase_add_test(tc, check_accepts);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, cut_at_the_bound_is_valid_utf8);
    tcase_add_test(tc, not_utf8);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(template_suite)
