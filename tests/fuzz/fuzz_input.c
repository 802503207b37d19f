/*
 * fuzz_input.c: a libFuzzer target for everything that parses what a
 * client sends before any handler runs: query strings and form bodies,
 * percent-decoding, route matching, JSON bodies with the depth limit,
 * access tokens, API keys, RFC 3339 times, base64url; what pipeline
 * handlers parse: cron expressions, and JSON bodies normalised into a
 * graph (every seed's shape) and validated against the module schemas;
 * and what the runner parses from users and their files: filter
 * expressions (evaluated against rows), CSV (read, written back and read
 * again: the same fields) and COPY's text format (decoded, encoded and
 * decoded again: the same values); and the PII engine: the analyzer over
 * the input (its findings checked: ordered, not overlapping, inside the
 * text, on character boundaries), the anonymizer over its findings with
 * every operator under a fixed key (its text checked: well-formed UTF-8,
 * encrypted items decrypting back to the original), and decryption of the
 * input itself.
 *
 * The first byte of the input picks the parser; the rest is its input.
 * Built and run by tests/fuzz/run.sh (clang, -fsanitize=fuzzer,address,
 * undefined); make check runs it for ten seconds (tests/fuzz/smoke.sh).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "authenticate.h"
#include "buf.h"
#include "clock.h"
#include "cron.h"
#include "crypto.h"
#include "csvio.h"
#include "expr.h"
#include "form.h"
#include "graph.h"
#include "json.h"
#include "pgcopy.h"
#include "pii.h"
#include "router.h"
#include "token.h"
#include "utf8.h"

/* What the runner's parsers are given besides the input. */
static const char *const columns[] = {"a", "b", "amount", "status",
                                      "Order Date"};
#define NCOLUMNS 5

/* Rows a parsed filter expression is evaluated against. */
static char *const rows[][NCOLUMNS] = {
    {"1", "x", "10.5", "paid", "2025-01-01"},
    {NULL, "", "-3e2", NULL, "t"},
    {"007", "%_\\", "99999999999999999999.1", "void", "false"},
};

/*
 * Filter expressions: parsed against the columns above and, when they
 * parse, evaluated against each row (which never fails).
 */
static void
fuzz_expr(sl_pool *pool, const char *s)
{
    struct run_expr *e;
    char err[256];

    if (run_expr_parse(pool, s, columns, NCOLUMNS, &e, err, sizeof(err)) != 0)
        return;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int v = run_expr_eval(e, rows[i]);

        if (v != 0 && v != 1)
            abort();
    }
}

/* A descriptor reading the n bytes of s, or -1. */
static int
fd_of(const char *s, size_t n)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);

    if (fd < 0)
        return -1;
    if (write(fd, s, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Reads every record of the n bytes of s as CSV (the first byte picks
 * the delimiter and the quote) into out, written back with
 * run_csv_write_row(), NULL for an unquoted empty field. Returns the
 * number of records, or -1 when the input is refused.
 */
static int
csv_records(sl_pool *pool, const char *s, size_t n, char delim, char quote,
            sl_buf *out)
{
    struct run_csv_reader r;
    char **fields;
    bool *quoted;
    int nf, rc, count = 0, fd = fd_of(s, n);

    if (fd < 0 || run_csv_reader_init(&r, fd, delim, quote, 4096, 64) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while ((rc = run_csv_next(&r, pool, &fields, &nf, &quoted)) == 1) {
        for (int i = 0; i < nf; i++)
            if (!quoted[i] && fields[i][0] == '\0')
                fields[i] = NULL;
        /* A record of one NULL field is an empty line, which a reader
         * skips (csvio.h): it does not come back. */
        if (nf == 1 && fields[0] == NULL)
            continue;
        if (run_csv_write_row(out, fields, nf, delim, quote) != 0)
            abort();
        count++;
    }
    run_csv_reader_free(&r);
    close(fd);
    return rc == 0 ? count : -1;
}

/* CSV: whatever reads, written back, reads again the same. */
static void
fuzz_csv(sl_pool *pool, const char *s, size_t n)
{
    static const char delims[] = ",;\t|", quotes[] = "\"'";
    char delim, quote;
    sl_buf once, twice;
    int c1, c2;

    if (n < 1)
        return;
    delim = delims[(unsigned char)s[0] % 4];
    quote = quotes[((unsigned char)s[0] >> 2) % 2];
    sl_buf_init(&once, 1 << 24);
    sl_buf_init(&twice, 1 << 24);
    c1 = csv_records(pool, s + 1, n - 1, delim, quote, &once);
    if (c1 > 0) {
        c2 = csv_records(pool, once.data, once.len, delim, quote, &twice);
        if (c2 != c1 || twice.len != once.len ||
            memcmp(once.data, twice.data, once.len) != 0)
            abort();
    }
    sl_buf_free(&once);
    sl_buf_free(&twice);
}

/*
 * COPY text: a line (the first byte gives the number of fields, 1 to 8)
 * that decodes, encoded and decoded again, gives the same values.
 */
static void
fuzz_copy(sl_pool *pool, const char *s, size_t n)
{
    char *row[8], *again[8];
    int ncols;
    sl_buf line;

    if (n < 1)
        return;
    ncols = (unsigned char)s[0] % 8 + 1;
    if (run_copy_decode(pool, s + 1, n - 1, row, ncols) != 0)
        return;
    sl_buf_init(&line, 1 << 24);
    if (run_copy_encode(&line, row, ncols) != 0 || line.len == 0 ||
        line.data[line.len - 1] != '\n' ||
        run_copy_decode(pool, line.data, line.len - 1, again, ncols) != 0)
        abort();
    for (int i = 0; i < ncols; i++)
        if ((row[i] == NULL) != (again[i] == NULL) ||
            (row[i] != NULL && strcmp(row[i], again[i]) != 0))
            abort();
    sl_buf_free(&line);
}

/*
 * The PII engine over s: analysis, then anonymization of the findings
 * with an operator per entity chosen from the input, then decryption of
 * the input as a token. Any broken invariant aborts.
 */
static void
fuzz_pii(const char *s, size_t n)
{
    static const unsigned char key[SL_PII_KEY_LEN] = "0123456789abcdef01234567"
                                                     "89abcdef";
    static const struct sl_pii_keys keys = {key, key};
    struct sl_pii_op ops_store[SL_PII_NENTITIES];
    const struct sl_pii_op *ops[SL_PII_NENTITIES];
    struct sl_pii_result res;
    struct sl_pii_item *items = NULL;
    unsigned char sel = n > 0 ? (unsigned char)s[0] : 0;
    char *out = NULL, *plain = NULL;
    size_t plen;
    int rc;

    rc = sl_pii_analyze(s, n, NULL, &res);
    if (rc == SL_EPARSE || (rc == SL_ETOOBIG && !res.too_many))
        goto decrypt; /* not text: nothing to anonymize */
    if (rc != 0 && rc != SL_ETOOBIG)
        abort();
    for (size_t k = 0; k < res.n; k++) {
        const struct sl_pii_match *m = &res.m[k];

        if (m->bstart >= m->bend || m->bend > n || m->start >= m->end ||
            (k > 0 && m->bstart < res.m[k - 1].bend) ||
            ((unsigned char)s[m->bstart] & 0xc0) == 0x80 ||
            (m->bend < n && ((unsigned char)s[m->bend] & 0xc0) == 0x80))
            abort();
    }
    for (int e = 0; e < SL_PII_NENTITIES; e++) {
        struct sl_pii_op *op = &ops_store[e];

        memset(op, 0, sizeof(*op));
        op->kind = (enum sl_pii_op_kind)((sel + e) % 6);
        op->masking_char = (sel & 0x40) != 0 ? "\xc3\xa9" : NULL;
        op->chars_to_mask = (sel & 0x80) != 0 ? (long)(sel % 7) : -1;
        op->from_end = (sel & 0x20) != 0;
        ops[e] = op;
    }
    if (res.n > 0 && (items = calloc(res.n, sizeof(*items))) == NULL)
        abort();
    rc = sl_pii_anonymize(s, n, res.m, res.n, ops, NULL, &keys, &out, items);
    if (rc == 0) {
        size_t olen = strlen(out);

        if (!sl_utf8_valid(out, olen))
            abort();
        for (size_t k = 0; k < res.n; k++)
            if (items[k].start > items[k].end ||
                (k > 0 && items[k].start < items[k - 1].end))
                abort();
    } else if (rc != SL_ETOOBIG) {
        abort();
    }
    free(out);
    free(items);
decrypt:
    sl_pii_result_free(&res);
    if (sl_pii_decrypt(key, s, n, &plain, &plen) == 0)
        free(plain);
}

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

    switch (data[0] % 14) {
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
            /* The graph is the pool's, freed with it. */
            if (api_graph_from_body(&c, body, &nodes, &edges) == 0)
                (void)api_graph_validate(&c, nodes, edges, warnings, conns,
                                         &sorted);
        }
        json_decref(body);
        json_decref(warnings);
        json_decref(conns);
        break;
    }
    case 10:
        fuzz_expr(pool, s);
        break;
    case 11:
        fuzz_csv(pool, s, n);
        break;
    case 12:
        fuzz_copy(pool, s, n);
        break;
    case 13:
        fuzz_pii(s, n);
        break;
    }
    sl_pool_destroy(pool);
    free(s);
    return 0;
}
