/*
 * it_process.c: sluice-api's process model, as an operator meets it:
 * reload on SIGHUP without dropping requests, a killed worker replaced,
 * SIGTERM draining the request in hand, and the two other ways of being
 * started (spawn-fcgi, systemd socket activation).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clock.h"
#include "it.h"
#include "unit.h"

static pid_t
master_pid(void)
{
    char path[512];
    FILE *f;
    long pid = 0;

    snprintf(path, sizeof(path), "%s/run/api.pid", it_env("SLUICE_TEST_VAR"));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

/* The worker pids of the master, sorted, as one string. */
static char *
workers(pid_t master)
{
    char cmd[128], buf[4096];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof(cmd), "pgrep -P %ld | sort -n | tr '\\n' ' '",
             (long)master);
    p = popen(cmd, "r");
    n = fread(buf, 1, sizeof(buf) - 1, p);
    pclose(p);
    buf[n] = '\0';
    return strdup(buf);
}

static int
count_words(const char *s)
{
    int n = 0;

    for (const char *p = s; *p; p++)
        if (*p != ' ' && (p == s || p[-1] == ' '))
            n++;
    return n;
}

static void
health_ok(struct it_client *c)
{
    struct it_resp r;

    it_request(c, "GET", "/health", it_admin_header(), NULL, NULL, 0, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
}

START_TEST(sighup_replaces_every_worker_without_dropping_requests)
{
    struct it_client c;
    pid_t m = master_pid();
    char *before = workers(m), *after = NULL;
    int64_t end = sl_clock_mono_us() + 20 * 1000000;

    it_client_init(&c);
    ck_assert_int_eq(count_words(before), 4);
    ck_assert_int_eq(kill(m, SIGHUP), 0);
    /* Requests keep being answered while the generations change. */
    for (;;) {
        health_ok(&c);
        free(after);
        after = workers(m);
        if (count_words(after) == 4) {
            bool all_new = true;
            char *copy = strdup(after), *save, *tok;

            for (tok = strtok_r(copy, " ", &save); tok;
                 tok = strtok_r(NULL, " ", &save)) {
                char needle[32];

                snprintf(needle, sizeof(needle), " %s ", tok);
                {
                    char padded[4200];

                    snprintf(padded, sizeof(padded), " %s ", before);
                    if (strstr(padded, needle) != NULL)
                        all_new = false;
                }
            }
            free(copy);
            if (all_new)
                break;
        }
        ck_assert_msg(sl_clock_mono_us() < end,
                      "workers not replaced: before %s, now %s", before, after);
        usleep(50 * 1000);
    }
    ck_assert_int_eq(kill(m, 0), 0);
    free(before);
    free(after);
}
END_TEST

START_TEST(a_killed_worker_is_replaced)
{
    struct it_client c;
    pid_t m = master_pid(), victim;
    char *before = workers(m), *now = NULL;
    int64_t end = sl_clock_mono_us() + 20 * 1000000;

    it_client_init(&c);
    victim = (pid_t)atol(before);
    ck_assert_int_gt(victim, 0);
    ck_assert_int_eq(kill(victim, SIGKILL), 0);
    for (;;) {
        char needle[32];

        free(now);
        now = workers(m);
        snprintf(needle, sizeof(needle), "%ld ", (long)victim);
        if (count_words(now) == 4 && strstr(now, needle) != now)
            break;
        ck_assert_msg(sl_clock_mono_us() < end, "no replacement: %s", now);
        usleep(50 * 1000);
    }
    for (int i = 0; i < 8; i++)
        health_ok(&c);
    free(before);
    free(now);
}
END_TEST

/* Sends a login in a child process; the status arrives on the pipe. */
static pid_t
login_in_background(int *rfd, const char *user)
{
    int p[2];
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct it_client c;
        struct it_resp r;
        char status[8];

        close(p[0]);
        it_client_init(&c);
        it_call(
            &c, "POST", "/api/v1/auth/login", NULL,
            json_pack("{s:s, s:s}", "username", user, "password", IT_PASSWORD),
            &r);
        snprintf(status, sizeof(status), "%d", r.status);
        if (write(p[1], status, strlen(status)) < 0)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

START_TEST(sigterm_drains_the_request_in_hand)
{
    struct it_client c;
    char *user, *org, status[8] = "";
    pid_t m = master_pid(), child;
    PGconn *owner;
    PGresult *res;
    int rfd, waited = 0;
    int64_t end;
    ssize_t n;

    it_client_init(&c);
    free(it_new_org(&c, &user, &org));
    /* Hold the users table: a login will wait inside a worker. */
    owner = PQconnectdb(it_env("SLUICE_TEST_OWNER_DB_URL"));
    ck_assert_int_eq(PQstatus(owner), CONNECTION_OK);
    PQclear(PQexec(owner, "BEGIN"));
    res = PQexec(owner, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    child = login_in_background(&rfd, user);
    /* Wait for the event: the login blocked on our lock. */
    end = sl_clock_mono_us() + 20 * 1000000;
    for (;;) {
        char *v = it_sql("SLUICE_TEST_OWNER_DB_URL",
                         "SELECT count(*) FROM pg_locks WHERE NOT granted "
                         "AND relation = 'users'::regclass",
                         NULL, NULL, NULL, NULL, 0);

        waited = v && strcmp(v, "0") != 0;
        free(v);
        if (waited)
            break;
        ck_assert_msg(sl_clock_mono_us() < end, "the login never reached "
                                                "the database");
        usleep(20 * 1000);
    }

    ck_assert_int_eq(kill(m, SIGTERM), 0);
    /* The master waits for the worker that holds the login. */
    usleep(500 * 1000);
    ck_assert_msg(kill(m, 0) == 0, "the master exited with a request in hand");
    PQclear(PQexec(owner, "COMMIT"));
    PQfinish(owner);

    n = read(rfd, status, sizeof(status) - 1);
    ck_assert_int_gt(n, 0);
    status[n] = '\0';
    ck_assert_str_eq(status, "200");
    waitpid(child, NULL, 0);
    /* Then it stops. */
    end = sl_clock_mono_us() + 20 * 1000000;
    while (kill(m, 0) == 0) {
        ck_assert_msg(sl_clock_mono_us() < end, "the master did not stop");
        usleep(50 * 1000);
    }
    ck_assert_int_eq(
        it_sh("%s start api >/dev/null 2>&1", it_env("SLUICE_TEST_STACKCTL")),
        0);
    free(user);
    free(org);
}
END_TEST

/* Asks sluice-api on socket for /health over FastCGI, with cgi-fcgi. */
static int
fastcgi_health(const char *socket)
{
    return it_sh("env -i REQUEST_METHOD=GET REQUEST_URI=/health "
                 "cgi-fcgi -bind -connect %s 2>/dev/null | "
                 "grep -q '\"status\":\"healthy\"'",
                 socket);
}

/* Waits for socket to answer, up to seconds. */
static int
await_fastcgi(const char *socket, int seconds)
{
    int64_t end = sl_clock_mono_us() + (int64_t)seconds * 1000000;

    while (fastcgi_health(socket) != 0) {
        if (sl_clock_mono_us() > end)
            return -1;
        usleep(50 * 1000);
    }
    return 0;
}

START_TEST(started_by_spawn_fcgi)
{
    char sock[512];

    snprintf(sock, sizeof(sock), "%s/run/spawned.sock",
             it_env("SLUICE_TEST_VAR"));
    ck_assert_int_eq(it_sh("SLUICE_API_WORKERS=2 spawn-fcgi -s %s -P %s.pid "
                           "-- %s -c %s >/dev/null 2>&1",
                           sock, sock, it_env("SLUICE_TEST_API_BIN"),
                           it_env("SLUICE_TEST_CONF")),
                     0);
    ck_assert_int_eq(await_fastcgi(sock, 20), 0);
    ck_assert_int_eq(it_sh("kill -TERM $(cat %s.pid)", sock), 0);
}
END_TEST

START_TEST(started_by_socket_activation)
{
    char sock[512], bin[512];
    pid_t pid;
    int status;

    snprintf(sock, sizeof(sock), "%s/run/activated.sock",
             it_env("SLUICE_TEST_VAR"));
    snprintf(bin, sizeof(bin), "%s/tests/integration/sockact",
             it_env("abs_builddir"));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("SLUICE_API_WORKERS", "2", 1);
        execl(bin, bin, sock, it_env("SLUICE_TEST_API_BIN"), "-c",
              it_env("SLUICE_TEST_CONF"), (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(await_fastcgi(sock, 20), 0);
    /* SIGTERM: a clean exit. */
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* GET path on a sluice-api socket over FastCGI with a bearer token;
 * returns the HTTP status. */
static int
fastcgi_status(const char *socket, const char *path, const char *token)
{
    char cmd[2048], line[256];
    FILE *p;
    int status = -1;

    snprintf(cmd, sizeof(cmd),
             "env -i REQUEST_METHOD=GET REQUEST_URI=%s "
             "HTTP_AUTHORIZATION='Bearer %s' cgi-fcgi -bind -connect %s "
             "2>/dev/null",
             path, token, socket);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) != NULL)
        if (sscanf(line, "Status: %d", &status) == 1)
            break;
    while (fgets(line, sizeof(line), p) != NULL)
        ;
    pclose(p);
    return status;
}

START_TEST(a_second_host_learns_of_a_logout_over_nats)
{
    struct it_client c;
    struct it_resp r;
    char sock[512], bin[512], *user, *org, *token;
    pid_t host2;
    int64_t end;
    int status;

    it_client_init(&c);
    free(it_new_org(&c, &user, &org));
    token = it_login(&c, user, IT_PASSWORD, NULL);

    /* Another API host: its own master, its own cache, kept a minute. */
    snprintf(sock, sizeof(sock), "%s/run/host2.sock",
             it_env("SLUICE_TEST_VAR"));
    snprintf(bin, sizeof(bin), "%s/tests/integration/sockact",
             it_env("abs_builddir"));
    host2 = fork();
    ck_assert_int_ge(host2, 0);
    if (host2 == 0) {
        setenv("SLUICE_API_WORKERS", "2", 1);
        setenv("SLUICE_AUTH_CACHE_TTL_MS", "60000", 1);
        execl(bin, bin, sock, it_env("SLUICE_TEST_API_BIN"), "-c",
              it_env("SLUICE_TEST_CONF"), (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(await_fastcgi(sock, 20), 0);
    /* Host 2 checks the token (and caches the answer). */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fastcgi_status(sock, "/api/v1/auth/me", token), 200);

    /* Logout through nginx, on host 1. */
    it_call(&c, "POST", "/api/v1/auth/logout", token, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);

    /* Host 2 hears of it over NATS, long before its minute is up. */
    end = sl_clock_mono_us() + 3 * 1000000;
    while ((status = fastcgi_status(sock, "/api/v1/auth/me", token)) == 200) {
        ck_assert_msg(sl_clock_mono_us() < end,
                      "host 2 still accepts a logged-out token");
        usleep(20 * 1000);
    }
    ck_assert_int_eq(status, 401);
    kill(host2, SIGTERM);
    waitpid(host2, NULL, 0);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* --- a FastCGI client, to talk to sluice-api without nginx --------------- */

static void
fcgi_record(int fd, int type, const void *content, size_t len)
{
    unsigned char h[8] = {1,
                          (unsigned char)type,
                          0,
                          1,
                          (unsigned char)(len >> 8),
                          (unsigned char)len,
                          0,
                          0};

    ck_assert_int_eq(write(fd, h, 8), 8);
    if (len > 0)
        ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
}

static size_t
fcgi_pair(unsigned char *out, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value), k = 0;

    out[k++] = (unsigned char)n;
    out[k++] = (unsigned char)v;
    memcpy(out + k, name, n);
    memcpy(out + k + n, value, v);
    return k + n + v;
}

/* Sends one request on fd (keeping the connection) with a body of
 * body_len bytes. */
static void
fcgi_send(int fd, const char *method, const char *uri, size_t body_len)
{
    unsigned char begin[8] = {0, 1, 1 /* FCGI_KEEP_CONN */, 0, 0, 0, 0, 0};
    unsigned char params[512], chunk[16384];
    char cl[24];
    size_t n = 0;

    snprintf(cl, sizeof(cl), "%zu", body_len);
    fcgi_record(fd, 1 /* BEGIN_REQUEST */, begin, 8);
    n += fcgi_pair(params + n, "REQUEST_METHOD", method);
    n += fcgi_pair(params + n, "REQUEST_URI", uri);
    n += fcgi_pair(params + n, "CONTENT_TYPE", "application/json");
    n += fcgi_pair(params + n, "CONTENT_LENGTH", cl);
    fcgi_record(fd, 4 /* PARAMS */, params, n);
    fcgi_record(fd, 4, NULL, 0);
    memset(chunk, 'x', sizeof(chunk));
    while (body_len > 0) {
        size_t k = body_len < sizeof(chunk) ? body_len : sizeof(chunk);

        fcgi_record(fd, 5 /* STDIN */, chunk, k);
        body_len -= k;
    }
    fcgi_record(fd, 5, NULL, 0);
}

/* Reads records up to END_REQUEST; returns the HTTP status, or -1 when the
 * connection ended first. */
static int
fcgi_status(int fd)
{
    char out[65536];
    size_t len = 0;
    int status = -1;

    for (;;) {
        unsigned char h[8], body[65536 + 256];
        size_t n, got = 0;

        while (got < 8) {
            ssize_t r = read(fd, h + got, 8 - got);

            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        n = ((size_t)h[4] << 8 | h[5]) + h[6];
        got = 0;
        while (got < n) {
            ssize_t r = read(fd, body + got, n - got);

            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        if (h[1] == 6 /* STDOUT */ && len + n < sizeof(out)) {
            memcpy(out + len, body, (size_t)h[4] << 8 | h[5]);
            len += (size_t)h[4] << 8 | h[5];
        }
        if (h[1] == 3 /* END_REQUEST */)
            break;
    }
    out[len] = '\0';
    sscanf(out, "Status: %d", &status);
    return status;
}

START_TEST(an_unread_body_does_not_cost_the_connection)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
             it_env("SLUICE_TEST_API_SOCKET"));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* Refused before its body is read: 405. */
    fcgi_send(fd, "PUT", "/api/v1/users/me", 100 * 1024);
    ck_assert_int_eq(fcgi_status(fd), 405);
    /* The same connection serves the next request. */
    fcgi_send(fd, "GET", "/health", 0);
    ck_assert_int_eq(fcgi_status(fd), 200);
    fcgi_send(fd, "GET", "/nowhere", 10);
    ck_assert_int_eq(fcgi_status(fd), 404);
    fcgi_send(fd, "GET", "/health", 0);
    ck_assert_int_eq(fcgi_status(fd), 200);
    close(fd);
}
END_TEST

static Suite *
process_suite(void)
{
    Suite *s = suite_create("it_process");
    TCase *tc = tcase_create("process");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, an_unread_body_does_not_cost_the_connection);
    tcase_add_test(tc, sighup_replaces_every_worker_without_dropping_requests);
    tcase_add_test(tc, a_killed_worker_is_replaced);
    tcase_add_test(tc, started_by_spawn_fcgi);
    tcase_add_test(tc, started_by_socket_activation);
    tcase_add_test(tc, a_second_host_learns_of_a_logout_over_nats);
    tcase_add_test(tc, sigterm_drains_the_request_in_hand);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(process_suite)
