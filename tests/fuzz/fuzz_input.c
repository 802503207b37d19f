/*
 * fuzz_input.c: a libFuzzer target for everything that parses what a
 * client sends before any handler runs: query strings and form bodies,
 * percent-decoding, route matching, JSON bodies with the depth limit,
 * access tokens, API keys, RFC 3339 times, base64url; and what pipeline
 * handlers parse: cron expressions, and JSON bodies normalised into a
 * graph (every seed's shape) and validated against the module schemas.
 *
 * The first byte of the input picks the parser; the rest is its input.
 * Built and run by tests/fuzz/run.sh (clang, -fsanitize=fuzzer,address,
 * undefined); not part of make check.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "clock.h"
#include "cron.h"
#include "crypto.h"
#include "form.h"
#include "graph.h"
#include "json.h"
#include "router.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char key[] = "0123456789abcdef0123456789abcdef";
    static const char *methods[] = {"GET",   "POST",   "PUT",
                                    "PATCH", "DELETE", "HEAD"};
    sl_pool *pool;
    char *s;
    size_t n;

    if (size < 1)
        return 0;
    n = size - 1;
    s = malloc(n + 1);
    memcpy(s, data + 1, n);
    s[n] = '\0';
    pool = sl_pool_create(0, 16 * 1024 * 1024);

    switch (data[0] % 10) {
    case 0: {
        struct api_param ps[64];
        int k = api_form_parse(pool, s, n, ps, 64);

        for (int i = 0; i < k; i++)
            (void)strlen(ps[i].name), (void)strlen(ps[i].value);
        break;
    }
    case 1: {
        char *out = malloc(n + 1);

        (void)api_url_decode(s, n, out, true);
        free(out);
        break;
    }
    case 2: {
        struct api_param ps[API_MAX_PARAMS];
        char allow[128];
        int np;

        /* Paths are NUL-free in practice: nginx refuses NUL bytes. */
        if (strlen(s) == n)
            (void)api_route_find(api_routes, api_nroutes, methods[n % 6], s,
                                 pool, ps, &np, allow, sizeof(allow));
        break;
    }
    case 3: {
        json_t *j = NULL;
        char err[256];

        if (sl_json_parse(s, n, 32, &j, err, sizeof(err)) == 0)
            json_decref(j);
        break;
    }
    case 4: {
        struct sl_claims c;

        (void)sl_token_verify(key, strlen(key), s, 1700000000, &c);
        break;
    }
    case 5: {
        char t[64];

        (void)api_key_tenant(s, t, sizeof(t));
        break;
    }
    case 6: {
        int64_t t;

        (void)sl_clock_parse(s, &t);
        break;
    }
    case 7: {
        unsigned char out[256];
        size_t len;

        (void)sl_b64url_decode(s, n, out, sizeof(out), &len);
        break;
    }
    case 8: {
        struct sl_cron c;
        char err[128];
        int64_t next;

        if (sl_cron_parse(s, &c, err, sizeof(err)) == 0)
            (void)sl_cron_next(&c, NULL, 1767976800, &next);
        break;
    }
    case 9: {
        struct api_req r = {.pool = pool};
        struct api_check c;
        json_t *body = NULL, *nodes, *edges, *sorted;
        json_t *warnings = json_array(), *conns = json_array();
        char err[256];

        if (sl_json_parse(s, n, 32, &body, err, sizeof(err)) == 0 &&
            json_is_object(body)) {
            api_check_init(&c, &r);
            if (api_graph_from_body(&c, body, &nodes, &edges) == 1) {
                api_graph_validate(&c, nodes, edges, warnings, conns, &sorted);
                json_decref(sorted);
                json_decref(nodes);
                json_decref(edges);
            }
        }
        json_decref(body);
        json_decref(warnings);
        json_decref(conns);
        break;
    }
    }
    sl_pool_destroy(pool);
    free(s);
    return 0;
}
