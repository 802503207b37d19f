/*
 * it.h: helpers for the integration tests, which talk to a private stack
 * through nginx like any client (see with-stack).
 *
 * Each test runs in its own process (Check forks) and gets a client bound
 * to its own loopback source address (127.x.y.z, from its pid), so that
 * nginx's per-client rate limits apply to each test separately, as they
 * would to separate clients.
 *
 * Responses are parsed fully: status, headers, body, and the body as JSON
 * when it is JSON. Every helper fails the running test (ck_abort) when the
 * exchange itself fails; what the server answered is for the test to
 * assert.
 */
#ifndef IT_H
#define IT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <jansson.h>

struct it_client {
    char source[16]; /* "127.x.y.z" */
    bool tls;        /* HTTPS port instead of HTTP */
};

struct it_resp {
    int status;
    char *head; /* the header block, NUL-terminated */
    char *body;
    size_t body_len;
    json_t *json; /* the body parsed, or NULL */
};

/* A client with a loopback source address of its own. */
void it_client_init(struct it_client *c);

/*
 * Sends a request and reads the whole response. headers: extra header
 * lines, each ending in "\r\n", or NULL. Returns 0; aborts the test if the
 * server cannot be reached.
 */
int it_request(struct it_client *c, const char *method, const char *path,
               const char *headers, const char *content_type, const char *body,
               size_t body_len, struct it_resp *out);

void it_resp_free(struct it_resp *r);

/* A plain TCP connection to nginx from the client's address (caller
 * closes it), for tests that speak something else than one request. */
int it_socket(struct it_client *c);

/* A response header's value (first one, case-insensitive), in pool-less
 * static storage valid until the next call; NULL if absent. */
const char *it_header(const struct it_resp *r, const char *name);

/* JSON requests: body is taken (may be NULL); token may be NULL. */
int it_call(struct it_client *c, const char *method, const char *path,
            const char *token, json_t *body, struct it_resp *out);

/* GET path with a bearer token (or none). */
int it_get(struct it_client *c, const char *path, const char *token,
           struct it_resp *out);

/* A string at a dotted path of the response JSON ("error.code"), or NULL. */
const char *it_str(const struct it_resp *r, const char *dotted);

/* An integer at a dotted path, or -1. */
long long it_int(const struct it_resp *r, const char *dotted);

/* The JSON value at a dotted path, or NULL (borrowed). */
json_t *it_at(const struct it_resp *r, const char *dotted);

/* Asserts the status, printing the body when it differs. */
#define it_assert_status(resp, want)                                           \
    ck_assert_msg((resp)->status == (want), "%s: want %d, got %d: %.600s",     \
                  #resp, (want), (resp)->status,                               \
                  (resp)->body ? (resp)->body : "")

/* Asserts a JSON error of DESIGN.md's shape with this status and code. */
void it_assert_error(const struct it_resp *r, int status, const char *code);

/* --- stack facts ---------------------------------------------------------- */

/* The value of an environment variable the harness sets; aborts if unset. */
const char *it_env(const char *name);

/* Runs a shell command (formatted); returns its exit status. */
int it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A unique suffix for names made by a test: pid and a counter. */
const char *it_unique(void);

/*
 * Runs sql with up to 3 text parameters on the database named by the
 * environment variable url_env (SLUICE_TEST_OWNER_DB_URL: the owner role;
 * SLUICE_TEST_DB_URL: the application role; SLUICE_TEST_RUNNER_DB_URL:
 * the runner's role). Returns the first value of the first row (malloc'd;
 * "" when no row) or NULL when the statement failed, the error then in
 * err (errsz bytes) if err is not NULL.
 */
char *it_sql(const char *url_env, const char *sql, const char *p1,
             const char *p2, const char *p3, char *err, size_t errsz);

/* --- users and tenants ---------------------------------------------------- */

/* Registers a user; org_name (may be NULL) makes a new organisation. */
void it_register(struct it_client *c, const char *username,
                 const char *password, const char *org_name,
                 struct it_resp *out);

/*
 * Logs in (JSON) and returns the access token (malloc'd); the refresh
 * token too when refresh is not NULL. Asserts success.
 */
char *it_login(struct it_client *c, const char *username, const char *password,
               char **refresh);

/*
 * Makes a fresh organisation whose admin is a fresh user: fills the
 * admin's username, the organisation id (both malloc'd) and returns the
 * admin's access token.
 */
char *it_new_org(struct it_client *c, char **username, char **org);

/*
 * Adds a fresh member with role to the organisation of admin_token (an
 * admin's access token) and returns the member's access token (malloc'd).
 */
char *it_member(struct it_client *c, const char *admin_token, const char *role);

/* A small valid pipeline graph: csv extractor -> postgres loader (new
 * reference, { "nodes", "edges" }). */
json_t *it_graph(void);

/* The admin key header line for the stack. */
const char *it_admin_header(void);

/* A password every test user gets. */
#define IT_PASSWORD "Correct-Horse-9"

/* Runs sql (one parameter, p1; may be NULL) as the owner; fails the test
 * if it fails. */
void it_owner_sql(const char *sql, const char *p1);

/* The first value of sql (parameters p1, p2; either may be NULL) run as
 * the owner, malloc'd ("" for no row); fails the test if it fails. */
char *it_owner_value(const char *sql, const char *p1, const char *p2);

/* Waits up to limit seconds, polling, until sql (p1, p2) run as the owner
 * answers want; fails the test when the time is up. */
void it_await_sql(const char *sql, const char *p1, const char *p2,
                  const char *want, double limit);

/*
 * Starts another sluice-runner on the stack's configuration (and this
 * process's environment); it gets SIGTERM should the test process die
 * first. Returns its pid once it has written its pid file; the caller
 * stops it (SIGTERM, waitpid).
 */
pid_t it_second_runner(void);

/*
 * Starts another sluice-hub on the stack's configuration, listening on
 * port (loopback); as it_second_runner(), it gets SIGTERM should the test
 * process die first. Returns its pid once it listens.
 */
pid_t it_second_hub(int port);

/* A TCP port on loopback that nothing listens on now. */
int it_free_port(void);

/* Runs the stack's control script (scripts/dev) on this test's stack:
 * verb (start, stop, ...) service; fails the test if it fails. */
void it_stack(const char *verb, const char *service);

/* Moves an organisation to the SCALE plan: 10 runs at once, 100 a day. */
void it_scale_up(const char *org);

/* --- pipelines, runs and the warehouse -------------------------------- */

/* Seconds on the monotonic clock, for bounding waits. */
double it_now(void);

/* The first value of sql on the warehouse, as sluice_wh (malloc'd; ""
 * for no row); fails the test if the statement fails. */
char *it_wh(const char *sql, const char *p1);

/* Writes text to the data directory's file <org>/<name>. */
void it_data_file(const char *org, const char *name, const char *text);

/* A pipeline node; config is taken. */
json_t *it_node(const char *id, const char *type, const char *module,
                json_t *config);

/* Edges from each of nodes (borrowed) to the next: a new array. */
json_t *it_chain(json_t *nodes);

/* Creates a pipeline of nodes and edges (both taken) and returns its id
 * (malloc'd); asserts 201. */
char *it_pipeline(struct it_client *c, const char *token, json_t *nodes,
                  json_t *edges);

/* Starts a run of pipeline pid; asserts 202; returns its id (malloc'd). */
char *it_execute(struct it_client *c, const char *token, const char *pid);

/*
 * Waits until run id's status is one of want ("a|b"), for up to limit
 * seconds, watching the database (the API's rate limit would not allow
 * polling it this often); then reads the run through the API into *r.
 * Fails the test when the time is up.
 */
void it_await_run(struct it_client *c, const char *token, const char *id,
                  const char *want, double limit, struct it_resp *r);

/* The settings of a connection to the stack's own warehouse database,
 * as sluice_wh: {host, port, database, ssl_mode, username, password} (a
 * new reference). */
json_t *it_wh_settings(void);
/*
 * Makes a pipeline of nodes (a chain, taken) in token's organisation and
 * runs it to its end (30 s at most); the run in *r, and whether it
 * completed.
 */
bool it_run_chain(struct it_client *c, const char *token, json_t *nodes,
                  struct it_resp *r);

/* As it_run_chain(), for a run that must fail, its error_message saying
 * what. */
void it_run_chain_fails(struct it_client *c, const char *token, json_t *nodes,
                        const char *what);

/* A connector to the stack's own warehouse database, as sluice_wh;
 * returns its id (malloc'd). */
char *it_wh_connector(struct it_client *c, const char *token);

/* A postgresql connector (ssl_mode disable) to database on host:port as
 * username; returns its id (malloc'd). */
char *it_pg_connector(struct it_client *c, const char *token, const char *host,
                      int port, const char *database, const char *username,
                      const char *password);

/* A postgres extractor node "src" reading 30000 rows through connector
 * conn, stalling for seconds after the first 20000. */
json_t *it_slow_source(const char *conn, int seconds);

/* Waits until the warehouse shows a COPY into a table being written;
 * fails the test after limit seconds. */
void it_await_loading(double limit);

/* Waits until sql, on the warehouse, answers "t"; fails the test, saying
 * what was awaited, after limit seconds. */
void it_await_wh(const char *sql, double limit, const char *what);

#endif
