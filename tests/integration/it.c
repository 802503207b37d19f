/*
 * it.c: the integration tests' HTTP client and helpers (see it.h).
 */
#include "it.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define IT_TIMEOUT_MS   60000
#define IT_MAX_RESPONSE (8 * 1024 * 1024)

const char *
it_env(const char *name)
{
    const char *v = getenv(name);

    ck_assert_msg(v != NULL && *v != '\0',
                  "%s is not set: run the integration tests through make "
                  "check",
                  name);
    return v;
}

int
it_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

const char *
it_unique(void)
{
    static char buf[32];
    static int counter;

    snprintf(buf, sizeof(buf), "%ld_%d", (long)getpid(), ++counter);
    return buf;
}

void
it_client_init(struct it_client *c)
{
    unsigned pid = (unsigned)getpid();

    memset(c, 0, sizeof(*c));
    /* A server closing early must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    snprintf(c->source, sizeof(c->source), "127.%u.%u.%u",
             1 + (pid >> 16) % 250, (pid >> 8) & 0xff,
             (pid & 0xff) == 0 ? 1 : pid & 0xff);
}

static int
connect_to(struct it_client *c)
{
    struct sockaddr_in src, dst;
    const char *port =
        it_env(c->tls ? "SLUICE_TEST_HTTPS_PORT" : "SLUICE_TEST_HTTP_PORT");
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    inet_pton(AF_INET, c->source, &src.sin_addr);
    ck_assert_msg(bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0,
                  "bind %s: %s", c->source, strerror(errno));
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons((unsigned short)atoi(port));
    inet_pton(AF_INET, it_env("SLUICE_TEST_BIND"), &dst.sin_addr);
    ck_assert_msg(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0,
                  "connect to port %s: %s", port, strerror(errno));
    return fd;
}

int
it_socket(struct it_client *c)
{
    return connect_to(c);
}

/* The connection: a plain socket or a TLS session over it. */
struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static void
conn_open(struct it_client *c, struct conn *k)
{
    memset(k, 0, sizeof(*k));
    k->fd = connect_to(c);
    if (!c->tls)
        return;
    k->ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(k->ctx);
    /* The stack's certificate is self-signed: not verified here. */
    SSL_CTX_set_verify(k->ctx, SSL_VERIFY_NONE, NULL);
    k->ssl = SSL_new(k->ctx);
    SSL_set_fd(k->ssl, k->fd);
    SSL_set_tlsext_host_name(k->ssl, "localhost");
    ck_assert_msg(SSL_connect(k->ssl) == 1, "TLS handshake failed");
}

static void
conn_write(struct conn *k, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = k->ssl ? SSL_write(k->ssl, p, (int)n) : write(k->fd, p, n);

        ck_assert_msg(w > 0, "write failed");
        p += w;
        n -= (size_t)w;
    }
}

static ssize_t
conn_read(struct conn *k, char *p, size_t n)
{
    struct pollfd pfd = {k->fd, POLLIN, 0};

    if (k->ssl != NULL && SSL_pending(k->ssl) > 0)
        return SSL_read(k->ssl, p, (int)n);
    ck_assert_msg(poll(&pfd, 1, IT_TIMEOUT_MS) == 1, "no response within %d ms",
                  IT_TIMEOUT_MS);
    if (k->ssl != NULL) {
        int r = SSL_read(k->ssl, p, (int)n);

        return r > 0 ? r : 0;
    }
    return read(k->fd, p, n);
}

static void
conn_close(struct conn *k)
{
    if (k->ssl != NULL) {
        SSL_shutdown(k->ssl);
        SSL_free(k->ssl);
        SSL_CTX_free(k->ctx);
    }
    close(k->fd);
}

/* Decodes a chunked body in place. Returns the decoded length. */
static size_t
dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;

    while (in < len) {
        char *end;
        unsigned long n = strtoul(body + in, &end, 16);

        end = strstr(end, "\r\n");
        if (end == NULL || n == 0)
            break;
        in = (size_t)(end - body) + 2;
        if (in + n > len)
            n = len - in;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
    body[out] = '\0';
    return out;
}

int
it_request(struct it_client *c, const char *method, const char *path,
           const char *headers, const char *content_type, const char *body,
           size_t body_len, struct it_resp *out)
{
    struct conn k;
    char req[16384], *buf, *sep;
    size_t cap = 65536, len = 0;
    int n;

    memset(out, 0, sizeof(*out));
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 "User-Agent: sluice-it\r\n%s%s%s",
                 method, path, headers ? headers : "",
                 content_type ? "Content-Type: " : "",
                 content_type ? content_type : "");
    if (content_type != NULL)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    if (body != NULL || strcmp(method, "POST") == 0 ||
        strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0)
        n += snprintf(req + n, sizeof(req) - (size_t)n,
                      "Content-Length: %zu\r\n", body ? body_len : 0);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    ck_assert_int_lt(n, (int)sizeof(req));

    conn_open(c, &k);
    conn_write(&k, req, (size_t)n);
    if (body != NULL && body_len > 0)
        conn_write(&k, body, body_len);
    buf = malloc(cap);
    for (;;) {
        ssize_t r;

        if (len + 4096 > cap) {
            ck_assert_uint_lt(cap, IT_MAX_RESPONSE);
            cap *= 2;
            buf = realloc(buf, cap);
        }
        r = conn_read(&k, buf + len, cap - len - 1);
        if (r <= 0)
            break; /* EOF, or a reset after an early answer */
        len += (size_t)r;
    }
    conn_close(&k);
    buf[len] = '\0';
    ck_assert_msg(sscanf(buf, "HTTP/1.%*d %d", &out->status) == 1,
                  "not an HTTP response: %.200s", buf);
    sep = strstr(buf, "\r\n\r\n");
    ck_assert_ptr_nonnull(sep);
    *sep = '\0';
    out->head = strdup(buf);
    out->body_len = len - (size_t)(sep + 4 - buf);
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, sep + 4, out->body_len);
    out->body[out->body_len] = '\0';
    free(buf);
    if (strcasestr(out->head, "Transfer-Encoding: chunked") != NULL)
        out->body_len = dechunk(out->body, out->body_len);
    if (out->body_len > 0)
        out->json = json_loadb(out->body, out->body_len, 0, NULL);
    return 0;
}

void
it_resp_free(struct it_resp *r)
{
    free(r->head);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

const char *
it_header(const struct it_resp *r, const char *name)
{
    static char value[1024];
    size_t nlen = strlen(name);
    const char *p = r->head;

    while (p != NULL && (p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1, *e;

            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s",
                     (int)(e ? (size_t)(e - v) : strlen(v)), v);
            return value;
        }
    }
    return NULL;
}

int
it_call(struct it_client *c, const char *method, const char *path,
        const char *token, json_t *body, struct it_resp *out)
{
    char headers[4096] = "";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc;

    if (token != NULL)
        snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n",
                 token);
    rc = it_request(c, method, path, headers, text ? "application/json" : NULL,
                    text, text ? strlen(text) : 0, out);
    free(text);
    json_decref(body);
    return rc;
}

int
it_get(struct it_client *c, const char *path, const char *token,
       struct it_resp *out)
{
    return it_call(c, "GET", path, token, NULL, out);
}

json_t *
it_at(const struct it_resp *r, const char *dotted)
{
    char key[128];
    const char *p = dotted;
    json_t *j = r->json;

    while (j != NULL && *p != '\0') {
        size_t n = strcspn(p, ".");

        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        if (json_is_array(j))
            j = json_array_get(j, (size_t)atoi(key));
        else
            j = json_object_get(j, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return j;
}

const char *
it_str(const struct it_resp *r, const char *dotted)
{
    return json_string_value(it_at(r, dotted));
}

long long
it_int(const struct it_resp *r, const char *dotted)
{
    json_t *j = it_at(r, dotted);

    return json_is_integer(j) ? json_integer_value(j) : -1;
}

void
it_assert_error(const struct it_resp *r, int status, const char *code)
{
    const char *ts = it_str(r, "error.timestamp");

    ck_assert_msg(r->status == status, "want %d %s, got %d: %.600s", status,
                  code, r->status, r->body ? r->body : "");
    ck_assert_msg(r->json != NULL, "error body is not JSON: %.300s", r->body);
    ck_assert_msg(it_str(r, "error.code") != NULL &&
                      strcmp(it_str(r, "error.code"), code) == 0,
                  "want code %s: %.600s", code, r->body);
    ck_assert_ptr_nonnull(it_str(r, "error.message"));
    ck_assert_msg(ts != NULL && strlen(ts) == 20 && ts[19] == 'Z',
                  "bad timestamp in %.300s", r->body);
    ck_assert_ptr_nonnull(it_str(r, "error.request_id"));
    ck_assert_str_eq(it_str(r, "error.request_id"),
                     it_header(r, "X-Request-ID"));
}

char *
it_sql(const char *url_env, const char *sql, const char *p1, const char *p2,
       const char *p3, char *err, size_t errsz)
{
    const char *params[3] = {p1, p2, p3};
    int n = p3 ? 3 : p2 ? 2 : p1 ? 1 : 0;
    PGconn *conn = PQconnectdb(it_env(url_env));
    PGresult *res;
    char *out = NULL;

    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "connect: %s",
                  PQerrorMessage(conn));
    res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK ||
        PQresultStatus(res) == PGRES_COMMAND_OK) {
        out = strdup(PQntuples(res) > 0 && PQnfields(res) > 0
                         ? PQgetvalue(res, 0, 0)
                         : "");
    } else if (err != NULL) {
        snprintf(err, errsz, "%s", PQresultErrorMessage(res));
    }
    PQclear(res);
    PQfinish(conn);
    return out;
}

/* --- users and tenants ---------------------------------------------------- */

const char *
it_admin_header(void)
{
    static char h[256];

    snprintf(h, sizeof(h), "X-Admin-Key: %s\r\n",
             it_env("SLUICE_TEST_ADMIN_KEY"));
    return h;
}

void
it_register(struct it_client *c, const char *username, const char *password,
            const char *org_name, struct it_resp *out)
{
    char email[160];
    json_t *body;

    snprintf(email, sizeof(email), "%s@example.com", username);
    body = json_pack("{s:s, s:s, s:s, s:s}", "username", username, "email",
                     email, "password", password, "full_name", "Test User");
    if (org_name != NULL)
        json_object_set_new(body, "organization_name", json_string(org_name));
    it_call(c, "POST", "/api/v1/auth/register", NULL, body, out);
}

char *
it_login(struct it_client *c, const char *username, const char *password,
         char **refresh)
{
    struct it_resp r;
    char *token;

    it_call(c, "POST", "/api/v1/auth/login", NULL,
            json_pack("{s:s, s:s}", "username", username, "password", password),
            &r);
    it_assert_status(&r, 200);
    token = strdup(it_str(&r, "access_token"));
    if (refresh != NULL)
        *refresh = strdup(it_str(&r, "refresh_token"));
    it_resp_free(&r);
    return token;
}

char *
it_new_org(struct it_client *c, char **username, char **org)
{
    char name[64], orgname[96];
    struct it_resp r;

    snprintf(name, sizeof(name), "adm_%s", it_unique());
    snprintf(orgname, sizeof(orgname), "Org %s", name);
    it_register(c, name, IT_PASSWORD, orgname, &r);
    it_assert_status(&r, 201);
    *org = strdup(it_str(&r, "organization_id"));
    *username = strdup(name);
    it_resp_free(&r);
    return it_login(c, name, IT_PASSWORD, NULL);
}

char *
it_member(struct it_client *c, const char *admin_token, const char *role)
{
    struct it_resp r;
    char name[64], email[96];

    snprintf(name, sizeof(name), "%.8s_%s", role, it_unique());
    snprintf(email, sizeof(email), "%s@example.com", name);
    it_call(c, "POST", "/api/v1/users", admin_token,
            json_pack("{s:s, s:s, s:s, s:s}", "username", name, "email", email,
                      "password", IT_PASSWORD, "role", role),
            &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    return it_login(c, name, IT_PASSWORD, NULL);
}

json_t *
it_graph(void)
{
    return json_pack("{s:[{s:s, s:s, s:s, s:{s:s}}, {s:s, s:s, s:s, s:{s:s}}],"
                     " s:[{s:s, s:s}]}",
                     "nodes", "id", "in", "type", "extractor", "module", "csv",
                     "config", "path", "in.csv", "id", "out", "type", "loader",
                     "module", "postgres", "config", "table", "t", "edges",
                     "source", "in", "target", "out");
}

char *
it_owner_value(const char *sql, const char *p1, const char *p2)
{
    char err[256] = "";
    char *v =
        it_sql("SLUICE_TEST_OWNER_DB_URL", sql, p1, p2, NULL, err, sizeof(err));

    ck_assert_msg(v != NULL, "%s: %s", sql, err);
    return v;
}

void
it_owner_sql(const char *sql, const char *p1)
{
    free(it_owner_value(sql, p1, NULL));
}

void
it_await_sql(const char *sql, const char *p1, const char *p2, const char *want,
             double limit)
{
    double end = it_now() + limit;
    char *v;

    for (;;) {
        v = it_owner_value(sql, p1, p2);
        if (strcmp(v, want) == 0)
            break;
        ck_assert_msg(it_now() < end, "after %.0f s, %s answers %s, not %s",
                      limit, sql, v, want);
        free(v);
        usleep(100 * 1000);
    }
    free(v);
}

void
it_scale_up(const char *org)
{
    it_owner_sql("UPDATE tenant_subscriptions SET plan_code = 'SCALE', "
                 "daily_runs_limit = 100, monthly_runs_limit = 3000, "
                 "concurrent_runs_limit = 10 WHERE tenant_id = $1",
                 org);
}

/* --- pipelines, runs and the warehouse -------------------------------- */

double
it_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* First value of sql on the warehouse, as sluice_wh ("" for no row). */
char *
it_wh(const char *sql, const char *p1)
{
    char err[512] = "";
    char *v =
        it_sql("SLUICE_TEST_WH_DB_URL", sql, p1, NULL, NULL, err, sizeof(err));

    ck_assert_msg(v != NULL, "%s: %s", sql, err);
    return v;
}

/* Writes text to data_dir/<org>/<name>. */
void
it_data_file(const char *org, const char *name, const char *text)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", it_env("SLUICE_TEST_DATA_DIR"), org);
    ck_assert_int_eq(it_sh("mkdir -p '%s'", path), 0);
    snprintf(path, sizeof(path), "%s/%s/%s", it_env("SLUICE_TEST_DATA_DIR"),
             org, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Creates a pipeline of nodes and edges (taken); returns its id. */
char *
it_pipeline(struct it_client *c, const char *token, json_t *nodes,
            json_t *edges)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:o, s:o}", "name", it_unique(), "nodes", nodes,
                      "edges", edges),
            &r);
    it_assert_status(&r, 201);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* A chain of nodes: edges from each to the next. */
json_t *
it_chain(json_t *nodes)
{
    json_t *edges = json_array();

    for (size_t i = 0; i + 1 < json_array_size(nodes); i++)
        json_array_append_new(
            edges,
            json_pack("{s:O, s:O}", "source",
                      json_object_get(json_array_get(nodes, i), "id"), "target",
                      json_object_get(json_array_get(nodes, i + 1), "id")));
    return edges;
}

json_t *
it_node(const char *id, const char *type, const char *module, json_t *config)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "id", id, "type", type, "module",
                     module, "config", config);
}

char *
it_execute(struct it_client *c, const char *token, const char *pid)
{
    char path[256];
    struct it_resp r;
    char *id;

    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(c, "POST", path, token, json_object(), &r);
    it_assert_status(&r, 202);
    id = strdup(it_str(&r, "run_id"));
    it_resp_free(&r);
    return id;
}

/* Polls the database, not the API: its rate limit would not allow it. */
void
it_await_run(struct it_client *c, const char *token, const char *id,
             const char *want, double limit, struct it_resp *r)
{
    char path[160], all[80], pat[64], err[256];
    double end = it_now() + limit;

    snprintf(all, sizeof(all), "|%s|", want);
    for (;;) {
        char *st = it_sql("SLUICE_TEST_OWNER_DB_URL",
                          "SELECT status FROM runs WHERE id = $1", id, NULL,
                          NULL, err, sizeof(err));

        ck_assert_msg(st != NULL, "%s", err);
        snprintf(pat, sizeof(pat), "|%s|", st);
        free(st);
        if (strstr(all, pat) != NULL)
            break;
        ck_assert_msg(it_now() < end, "run %s: still %s after %.0f s", id, pat,
                      limit);
        usleep(20 * 1000);
    }
    snprintf(path, sizeof(path), "/api/v1/executions/%s", id);
    it_get(c, path, token, r);
    it_assert_status(r, 200);
}

bool
it_run_chain(struct it_client *c, const char *token, json_t *nodes,
             struct it_resp *r)
{
    char *pid = it_pipeline(c, token, nodes, it_chain(nodes));
    char *run = it_execute(c, token, pid);

    it_await_run(c, token, run, "completed|failed", 30, r);
    free(run);
    free(pid);
    return strcmp(it_str(r, "status"), "completed") == 0;
}

void
it_run_chain_fails(struct it_client *c, const char *token, json_t *nodes,
                   const char *what)
{
    struct it_resp r;

    ck_assert_msg(!it_run_chain(c, token, nodes, &r), "%s", r.body);
    ck_assert_msg(strstr(it_str(&r, "error_message"), what) != NULL, "%s",
                  r.body);
    it_resp_free(&r);
}

/* A connector of type postgresql (ssl_mode disable); returns its id. */
char *
it_pg_connector(struct it_client *c, const char *token, const char *host,
                int port, const char *database, const char *username,
                const char *password)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s, s:s}}", "name",
                      it_unique(), "type", "postgresql", "config", "host", host,
                      "port", port, "database", database, "ssl_mode", "disable",
                      "username", username, "password", password),
            &r);
    it_assert_status(&r, 201);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* The settings of a connection to the warehouse database, as sluice_wh. */
json_t *
it_wh_settings(void)
{
    char path[512], password[128], port[16];
    const char *url = it_env("SLUICE_TEST_WH_DB_URL"), *p;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/secrets/pg_wh", it_env("SLUICE_TEST_VAR"));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(password, 1, sizeof(password) - 1, f);
    fclose(f);
    password[n] = '\0';
    password[strcspn(password, "\r\n")] = '\0';
    p = strstr(url, "port=");
    ck_assert_ptr_nonnull(p);
    snprintf(port, sizeof(port), "%.*s", (int)strcspn(p + 5, " "), p + 5);
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "host",
                     it_env("SLUICE_TEST_BIND"), "port", (json_int_t)atoi(port),
                     "database", "sluice_warehouse", "ssl_mode", "disable",
                     "username", "sluice_wh", "password", password);
}

/* A connector to the stack's own warehouse database, as sluice_wh. */
char *
it_wh_connector(struct it_client *c, const char *token)
{
    struct it_resp r;
    char *id;

    it_call(c, "POST", "/api/v1/connectors", token,
            json_pack("{s:s, s:s, s:o}", "name", it_unique(), "type",
                      "postgresql", "config", it_wh_settings()),
            &r);
    it_assert_status(&r, 201);
    id = strdup(it_str(&r, "id"));
    it_resp_free(&r);
    return id;
}

/* A source that sends 20000 rows, then stalls for s seconds, then more. */
json_t *
it_slow_source(const char *conn, int seconds)
{
    char q[256];

    snprintf(q, sizeof(q),
             "SELECT g AS id, CASE WHEN g = 20001 THEN "
             "pg_sleep(%d)::text END AS pause FROM generate_series(1, 30000) g",
             seconds);
    return it_node("src", "extractor", "postgres",
                   json_pack("{s:s, s:s}", "connection_id", conn, "query", q));
}

pid_t
it_second_runner(void)
{
    char bin[512], pidfile[512], log[512];
    double end;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/runner/sluice-runner",
             it_env("abs_builddir"));
    snprintf(pidfile, sizeof(pidfile), "%s/run/runner2.pid",
             it_env("SLUICE_TEST_VAR"));
    snprintf(log, sizeof(log), "%s/log/runner2.log", it_env("SLUICE_TEST_VAR"));
    unlink(pidfile);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "-c", it_env("SLUICE_TEST_CONF"), "--pid-file", pidfile,
              (char *)NULL);
        _exit(127);
    }
    end = it_now() + 10;
    while (access(pidfile, F_OK) != 0) {
        ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0,
                      "the second runner exited; see %s", log);
        ck_assert_msg(it_now() < end, "the second runner did not start; see %s",
                      log);
        usleep(50 * 1000);
    }
    return pid;
}

int
it_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

pid_t
it_second_hub(int port)
{
    char bin[512], pidfile[512], log[512], portstr[16];
    double end;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/ws-hub/sluice-hub", it_env("abs_builddir"));
    snprintf(pidfile, sizeof(pidfile), "%s/run/hub%d.pid",
             it_env("SLUICE_TEST_VAR"), port);
    snprintf(log, sizeof(log), "%s/log/hub%d.log", it_env("SLUICE_TEST_VAR"),
             port);
    snprintf(portstr, sizeof(portstr), "%d", port);
    unlink(pidfile);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("SLUICE_HUB_PORT", portstr, 1);
        execl(bin, bin, "-c", it_env("SLUICE_TEST_CONF"), "--pid-file", pidfile,
              (char *)NULL);
        _exit(127);
    }
    end = it_now() + 10;
    while (access(pidfile, F_OK) != 0) {
        ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0,
                      "the second hub exited; see %s", log);
        ck_assert_msg(it_now() < end, "the second hub did not start; see %s",
                      log);
        usleep(50 * 1000);
    }
    return pid;
}

void
it_await_wh(const char *sql, double limit, const char *what)
{
    double end = it_now() + limit;

    for (;;) {
        char *v = it_wh(sql, NULL);
        bool yes = strcmp(v, "t") == 0;

        free(v);
        if (yes)
            return;
        ck_assert_msg(it_now() < end, "%s: not within %.0f s", what, limit);
        usleep(20 * 1000);
    }
}

void
it_await_loading(double limit)
{
    it_await_wh("SELECT count(*) > 0 FROM pg_stat_activity WHERE "
                "application_name = 'sluice-runner' AND state = 'active' "
                "AND query LIKE 'COPY %FROM STDIN'",
                limit, "a load starts");
}

void
it_stack(const char *verb, const char *service)
{
    ck_assert_int_eq(it_sh("%s %s %s >/dev/null 2>&1",
                           it_env("SLUICE_TEST_STACKCTL"), verb, service),
                     0);
}
