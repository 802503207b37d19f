/*
 * test_routes.c: the route table against the API reference
 * (docs/openapi.json), the router's matching, query and form parsing, and
 * the tenant check of paths with {tenant_id}.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authenticate.h"
#include "err.h"
#include "form.h"
#include "request.h"
#include "router.h"
#include "unit.h"

static json_t *
load_reference(void)
{
    char path[4096];
    const char *src = getenv("abs_srcdir");
    json_error_t je;
    json_t *doc;

    snprintf(path, sizeof(path), "%s/docs/openapi.json", src ? src : ".");
    doc = json_load_file(path, 0, &je);
    ck_assert_msg(doc != NULL, "%s: %s", path, je.text);
    return doc;
}

static void
lower(char *dst, const char *src, size_t n)
{
    size_t i = 0;

    for (; src[i] != '\0' && i < n - 1; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
    dst[i] = '\0';
}

START_TEST(every_route_is_documented)
{
    json_t *doc = load_reference(), *paths = json_object_get(doc, "paths");
    char method[16];

    for (size_t i = 0; i < api_nroutes; i++) {
        json_t *item = json_object_get(paths, api_routes[i].pattern);

        lower(method, api_routes[i].method, sizeof(method));
        ck_assert_msg(item != NULL, "%s %s is not in docs/openapi.json",
                      api_routes[i].method, api_routes[i].pattern);
        ck_assert_msg(json_object_get(item, method) != NULL,
                      "%s %s is not in docs/openapi.json", api_routes[i].method,
                      api_routes[i].pattern);
    }
    json_decref(doc);
}
END_TEST

START_TEST(every_documented_operation_is_routed)
{
    json_t *doc = load_reference(), *paths = json_object_get(doc, "paths");
    json_t *item;
    const char *path;

    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;

        json_object_foreach(item, method, op)
        {
            bool found = false;

            if (strcmp(method, "parameters") == 0)
                continue;
            for (size_t i = 0; i < api_nroutes && !found; i++)
                found = strcmp(api_routes[i].pattern, path) == 0 &&
                        strcasecmp(api_routes[i].method, method) == 0;
            ck_assert_msg(found,
                          "docs/openapi.json documents %s %s, which "
                          "routes.c does not serve",
                          method, path);
        }
    }
    json_decref(doc);
}
END_TEST

START_TEST(no_route_is_listed_twice)
{
    for (size_t i = 0; i < api_nroutes; i++)
        for (size_t j = i + 1; j < api_nroutes; j++)
            ck_assert_msg(
                strcmp(api_routes[i].method, api_routes[j].method) ||
                    strcmp(api_routes[i].pattern, api_routes[j].pattern),
                "%s %s twice", api_routes[i].method, api_routes[i].pattern);
}
END_TEST

static int
h_dummy(struct api_req *r)
{
    (void)r;
    return 0;
}

static const struct api_route table[] = {
    {"GET", "/api/v1/things", h_dummy, API_AUTH_NONE, SL_ROLE_NONE, 0},
    {"POST", "/api/v1/things", h_dummy, API_AUTH_NONE, SL_ROLE_NONE, 0},
    {"GET", "/api/v1/things/me", h_dummy, API_AUTH_NONE, SL_ROLE_NONE, 0},
    {"GET", "/api/v1/things/{id}", h_dummy, API_AUTH_NONE, SL_ROLE_NONE, 0},
    {"DELETE", "/api/v1/things/{id}", h_dummy, API_AUTH_NONE, SL_ROLE_NONE, 0},
    {"POST", "/api/v1/run/{tenant_id}/{provider}/{domain}/{pipeline_id}",
     h_dummy, API_AUTH_NONE, SL_ROLE_NONE, 0},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static const struct api_route *
find(sl_pool *p, const char *method, const char *path, struct api_param *ps,
     int *n, char *allow)
{
    return api_route_find(table, NTABLE, method, path, p, ps, n, allow, 128);
}

/* Every statement of stmt.h has its entry, with a unique name. */
START_TEST(every_statement_is_defined)
{
    for (int i = 0; i < ST_COUNT_; i++) {
        ck_assert_msg(api_stmts[i].name != NULL && api_stmts[i].sql != NULL,
                      "statement %d has no entry in stmt.c", i);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(api_stmts[i].name, api_stmts[j].name) != 0,
                          "statement name %s twice", api_stmts[i].name);
    }
}
END_TEST

START_TEST(router_matches_literals_params_and_methods)
{
    sl_pool *p = sl_pool_create(0, 0);
    struct api_param ps[API_MAX_PARAMS];
    char allow[128];
    int n;

    ck_assert_ptr_eq(find(p, "GET", "/api/v1/things", ps, &n, allow),
                     &table[0]);
    ck_assert_ptr_eq(find(p, "POST", "/api/v1/things/", ps, &n, allow),
                     &table[1]);
    /* A literal segment wins over a parameter listed after it. */
    ck_assert_ptr_eq(find(p, "GET", "/api/v1/things/me", ps, &n, allow),
                     &table[2]);
    ck_assert_ptr_eq(find(p, "GET", "/api/v1/things/a%20b", ps, &n, allow),
                     &table[3]);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(ps[0].name, "id");
    ck_assert_str_eq(ps[0].value, "a b");
    /* HEAD is GET. */
    ck_assert_ptr_eq(find(p, "HEAD", "/api/v1/things/x", ps, &n, allow),
                     &table[3]);
    ck_assert_ptr_eq(
        find(p, "POST", "/api/v1/run/acme/gcp/cost/billing", ps, &n, allow),
        &table[5]);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(ps[0].value, "acme");
    ck_assert_str_eq(ps[3].name, "pipeline_id");
    ck_assert_str_eq(ps[3].value, "billing");
    sl_pool_destroy(p);
}
END_TEST

/*
 * The router takes the first row whose path matches, so a literal route
 * listed after a {param} pattern that swallows it is never reached (POST
 * /pipelines/generate would get /pipelines/{id}'s 405). Every route of
 * the table, its parameters given values no literal segment has, is the
 * route the router finds for its method.
 */
START_TEST(no_route_is_shadowed)
{
    sl_pool *p = sl_pool_create(0, 0);
    struct api_param ps[API_MAX_PARAMS];
    char allow[128], path[512];
    int n;

    for (size_t i = 0; i < api_nroutes; i++) {
        const struct api_route *rt = &api_routes[i], *got;
        const char *s = rt->pattern;
        size_t w = 0;

        while (*s != '\0' && w < sizeof(path) - 32) {
            if (*s == '{') {
                w += (size_t)snprintf(path + w, sizeof(path) - w,
                                      "zz-param-%zu", w);
                s = strchr(s, '}');
                ck_assert_ptr_nonnull(s);
                s++;
            } else {
                path[w++] = *s++;
            }
        }
        path[w] = '\0';
        got = api_route_find(api_routes, api_nroutes, rt->method, path, p, ps,
                             &n, allow, sizeof(allow));
        ck_assert_msg(got == rt,
                      "%s %s is shadowed by %s %s (list it before that row)",
                      rt->method, rt->pattern, got ? got->method : "(405)",
                      got ? got->pattern : allow);
    }
    sl_pool_destroy(p);
}
END_TEST

START_TEST(router_404_and_405)
{
    sl_pool *p = sl_pool_create(0, 0);
    struct api_param ps[API_MAX_PARAMS];
    char allow[128];
    int n;

    ck_assert_ptr_null(find(p, "GET", "/api/v1/nothing", ps, &n, allow));
    ck_assert_str_eq(allow, "");
    ck_assert_ptr_null(find(p, "PUT", "/api/v1/things", ps, &n, allow));
    ck_assert_str_eq(allow, "GET, POST");
    ck_assert_ptr_null(find(p, "PATCH", "/api/v1/things/7", ps, &n, allow));
    ck_assert_str_eq(allow, "GET, DELETE");
    /* Empty segments and undecodable parameters match nothing. */
    ck_assert_ptr_null(find(p, "GET", "/api/v1//things", ps, &n, allow));
    ck_assert_ptr_null(find(p, "GET", "/api/v1/things/%zz", ps, &n, allow));
    ck_assert_ptr_null(find(p, "GET", "/api/v1/things/%00", ps, &n, allow));
    ck_assert_ptr_null(find(p, "GET", "/api/v1/things/a/b", ps, &n, allow));
    ck_assert_ptr_null(find(p, "GET", "/api/v1/thing", ps, &n, allow));
    sl_pool_destroy(p);
}
END_TEST

START_TEST(form_and_query_parsing)
{
    sl_pool *p = sl_pool_create(0, 0);
    struct api_param ps[4];
    const char *q = "a=1&b=two+words&c=%C3%A9&&d";
    char out[32];

    ck_assert_int_eq(api_form_parse(p, q, strlen(q), ps, 4), 4);
    ck_assert_str_eq(ps[0].name, "a");
    ck_assert_str_eq(ps[0].value, "1");
    ck_assert_str_eq(ps[1].value, "two words");
    ck_assert_str_eq(ps[2].value, "\xc3\xa9");
    ck_assert_str_eq(ps[3].name, "d");
    ck_assert_str_eq(ps[3].value, "");
    ck_assert_int_eq(api_form_parse(p, "a=%4", 4, ps, 4), SL_EPARSE);
    ck_assert_int_eq(api_form_parse(p, "a=%00", 5, ps, 4), SL_EPARSE);
    ck_assert_int_eq(api_form_parse(p, "a&b&c&d&e", 9, ps, 4), SL_ETOOBIG);
    ck_assert_int_eq(api_form_parse(p, "", 0, ps, 4), 0);
    ck_assert_int_eq(api_url_decode("a+b%2Fc", 7, out, false), 5);
    ck_assert_str_eq(out, "a+b/c");
    sl_pool_destroy(p);
}
END_TEST

START_TEST(api_key_shape)
{
    char t[64];

    ck_assert_int_eq(
        api_key_tenant("sk_acmecorp_xY9kL2mP4qR8vTbN3wD7eF1gH6jK9mQ2", t,
                       sizeof(t)),
        0);
    ck_assert_str_eq(t, "acmecorp");
    /* Tenant ids may hold underscores; the secret may not. */
    ck_assert_int_eq(
        api_key_tenant("sk_acme_corp_xY9kL2mP4qR8vTbN3wD7eF1gH6jK9mQ2", t,
                       sizeof(t)),
        0);
    ck_assert_str_eq(t, "acme_corp");
    ck_assert_int_ne(api_key_tenant("sk_acme_short", t, sizeof(t)), 0);
    ck_assert_int_ne(api_key_tenant("pk_acme_xY9kL2mP4qR8vTbN3wD7eF1gH6jK9mQ2",
                                    t, sizeof(t)),
                     0);
    ck_assert_int_ne(
        api_key_tenant("sk_AC_xY9kL2mP4qR8vTbN3wD7eF1gH6jK9mQ2", t, sizeof(t)),
        0);
    ck_assert_int_ne(
        api_key_tenant("sk__xY9kL2mP4qR8vTbN3wD7eF1gH6jK9mQ2", t, sizeof(t)),
        0);
    ck_assert_int_ne(api_key_tenant(NULL, t, sizeof(t)), 0);
}
END_TEST

START_TEST(tenant_in_path_must_be_the_callers)
{
    struct api_ctx ctx;
    struct sl_conf conf;
    struct api_req r;

    memset(&ctx, 0, sizeof(ctx));
    memset(&conf, 0, sizeof(conf));
    ctx.conf = &conf;
    memset(&r, 0, sizeof(r));
    r.ctx = &ctx;
    r.pool = sl_pool_create(0, 0);
    r.request_id = "req_test";
    r.params[0].name = "tenant_id";
    r.params[0].value = "tenant_b";
    r.nparams = 1;

    r.who.kind = API_PRINCIPAL_KEY;
    r.who.tenant_id = "tenant_a";
    ck_assert_int_eq(api_check_tenant_param(&r), API_ANSWERED);
    ck_assert_int_eq(r.status, 403);
    ck_assert_ptr_nonnull(strstr(r.resp_body, "Tenant ID mismatch: "
                                              "authenticated as 'tenant_a' "
                                              "but requested resource for "
                                              "'tenant_b'"));
    r.status = 0;
    r.who.tenant_id = "tenant_b";
    ck_assert_int_eq(api_check_tenant_param(&r), 0);
    ck_assert_int_eq(r.status, 0);
    /* The operator may name any tenant. */
    r.who.kind = API_PRINCIPAL_ADMIN;
    r.who.tenant_id = NULL;
    ck_assert_int_eq(api_check_tenant_param(&r), 0);
    sl_pool_destroy(r.pool);
}
END_TEST

static Suite *
routes_suite(void)
{
    Suite *s = suite_create("routes");
    TCase *tc = tcase_create("table");

    tcase_add_test(tc, every_route_is_documented);
    tcase_add_test(tc, every_documented_operation_is_routed);
    tcase_add_test(tc, no_route_is_listed_twice);
    tcase_add_test(tc, no_route_is_shadowed);
    tcase_add_test(tc, every_statement_is_defined);
    tcase_add_test(tc, router_matches_literals_params_and_methods);
    tcase_add_test(tc, router_404_and_405);
    tcase_add_test(tc, form_and_query_parsing);
    tcase_add_test(tc, api_key_shape);
    tcase_add_test(tc, tenant_in_path_must_be_the_callers);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(routes_suite)
