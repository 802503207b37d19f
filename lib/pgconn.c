/*
 * pgconn.c: connections to users' PostgreSQL servers within a deadline and
 * under the address policy of pgconn.h, and catalog introspection on them.
 *
 * In order: the address policy; resolution with getaddrinfo_a; the
 * connection and its report; statements with a deadline; JSON helpers;
 * the introspection functions.
 */
#include "pgconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-events.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "err.h"
#include "limits.h"
#include "resolve.h"

/*
 * A connection opened elsewhere has no statement timeout we know of: its
 * statements get this long. Every statement gets STATEMENT_GRACE_MS more
 * than the server's timeout, for the server's own cancellation to arrive.
 */
#define DEFAULT_STATEMENT_MS 30000
#define STATEMENT_GRACE_MS   2000

/*
 * What of the service's own identity libpq would offer a server by
 * default, and what it gets instead. These paths cannot exist (/dev/null
 * is no directory), so libpq reads no password file (~/.pgpass, which it
 * reads when no password is given) and presents no client certificate or
 * key (~/.postgresql/postgresql.crt and .key, or those PGSSLCERT,
 * PGSSLKEY or a service file name) to a server that asks for one.
 */
#define NO_PASSFILE "/dev/null/sluice-pgconn-no-passfile"
#define NO_SSLCERT  "/dev/null/sluice-pgconn-no-sslcert"
#define NO_SSLKEY   "/dev/null/sluice-pgconn-no-sslkey"

/*
 * A connector without a password sends none, but libpq fills a missing
 * password from the environment (PGPASSWORD, or the service file that
 * PGSERVICE names), and an empty one counts as missing. When the
 * environment would supply one, libpq is given this instead: no secret,
 * so a server that asks for a password learns nothing of the platform's.
 */
#define NO_PASSWORD "sluice-connector-has-no-password"

/* --- The address policy --------------------------------------------------- */

struct range4 {
    uint32_t net; /* host byte order */
    int bits;
};

/* IPv4 ranges that only allow_private reaches. */
static const struct range4 private4[] = {
    {0x00000000, 8},  /* 0.0.0.0/8: this network, unspecified */
    {0x0a000000, 8},  /* 10.0.0.0/8: private */
    {0x64400000, 10}, /* 100.64.0.0/10: carrier-grade NAT */
    {0x7f000000, 8},  /* 127.0.0.0/8: loopback */
    {0xa9fe0000, 16}, /* 169.254.0.0/16: link-local, cloud metadata */
    {0xac100000, 12}, /* 172.16.0.0/12: private */
    {0xc0000000, 24}, /* 192.0.0.0/24: IETF protocol assignments */
    {0xc0a80000, 16}, /* 192.168.0.0/16: private */
    {0xc6120000, 15}, /* 198.18.0.0/15: benchmarking */
    {0xe0000000, 3},  /* 224.0.0.0/3: multicast, reserved, broadcast */
};

struct range6 {
    unsigned char net[16];
    int bits;
    int v4_at; /* where an embedded IPv4 address to judge instead is, or -1 */
};

/* IPv6 ranges that only allow_private reaches, or that embed IPv4. */
static const struct range6 private6[] = {
    /* ::/96: unspecified, loopback and IPv4-compatible addresses */
    {{0}, 96, 12},
    /* ::ffff:0:0/96: IPv4-mapped */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12},
    /* 64:ff9b::/96: NAT64 of public IPv4; 64:ff9b:1::/48: local NAT64 */
    {{0, 0x64, 0xff, 0x9b}, 96, 12},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, -1},
    /* 100::/64: discard */
    {{0x01}, 64, -1},
    /* 2002::/16: 6to4, with the IPv4 address in bits 16..47 */
    {{0x20, 0x02}, 16, 2},
    /* fc00::/7 unique local, fe80::/10 link-local, fec0::/10 site-local */
    {{0xfc}, 7, -1},
    {{0xfe, 0x80}, 10, -1},
    {{0xfe, 0xc0}, 10, -1},
    /* ff00::/8: multicast */
    {{0xff}, 8, -1},
};

static bool
private_v4(uint32_t a)
{
    for (size_t i = 0; i < sizeof(private4) / sizeof(private4[0]); i++) {
        uint32_t mask = ~(uint32_t)0 << (32 - private4[i].bits);

        if ((a & mask) == private4[i].net)
            return true;
    }
    return false;
}

static bool
prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    unsigned char mask;

    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static uint32_t
read_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static bool
private_v6(const unsigned char a[16])
{
    for (size_t i = 0; i < sizeof(private6) / sizeof(private6[0]); i++) {
        const struct range6 *r = &private6[i];

        if (prefix_match(a, r->net, r->bits))
            return r->v4_at < 0 || private_v4(read_be32(a + r->v4_at));
    }
    return false;
}

bool
sl_pgconn_addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        return private_v4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        return private_v6(in6->sin6_addr.s6_addr);
    }
    return true;
}

/* --- Deadlines and resolution --------------------------------------------- */

/* Milliseconds left until deadline (monotonic microseconds), rounded up. */
static int
remaining_ms(int64_t deadline)
{
    int64_t left = deadline - sl_clock_mono_us();

    return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

/* The addresses a host resolved to, as numeric text. */
struct addrs {
    int n;
    char text[SL_PGCONN_MAX_ADDRS][SL_PGCONN_ADDR_MAX];
    char forbidden[SL_PGCONN_ADDR_MAX]; /* the first not allowed, or "" */
};

/*
 * Keeps the first SL_PGCONN_MAX_ADDRS distinct addresses of ai, and
 * records the first address of all that allow_private would be needed for.
 * Returns 0, or SL_ENOTFOUND when there is no IPv4 or IPv6 address.
 */
static int
collect_addrs(const struct addrinfo *ai, bool allow_private, struct addrs *a)
{
    char text[SL_PGCONN_ADDR_MAX];
    int seen = 0;

    a->n = 0;
    a->forbidden[0] = '\0';
    for (; ai != NULL; ai = ai->ai_next) {
        const void *bytes;
        bool dup = false;

        if (ai->ai_family == AF_INET)
            bytes = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            bytes = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        else
            continue;
        if (inet_ntop(ai->ai_family, bytes, text, sizeof(text)) == NULL)
            continue;
        seen++;
        if (!allow_private && a->forbidden[0] == '\0' &&
            sl_pgconn_addr_private(ai->ai_addr))
            memcpy(a->forbidden, text, sizeof(text));
        for (int i = 0; i < a->n && !dup; i++)
            dup = strcmp(a->text[i], text) == 0;
        if (!dup && a->n < SL_PGCONN_MAX_ADDRS)
            memcpy(a->text[a->n++], text, sizeof(text));
    }
    return seen > 0 ? SL_OK : SL_ENOTFOUND;
}

/*
 * Resolves host (at most SL_PGCONN_MAX_HOST bytes) before deadline
 * (lib/resolve.h). Returns 0 with the addresses in *a, SL_ETIMEDOUT,
 * SL_ENOMEM, or SL_ENOTFOUND with the resolver's code in *gai (0 when the
 * host has no IPv4 or IPv6 address).
 */
static int
resolve(const char *host, bool allow_private, int64_t deadline, struct addrs *a,
        int *gai)
{
    struct addrinfo *res = NULL;
    int rc = sl_resolve(host, NULL, remaining_ms(deadline), &res, gai);

    if (rc == SL_OK)
        rc = collect_addrs(res, allow_private, a);
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

/* --- The report ----------------------------------------------------------- */

/*
 * Copies src into dst (dstsz bytes), cut if need be at a character
 * boundary, so that a UTF-8 text stays UTF-8.
 */
static void
copy_text(char *dst, size_t dstsz, const char *src)
{
    size_t n = strlen(src);

    if (n >= dstsz) {
        n = dstsz - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* What each failure is called when its message cannot be shown. */
static const char *const failure_text[] = {
    [SL_PGCONN_OK] = "",
    [SL_PGCONN_FAIL_INVALID] = "invalid parameters",
    [SL_PGCONN_FAIL_RESOLVE] = "could not resolve host",
    [SL_PGCONN_FAIL_FORBIDDEN] = "address not allowed (private or loopback)",
    [SL_PGCONN_FAIL_REFUSED] = "connection refused",
    [SL_PGCONN_FAIL_TIMEOUT] = "timed out",
    [SL_PGCONN_FAIL_AUTH] = "authentication failed",
    [SL_PGCONN_FAIL_NODB] = "database does not exist",
    [SL_PGCONN_FAIL_QUERY] = "query failed",
    [SL_PGCONN_FAIL_OTHER] = "connection failed",
};

/*
 * Sets the report's failure and its message (formatted), in which every
 * occurrence of password (when not empty) is replaced by "[redacted]"
 * before the message is cut to fit.
 */
static void report_fail(struct sl_pgconn_report *rep, enum sl_pgconn_failure f,
                        const char *password, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report_fail(struct sl_pgconn_report *rep, enum sl_pgconn_failure f,
            const char *password, const char *fmt, ...)
{
    size_t pwlen = password ? strlen(password) : 0;
    char *raw = NULL;
    sl_buf clean;
    va_list ap;
    int rc = SL_OK;

    rep->failure = f;
    sl_buf_init(&clean, 64 * 1024);
    va_start(ap, fmt);
    if (vasprintf(&raw, fmt, ap) < 0)
        raw = NULL;
    va_end(ap);
    for (const char *s = raw; s != NULL && *s != '\0' && rc == SL_OK;) {
        if (pwlen > 0 && strncmp(s, password, pwlen) == 0) {
            rc = sl_buf_puts(&clean, "[redacted]");
            s += pwlen;
        } else {
            rc = sl_buf_append(&clean, s++, 1);
        }
    }
    /* A message that could not be redacted whole is not shown. */
    copy_text(rep->error, sizeof(rep->error),
              rc == SL_OK && clean.data != NULL ? clean.data : failure_text[f]);
    free(raw);
    sl_buf_free(&clean);
}

/*
 * Finds the last SQLSTATE in a libpq message written with
 * PQERRORS_VERBOSE ("...: FATAL:  28P01: password authentication
 * failed..."). Returns a pointer to its five characters, or NULL.
 */
static const char *
find_sqlstate(const char *msg)
{
    const char *found = NULL;

    for (const char *s = strstr(msg, ":  "); s != NULL;
         s = strstr(s + 1, ":  ")) {
        const char *c = s + 3;

        if (strspn(c, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 5 &&
            c[5] == ':' && c[6] == ' ')
            found = c;
    }
    return found;
}

/*
 * Writes libpq's verbose message as one line into out: LOCATION lines and
 * SQLSTATE codes dropped, runs of blanks and line ends made one space.
 */
static void
clean_message(const char *msg, sl_buf *out)
{
    const char *s = msg;
    bool space = false;

    while (*s != '\0') {
        size_t line = strcspn(s, "\n");
        const char *end = s + line;

        while (*s == ' ' || *s == '\t')
            s++;
        if (strncmp(s, "LOCATION:", 9) == 0) {
            s = *end ? end + 1 : end;
            continue;
        }
        for (; s < end; s++) {
            if (s[0] == ':' && s[1] == ' ' && s[2] == ' ' &&
                strspn(s + 3, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 5 &&
                s[8] == ':' && s[9] == ' ')
                s += 8; /* keep the ':', skip "  XXXXX:" */
            if (*s == ' ' || *s == '\t') {
                space = out->len > 0;
                continue;
            }
            if (space)
                sl_buf_append(out, " ", 1);
            space = false;
            sl_buf_append(out, s, 1);
        }
        space = out->len > 0;
        s = *end ? end + 1 : end;
    }
}

/* Fills in the stages that libpq's connection state shows were reached. */
static void
note_stage(PGconn *c, struct sl_pgconn_report *rep)
{
    switch (PQstatus(c)) {
    case CONNECTION_OK:
    case CONNECTION_AUTH_OK:
    case CONNECTION_SETENV:
    case CONNECTION_CHECK_WRITABLE:
    case CONNECTION_CONSUME:
    case CONNECTION_CHECK_TARGET:
    case CONNECTION_CHECK_STANDBY:
        rep->authentication_successful = true;
        rep->connection_established = true;
        break;
    case CONNECTION_MADE:
    case CONNECTION_AWAITING_RESPONSE:
    case CONNECTION_SSL_STARTUP:
    case CONNECTION_GSS_STARTUP:
        rep->connection_established = true;
        break;
    default:
        break;
    }
}

/*
 * Classifies a failed connection from libpq's message (written with
 * PQERRORS_VERBOSE, so that it carries the server's SQLSTATE). Returns the
 * code for sl_pgconn_open() and fills in the report.
 */
static int
classify_failure(PGconn *c, const struct sl_pgconn_params *p,
                 struct sl_pgconn_report *rep)
{
    const char *msg = PQerrorMessage(c);
    const char *state = find_sqlstate(msg);
    sl_buf clean;
    int rc = SL_EDBCONN;

    sl_buf_init(&clean, 64 * 1024);
    if (state != NULL) {
        /* The server's message: from after "XXXXX: " to the line end. */
        const char *primary = state + 7;
        int plen = (int)strcspn(primary, "\n");

        rep->connection_established = true;
        memcpy(rep->sqlstate, state, 5);
        rep->sqlstate[5] = '\0';
        if (strcmp(rep->sqlstate, "28P01") == 0 ||
            strcmp(rep->sqlstate, "28000") == 0) {
            report_fail(rep, SL_PGCONN_FAIL_AUTH, p->password,
                        "authentication failed: %.*s", plen, primary);
            rc = SL_EAUTH;
        } else if (strcmp(rep->sqlstate, "3D000") == 0) {
            /* PostgreSQL looks the database up after authenticating. */
            rep->authentication_successful = true;
            report_fail(rep, SL_PGCONN_FAIL_NODB, p->password,
                        "database does not exist: %.*s", plen, primary);
            rc = SL_ENOTFOUND;
        }
    } else if (strstr(msg, "Connection refused") != NULL) {
        report_fail(rep, SL_PGCONN_FAIL_REFUSED, p->password,
                    "connection refused by %s port %s", rep->address,
                    p->port ? p->port : "5432");
    }
    if (rep->failure == SL_PGCONN_OK) {
        clean_message(msg, &clean);
        report_fail(rep, SL_PGCONN_FAIL_OTHER, p->password, "%s",
                    clean.len > 0 ? clean.data : "connection failed");
    }
    sl_buf_free(&clean);
    return rc;
}

/* --- Opening -------------------------------------------------------------- */

static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};

/* A DNS name or IP literal; a socket directory may also hold '/'. */
static bool
valid_host(const char *h)
{
    size_t n = strnlen(h, SL_PGCONN_MAX_HOST + 1);
    const char *ok = h[0] == '/' ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789._-/"
                                 : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789._-:%";

    return n > 0 && n <= SL_PGCONN_MAX_HOST && strspn(h, ok) == n;
}

static bool
valid_port(const char *s)
{
    size_t n = strspn(s, "0123456789");
    long v;

    if (n == 0 || n > 5 || s[n] != '\0')
        return false;
    v = strtol(s, NULL, 10);
    return v >= 1 && v <= 65535;
}

static bool
valid_text(const char *s, bool required)
{
    size_t n = s ? strnlen(s, SL_PGCONN_MAX_PARAM + 1) : 0;

    return n <= SL_PGCONN_MAX_PARAM && (n > 0 || !required);
}

/* Appends one keyword and value to libpq's NULL-terminated lists. */
static void
add_param(const char **keys, const char **vals, int *n, const char *key,
          const char *val)
{
    keys[*n] = key;
    vals[*n] = val;
    (*n)++;
    keys[*n] = NULL;
    vals[*n] = NULL;
}

/* Returns NULL when p and o are acceptable, else what is wrong. */
static const char *
check_params(const struct sl_pgconn_params *p, const struct sl_pgconn_opts *o)
{
    bool mode_ok = p->sslmode == NULL;

    if (o->timeout_ms < 1 || o->timeout_ms > SL_PGCONN_TIMEOUT_CEIL_MS ||
        o->statement_timeout_ms < 0 ||
        o->statement_timeout_ms > SL_PGCONN_TIMEOUT_CEIL_MS)
        return "timeout out of range";
    if (p->host == NULL || !valid_host(p->host))
        return "host";
    if (p->port != NULL && !valid_port(p->port))
        return "port";
    if (!valid_text(p->user, true))
        return "user";
    if (!valid_text(p->dbname, false))
        return "database name";
    if (!valid_text(p->password, false))
        return "password";
    for (size_t i = 0; !mode_ok && i < sizeof(sslmodes) / sizeof(*sslmodes);
         i++)
        mode_ok = strcmp(p->sslmode, sslmodes[i]) == 0;
    return mode_ok ? NULL : "sslmode";
}

/*
 * Whether libpq would take a password from the environment (PGPASSWORD,
 * or a service file named by PGSERVICE) for a connection that gives none.
 * When it cannot tell (out of memory, a broken service file), it assumes
 * so.
 */
static bool
env_supplies_password(void)
{
    PQconninfoOption *defaults = PQconndefaults();
    bool found = defaults == NULL;

    for (PQconninfoOption *o = defaults; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
            o->val[0] != '\0')
            found = true;
    PQconninfoFree(defaults);
    return found;
}

/* What sl_pgconn_open() leaves on a connection: its statement timeout. */
struct conn_info {
    int statement_ms;
};

static int
conn_event(PGEventId id, void *info, void *pass)
{
    if (id == PGEVT_CONNDESTROY) {
        const PGEventConnDestroy *e = info;

        free(PQinstanceData(e->conn, conn_event));
    }
    return 1;
}

/* Remembers statement_ms on c; without it, the default applies. */
static void
attach_info(PGconn *c, int statement_ms)
{
    struct conn_info *ci = malloc(sizeof(*ci));

    if (ci == NULL)
        return;
    ci->statement_ms = statement_ms;
    if (!PQregisterEventProc(c, conn_event, "sluice-pgconn", NULL) ||
        !PQsetInstanceData(c, conn_event, ci))
        free(ci);
}

/*
 * Drives PQconnectPoll() until the connection is made or fails, never
 * waiting past deadline. Returns 0, SL_EDBCONN (libpq's message says why),
 * SL_ETIMEDOUT or SL_EIO.
 */
static int
drive_connect(PGconn *c, int64_t deadline, struct sl_pgconn_report *rep)
{
    /* Before the first poll, libpq wants the socket writable. */
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    for (;;) {
        struct pollfd pfd;
        int ms, n;

        note_stage(c, rep);
        if (st == PGRES_POLLING_OK)
            return SL_OK;
        if (st == PGRES_POLLING_FAILED || PQstatus(c) == CONNECTION_BAD)
            return SL_EDBCONN;
        if ((ms = remaining_ms(deadline)) == 0)
            return SL_ETIMEDOUT;
        /* The socket changes when libpq moves on to the next address. */
        pfd.fd = PQsocket(c);
        pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        pfd.revents = 0;
        if (pfd.fd < 0)
            return SL_EDBCONN;
        n = poll(&pfd, 1, ms);
        if (n < 0 && errno != EINTR)
            return SL_EIO;
        if (n > 0)
            st = PQconnectPoll(c);
    }
}

/*
 * sl_pgconn_open() against a deadline fixed by the caller, which may go on
 * to use the rest of it. start is when the attempt began.
 */
static int
open_until(const struct sl_pgconn_params *p, const struct sl_pgconn_opts *o,
           int64_t start, int64_t deadline, PGconn **out,
           struct sl_pgconn_report *rep)
{
    /* Each list holds a value per address: "name,name" and "a1,a2". */
    char hosts[SL_PGCONN_MAX_ADDRS * (SL_PGCONN_MAX_HOST + 1)];
    char hostaddrs[SL_PGCONN_MAX_ADDRS * SL_PGCONN_ADDR_MAX];
    char options[64], connect_timeout[16];
    const char *keys[20], *vals[20];
    const char *why;
    struct addrs a;
    PGconn *c = NULL;
    int n = 0, gai = 0, statement_ms, rc;

    *out = NULL;
    if ((why = check_params(p, o)) != NULL) {
        report_fail(rep, SL_PGCONN_FAIL_INVALID, NULL, "invalid parameter: %s",
                    why);
        return SL_EINVAL;
    }
    hostaddrs[0] = '\0';
    if (p->host[0] == '/') {
        /* A unix-domain socket: nothing to resolve, and always local. */
        copy_text(rep->address, sizeof(rep->address), "unix-domain socket");
        if (!o->allow_private) {
            report_fail(rep, SL_PGCONN_FAIL_FORBIDDEN, p->password,
                        "address not allowed (private or loopback): "
                        "unix-domain socket");
            return SL_EPERM;
        }
        rep->resolved = true;
        snprintf(hosts, sizeof(hosts), "%s", p->host);
    } else {
        rc = resolve(p->host, o->allow_private, deadline, &a, &gai);
        if (rc == SL_ETIMEDOUT) {
            report_fail(rep, SL_PGCONN_FAIL_TIMEOUT, p->password,
                        "timed out after %d ms (resolving the host)",
                        o->timeout_ms);
            return rc;
        }
        if (rc == SL_ENOMEM) {
            report_fail(rep, SL_PGCONN_FAIL_OTHER, NULL, "out of memory");
            return rc;
        }
        if (rc != SL_OK) {
            report_fail(rep, SL_PGCONN_FAIL_RESOLVE, p->password,
                        "could not resolve host: %s",
                        gai ? gai_strerror(gai) : "it has no IP address");
            return SL_ENOTFOUND;
        }
        rep->resolved = true;
        if (a.forbidden[0] != '\0') {
            copy_text(rep->address, sizeof(rep->address), a.forbidden);
            report_fail(rep, SL_PGCONN_FAIL_FORBIDDEN, p->password,
                        "address not allowed (private or loopback): %s",
                        a.forbidden);
            return SL_EPERM;
        }
        copy_text(rep->address, sizeof(rep->address), a.text[0]);
        hosts[0] = '\0';
        for (int i = 0; i < a.n; i++) {
            size_t hl = strlen(hosts), al = strlen(hostaddrs);

            snprintf(hosts + hl, sizeof(hosts) - hl, "%s%s", i ? "," : "",
                     p->host);
            snprintf(hostaddrs + al, sizeof(hostaddrs) - al, "%s%s",
                     i ? "," : "", a.text[i]);
        }
    }

    statement_ms =
        o->statement_timeout_ms ? o->statement_timeout_ms : o->timeout_ms;
    snprintf(options, sizeof(options), "-c statement_timeout=%d", statement_ms);
    /* libpq ignores connect_timeout under PQconnectPoll(); it is set for
     * what it tells the server's logs, and never less than libpq's 2 s. */
    snprintf(connect_timeout, sizeof(connect_timeout), "%d",
             remaining_ms(deadline) / 1000 + 2);
    add_param(keys, vals, &n, "host", hosts);
    if (hostaddrs[0] != '\0')
        add_param(keys, vals, &n, "hostaddr", hostaddrs);
    add_param(keys, vals, &n, "port", p->port ? p->port : "5432");
    add_param(keys, vals, &n, "dbname", p->dbname ? p->dbname : p->user);
    add_param(keys, vals, &n, "user", p->user);
    if (p->password != NULL && p->password[0] != '\0')
        add_param(keys, vals, &n, "password", p->password);
    else if (env_supplies_password())
        add_param(keys, vals, &n, "password", NO_PASSWORD);
    add_param(keys, vals, &n, "passfile", NO_PASSFILE);
    add_param(keys, vals, &n, "sslmode", p->sslmode ? p->sslmode : "prefer");
    add_param(keys, vals, &n, "sslcert", NO_SSLCERT);
    add_param(keys, vals, &n, "sslkey", NO_SSLKEY);
    add_param(keys, vals, &n, "gssencmode", "disable");
    add_param(keys, vals, &n, "connect_timeout", connect_timeout);
    add_param(keys, vals, &n, "application_name", SL_PGCONN_APP_NAME);
    add_param(keys, vals, &n, "client_encoding", "UTF8");
    add_param(keys, vals, &n, "options", options);

    /* expand_dbname 0: a database name is only ever a database name. */
    c = PQconnectStartParams(keys, vals, 0);
    if (c == NULL) {
        report_fail(rep, SL_PGCONN_FAIL_OTHER, NULL, "out of memory");
        return SL_ENOMEM;
    }
    /* Verbose messages carry the server's SQLSTATE, to classify by. */
    PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
    rc = drive_connect(c, deadline, rep);
    if (PQhostaddr(c) != NULL && PQhostaddr(c)[0] != '\0')
        copy_text(rep->address, sizeof(rep->address), PQhostaddr(c));
    if (rc == SL_ETIMEDOUT) {
        report_fail(rep, SL_PGCONN_FAIL_TIMEOUT, p->password,
                    "timed out after %d ms", o->timeout_ms);
    } else if (rc == SL_EIO) {
        report_fail(rep, SL_PGCONN_FAIL_OTHER, NULL, "poll failed");
        rc = SL_EDBCONN;
    } else if (rc != SL_OK) {
        rc = classify_failure(c, p, rep);
    }
    rep->latency_ms = (double)(sl_clock_mono_us() - start) / 1000.0;
    if (rc != SL_OK) {
        PQfinish(c);
        return rc;
    }
    PQsetErrorVerbosity(c, PQERRORS_DEFAULT);
    attach_info(c, statement_ms);
    snprintf(rep->server_version, sizeof(rep->server_version), "PostgreSQL %s",
             PQparameterStatus(c, "server_version")
                 ? PQparameterStatus(c, "server_version")
                 : "(unknown version)");
    *out = c;
    return SL_OK;
}

int
sl_pgconn_open(const struct sl_pgconn_params *p, const struct sl_pgconn_opts *o,
               PGconn **out, struct sl_pgconn_report *rep)
{
    int64_t start = sl_clock_mono_us();

    memset(rep, 0, sizeof(*rep));
    /* open_until() checks the timeout before it uses the deadline. */
    return open_until(p, o, start, start + (int64_t)o->timeout_ms * 1000, out,
                      rep);
}

/* --- Statements with a deadline ------------------------------------------- */

static bool
result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Maps a failed result to a code; copies its SQLSTATE into state. */
static int
result_code(PGconn *c, const PGresult *r, char state[6])
{
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

    snprintf(state, 6, "%s", s ? s : "");
    if (PQstatus(c) == CONNECTION_BAD)
        return SL_EDBCONN;
    if (s == NULL)
        return SL_EDB;
    if (strcmp(s, "57014") == 0)
        return SL_ETIMEDOUT;
    if (strcmp(s, "42501") == 0)
        return SL_EPERM;
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0)
        return SL_EDBCONN;
    return SL_EDB;
}

/* Waits until c's socket is ready for events. Returns 0 or a code. */
static int
wait_socket(PGconn *c, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = PQsocket(c), .events = events};
        int ms = remaining_ms(deadline), n;

        if (pfd.fd < 0)
            return SL_EDBCONN;
        if (ms == 0)
            return SL_ETIMEDOUT;
        n = poll(&pfd, 1, ms);
        if (n > 0)
            return SL_OK;
        if (n < 0 && errno != EINTR)
            return SL_EIO;
    }
}

/*
 * The rows of one statement, gathered one at a time (single-row mode)
 * into one result, within SL_PGCONN_MAX_RESULT_ROWS and _BYTES.
 */
struct rows {
    PGresult *res; /* PGRES_TUPLES_OK; NULL until the first row */
    long n;
    size_t bytes; /* each value's length, plus one per value */
};

/*
 * Adds the one row of r (PGRES_SINGLE_TUPLE) to rows. Returns 0,
 * SL_ETOOBIG when the row would pass a bound, or SL_ENOMEM.
 */
static int
rows_add(PGconn *c, struct rows *rows, const PGresult *r)
{
    int nf = PQnfields(r);
    size_t bytes = 0;

    for (int i = 0; i < nf; i++)
        bytes += (size_t)PQgetlength(r, 0, i) + 1;
    if (rows->n + 1 > SL_PGCONN_MAX_RESULT_ROWS ||
        bytes > SL_PGCONN_MAX_RESULT_BYTES - rows->bytes)
        return SL_ETOOBIG;
    if (rows->res == NULL) {
        /* The columns, as the row describes them (PQsetResultAttrs copies). */
        PGresAttDesc *attrs = calloc(nf > 0 ? (size_t)nf : 1, sizeof(*attrs));
        bool made;

        for (int i = 0; attrs != NULL && i < nf; i++)
            attrs[i] = (PGresAttDesc){
                .name = PQfname(r, i),
                .tableid = PQftable(r, i),
                .columnid = PQftablecol(r, i),
                .format = PQfformat(r, i),
                .typid = PQftype(r, i),
                .typlen = PQfsize(r, i),
                .atttypmod = PQfmod(r, i),
            };
        rows->res = attrs ? PQmakeEmptyPGresult(c, PGRES_TUPLES_OK) : NULL;
        made = rows->res != NULL && PQsetResultAttrs(rows->res, nf, attrs);
        free(attrs);
        if (!made)
            return SL_ENOMEM;
    }
    for (int i = 0; i < nf; i++) {
        bool null = PQgetisnull(r, 0, i);

        if (!PQsetvalue(rows->res, (int)rows->n, i,
                        null ? NULL : PQgetvalue(r, 0, i),
                        null ? -1 : PQgetlength(r, 0, i)))
            return SL_ENOMEM;
    }
    rows->n++;
    rows->bytes += bytes;
    return SL_OK;
}

/*
 * Runs one statement with text parameters, not waiting for it past
 * deadline. Returns 0 and its result in *out (the caller clears it), or,
 * with *out NULL: the failed statement's code by result_code(), with its
 * SQLSTATE in state; SL_EDBCONN; SL_ETIMEDOUT (state "") when the server
 * did not answer in time; SL_ETOOBIG when it answered more than
 * SL_PGCONN_MAX_RESULT_ROWS rows or SL_PGCONN_MAX_RESULT_BYTES bytes,
 * whatever the statement's LIMIT said (rows are read one at a time, so
 * that no more than the bounds is ever held). A connection left waiting
 * for an answer (a timeout, a failed poll, an answer past the bounds, a
 * server that starts a COPY) is shut down, so that no later call waits on
 * it or reads the late answer as its own.
 */
static int
run_until(PGconn *c, int64_t deadline, const char *sql, int nparams,
          const char *const *params, PGresult **out, char state[6])
{
    PGresult *res = NULL, *r;
    struct rows rows = {0};
    int was_nonblocking = PQisnonblocking(c), rc = SL_OK, f;
    bool abandon = false;

    *out = NULL;
    state[0] = '\0';
    if (PQstatus(c) != CONNECTION_OK || PQsetnonblocking(c, 1) != 0)
        return SL_EDBCONN;
    if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(c)) {
        rc = SL_EDBCONN;
        abandon = true;
        goto out;
    }
    while ((f = PQflush(c)) == 1) {
        if ((rc = wait_socket(c, POLLIN | POLLOUT, deadline)) != SL_OK) {
            abandon = true;
            goto out;
        }
        if (!PQconsumeInput(c)) {
            rc = SL_EDBCONN;
            goto out;
        }
    }
    if (f < 0) {
        rc = SL_EDBCONN;
        goto out;
    }
    /* PQgetResult() blocks while libpq is busy: call it only when not. */
    for (;;) {
        while (PQisBusy(c)) {
            if ((rc = wait_socket(c, POLLIN, deadline)) != SL_OK) {
                abandon = true;
                goto out;
            }
            if (!PQconsumeInput(c)) {
                rc = SL_EDBCONN;
                goto out;
            }
        }
        if ((r = PQgetResult(c)) == NULL)
            break;
        switch (PQresultStatus(r)) {
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            /* Our statements never COPY; libpq would return such forever. */
            PQclear(r);
            rc = SL_EDBCONN;
            abandon = true;
            goto out;
        case PGRES_SINGLE_TUPLE:
            rc = rows_add(c, &rows, r);
            PQclear(r);
            if (rc != SL_OK) {
                abandon = true;
                goto out;
            }
            break;
        case PGRES_TUPLES_OK:
            /* The end of the rows: they are the result, if there were. */
            if (rows.res != NULL) {
                PQclear(r);
                r = rows.res;
                rows.res = NULL;
            }
            /* fall through */
        default:
            /* Keep the first result, or the first failure after it. */
            if (res == NULL || (result_ok(res) && !result_ok(r))) {
                PQclear(res);
                res = r;
            } else {
                PQclear(r);
            }
            break;
        }
        if (remaining_ms(deadline) == 0) {
            rc = SL_ETIMEDOUT;
            abandon = true;
            goto out;
        }
    }
    if (res == NULL)
        rc = SL_EDBCONN;
    else if (!result_ok(res))
        rc = result_code(c, res, state);
out:
    if (rc == SL_OK) {
        *out = res;
        res = NULL;
    }
    PQclear(res);
    PQclear(rows.res);
    if (abandon && PQsocket(c) >= 0)
        shutdown(PQsocket(c), SHUT_RDWR);
    else if (!was_nonblocking)
        PQsetnonblocking(c, 0);
    return rc;
}

/* The statement timeout sl_pgconn_open() set on c, plus the grace. */
static int64_t
statement_deadline(PGconn *c)
{
    const struct conn_info *ci = PQinstanceData(c, conn_event);
    int ms = ci ? ci->statement_ms : DEFAULT_STATEMENT_MS;

    return sl_clock_mono_us() + (int64_t)(ms + STATEMENT_GRACE_MS) * 1000;
}

/* run_until() with the statement deadline, for introspection. */
static int
run(PGconn *c, const char *sql, int nparams, const char *const *params,
    PGresult **out)
{
    char state[6];

    return run_until(c, statement_deadline(c), sql, nparams, params, out,
                     state);
}

int
sl_pgconn_exec(PGconn *c, const char *sql, int nparams,
               const char *const *params, PGresult **out)
{
    if (c == NULL || sql == NULL || out == NULL)
        return SL_EINVAL;
    return run(c, sql, nparams, params, out);
}

/* --- JSON helpers --------------------------------------------------------- */

/*
 * A JSON string of s, or null for NULL. Text that is not UTF-8 (from a
 * SQL_ASCII database, say) keeps its ASCII and gets '?' for other bytes.
 */
static json_t *
jtext(const char *s)
{
    json_t *j;
    char *copy;

    if (s == NULL)
        return json_null();
    if ((j = json_string(s)) != NULL || (copy = strdup(s)) == NULL)
        return j;
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* A JSON integer of decimal text s, or null (NULL, or not an integer). */
static json_t *
jint(const char *s)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return json_null();
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return json_null();
    return json_integer(v);
}

/* A JSON boolean of PostgreSQL's "t"/"f". */
static json_t *
jbool(const char *s)
{
    return json_boolean(s != NULL && s[0] == 't');
}

/* Sets o[k] to v (taken). False when v is NULL or out of memory. */
static bool
set(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

/* Appends v (taken) to a. False when v is NULL or out of memory. */
static bool
push(json_t *a, json_t *v)
{
    return json_array_append_new(a, v) == 0;
}

/* --- Introspection -------------------------------------------------------- */

/* Relation kinds shown, and their names. */
static const struct {
    char kind;
    const char *name;
} relkinds[] = {
    {'r', "table"},         {'p', "partitioned_table"},
    {'v', "view"},          {'m', "materialized_view"},
    {'f', "foreign_table"},
};

static const char *
relkind_name(const char *k)
{
    for (size_t i = 0; i < sizeof(relkinds) / sizeof(relkinds[0]); i++)
        if (k != NULL && k[0] == relkinds[i].kind)
            return relkinds[i].name;
    return "other";
}

/* The schemas of sl_pgconn_test() and the tree; $1 is the limit. */
static const char schemas_sql[] =
    "SELECT n.nspname FROM pg_catalog.pg_namespace n"
    " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
    " AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
    " ORDER BY n.nspname LIMIT $1";

/*
 * Lists schemas into a new array (*out). Returns 0 or a code; *truncated
 * says whether there were more than SL_PGCONN_MAX_SCHEMAS.
 */
static int
list_schemas(PGconn *c, int64_t deadline, json_t **out, bool *truncated)
{
    char limit[16], state[6];
    const char *params[1] = {limit};
    PGresult *r = NULL;
    json_t *a;
    int rc, n;

    *out = NULL;
    snprintf(limit, sizeof(limit), "%d", SL_PGCONN_MAX_SCHEMAS + 1);
    rc = run_until(c, deadline, schemas_sql, 1, params, &r, state);
    if (rc != SL_OK)
        return rc;
    n = PQntuples(r);
    *truncated = n > SL_PGCONN_MAX_SCHEMAS;
    if ((a = json_array()) == NULL)
        rc = SL_ENOMEM;
    for (int i = 0; rc == SL_OK && i < n && i < SL_PGCONN_MAX_SCHEMAS; i++)
        if (!push(a, jtext(sl_db_value(r, i, 0))))
            rc = SL_ENOMEM;
    PQclear(r);
    if (rc != SL_OK) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return SL_OK;
}

/* A relation found in the catalog; the strings live in res. */
struct relation {
    PGresult *res;
    const char *oid, *schema, *name, *kind;
};

static const char find_in_schema_sql[] =
    "SELECT c.oid, n.nspname, c.relname, c.relkind"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = $1 AND c.relname = $2"
    " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')";

static const char find_in_path_sql[] =
    "SELECT c.oid, n.nspname, c.relname, c.relkind"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " AND n.nspname = ANY (pg_catalog.current_schemas(false))"
    " ORDER BY pg_catalog.array_position("
    "pg_catalog.current_schemas(false), n.nspname)"
    " LIMIT 1";

/*
 * Looks up schema.table as pgconn.h describes. Returns 0 with *rel filled
 * (the caller clears rel->res), SL_EINVAL, SL_ENOTFOUND, or a code of
 * run().
 */
static int
find_relation(PGconn *c, const char *schema, const char *table,
              struct relation *rel)
{
    char split[SL_PGCONN_MAX_PARAM + 1];
    const char *params[2];
    const char *dot;
    int rc;

    memset(rel, 0, sizeof(*rel));
    if (!valid_text(table, true) || !valid_text(schema, false))
        return SL_EINVAL;
    if (schema == NULL && (dot = strchr(table, '.')) != NULL) {
        snprintf(split, sizeof(split), "%s", table);
        split[dot - table] = '\0';
        schema = split;
        table = split + (dot - table) + 1;
        if (schema[0] == '\0' || table[0] == '\0')
            return SL_EINVAL;
    }
    if (schema != NULL) {
        params[0] = schema;
        params[1] = table;
        rc = run(c, find_in_schema_sql, 2, params, &rel->res);
    } else {
        params[0] = table;
        rc = run(c, find_in_path_sql, 1, params, &rel->res);
    }
    if (rc != SL_OK)
        return rc;
    if (PQntuples(rel->res) != 1 || PQnfields(rel->res) != 4) {
        PQclear(rel->res);
        rel->res = NULL;
        return SL_ENOTFOUND;
    }
    rel->oid = PQgetvalue(rel->res, 0, 0);
    rel->schema = PQgetvalue(rel->res, 0, 1);
    rel->name = PQgetvalue(rel->res, 0, 2);
    rel->kind = PQgetvalue(rel->res, 0, 3);
    return SL_OK;
}

/*
 * Writes "schema"."table", each quoted by PQescapeIdentifier(), into b.
 * Only for names the catalog returned. Returns 0, SL_ENOMEM or SL_ETOOBIG.
 */
static int
put_qualified_name(PGconn *c, const struct relation *rel, sl_buf *b)
{
    char *s = PQescapeIdentifier(c, rel->schema, strlen(rel->schema));
    char *t = PQescapeIdentifier(c, rel->name, strlen(rel->name));
    int rc = s && t ? sl_buf_printf(b, "%s.%s", s, t) : SL_ENOMEM;

    PQfreemem(s);
    PQfreemem(t);
    return rc;
}

/* The n of varchar(n) and char(n) columns; NULL for other types. */
#define MAX_LENGTH_SQL                                                         \
    "CASE WHEN a.atttypid IN ('pg_catalog.bpchar'::pg_catalog.regtype,"        \
    " 'pg_catalog.varchar'::pg_catalog.regtype) AND a.atttypmod > 4"           \
    " THEN a.atttypmod - 4 END"

static const char tree_relations_sql[] =
    "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relnatts"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition"
    " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
    " AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
    " AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT')"
    " ORDER BY n.nspname, c.relname LIMIT $1";

static const char tree_columns_sql[] =
    "SELECT t.ord, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
    " NOT a.attnotnull, " MAX_LENGTH_SQL
    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) WITH ORDINALITY"
    " AS t(oid, ord)"
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid"
    " WHERE a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY t.ord, a.attnum";

/* A column object of the tree from row i of r (name, type, null, len). */
static json_t *
tree_column(const PGresult *r, int i)
{
    json_t *col = json_object();
    const char *len = sl_db_value(r, i, 4);

    if (col == NULL || !set(col, "name", jtext(sl_db_value(r, i, 1))) ||
        !set(col, "type", jtext(sl_db_value(r, i, 2))) ||
        !set(col, "nullable", jbool(sl_db_value(r, i, 3))) ||
        (len != NULL && !set(col, "max_length", jint(len)))) {
        json_decref(col);
        return NULL;
    }
    return col;
}

int
sl_pgconn_schema_tree(PGconn *c, int max_tables, json_t **out)
{
    char limit[16];
    const char *params[1];
    PGresult *rels = NULL, *cols = NULL;
    json_t *tree = NULL, *schemas = NULL, *by_name = NULL, *tables;
    sl_buf oids;
    bool truncated = false;
    long columns = 0;
    int rc, n, kept = 0;

    *out = NULL;
    sl_buf_init(&oids, 16 * (SL_PGCONN_MAX_TABLES_CEIL + 1));
    if (max_tables < 1 || max_tables > SL_PGCONN_MAX_TABLES_CEIL)
        return SL_EINVAL;
    rc = list_schemas(c, statement_deadline(c), &schemas, &truncated);
    if (rc != SL_OK)
        goto out;
    snprintf(limit, sizeof(limit), "%d", max_tables + 1);
    params[0] = limit;
    if ((rc = run(c, tree_relations_sql, 1, params, &rels)) != SL_OK)
        goto out;
    n = PQntuples(rels);
    if (n > max_tables) {
        truncated = true;
        n = max_tables;
    }
    /* Keep tables while their columns fit; relnatts counts high. */
    rc = sl_buf_puts(&oids, "{");
    for (; rc == SL_OK && kept < n; kept++) {
        const char *natts = sl_db_value(rels, kept, 4);

        columns += natts ? strtol(natts, NULL, 10) : 0;
        if (columns > SL_PGCONN_MAX_TREE_COLUMNS) {
            truncated = true;
            break;
        }
        rc = sl_buf_printf(&oids, "%s%s", kept ? "," : "",
                           PQgetvalue(rels, kept, 0));
    }
    if (rc == SL_OK)
        rc = sl_buf_puts(&oids, "}");
    if (rc != SL_OK)
        goto out;
    params[0] = oids.data;
    if ((rc = run(c, tree_columns_sql, 1, params, &cols)) != SL_OK)
        goto out;

    rc = SL_ENOMEM;
    tree = json_object();
    by_name = json_object();
    if (tree == NULL || by_name == NULL || !set(tree, "schemas", json_array()))
        goto out;
    tables = json_object_get(tree, "schemas");
    /* A schema object each, and their places in "schemas" by name. */
    for (size_t i = 0; i < json_array_size(schemas); i++) {
        const char *name = json_string_value(json_array_get(schemas, i));
        json_t *s = json_object();

        if (!push(tables, s) || !set(s, "name", json_string(name)) ||
            !set(s, "tables", json_array()) ||
            json_object_set_new_nocheck(by_name, name,
                                        json_integer((json_int_t)i)) != 0)
            goto out;
    }
    /* Tables in order, each with its columns (rows ordered by table). */
    for (int i = 0, row = 0; i < kept; i++) {
        json_t *schema = jtext(PQgetvalue(rels, i, 1));
        json_t *at = json_object_get(by_name, json_string_value(schema));
        json_t *list = NULL, *t, *tc;
        int first = row;

        json_decref(schema);
        while (row < PQntuples(cols) &&
               strtol(PQgetvalue(cols, row, 0), NULL, 10) == i + 1)
            row++;
        if (at != NULL)
            list = json_object_get(
                json_array_get(tables, (size_t)json_integer_value(at)),
                "tables");
        /* A schema past SL_PGCONN_MAX_SCHEMAS has no list to join. */
        if (list == NULL) {
            truncated = true;
            continue;
        }
        t = json_object();
        if (!push(list, t) || !set(t, "name", jtext(PQgetvalue(rels, i, 2))) ||
            !set(t, "type", jtext(relkind_name(PQgetvalue(rels, i, 3)))) ||
            !set(t, "columns", json_array()))
            goto out;
        tc = json_object_get(t, "columns");
        for (int k = first; k < row; k++)
            if (!push(tc, tree_column(cols, k)))
                goto out;
    }
    if (!set(tree, "truncated", json_boolean(truncated)))
        goto out;
    *out = tree;
    tree = NULL;
    rc = SL_OK;
out:
    json_decref(tree);
    json_decref(by_name);
    json_decref(schemas);
    PQclear(rels);
    PQclear(cols);
    sl_buf_free(&oids);
    return rc;
}

static const char table_columns_sql[] =
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
    " NOT a.attnotnull, COALESCE(a.attnum = ANY (i.indkey), "
    "false), " MAX_LENGTH_SQL ","
    " CASE WHEN a.attgenerated = ''"
    " THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END"
    " FROM pg_catalog.pg_attribute a"
    " LEFT JOIN pg_catalog.pg_attrdef d"
    " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " LEFT JOIN pg_catalog.pg_index i"
    " ON i.indrelid = a.attrelid AND i.indisprimary"
    " WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0"
    " AND NOT a.attisdropped ORDER BY a.attnum";

static const char table_size_sql[] =
    "SELECT pg_catalog.pg_total_relation_size($1::pg_catalog.regclass)";

static const char table_indexes_sql[] =
    "SELECT ic.relname, i.indisunique, i.indisprimary,"
    " COALESCE(a.attname::pg_catalog.text,"
    " pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::pg_catalog.int4, true))"
    " FROM pg_catalog.pg_index i"
    " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
    " CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[])"
    " WITH ORDINALITY AS k(attnum, ord)"
    " LEFT JOIN pg_catalog.pg_attribute a"
    " ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0"
    " WHERE i.indrelid = $1::pg_catalog.oid AND k.ord <= i.indnkeyatts"
    " ORDER BY ic.relname, k.ord";

/* The columns of sl_pgconn_table() from r, as a new array, or NULL. */
static json_t *
table_columns(const PGresult *r)
{
    json_t *cols = json_array();

    for (int i = 0; cols != NULL && i < PQntuples(r); i++) {
        json_t *col = json_object();

        if (!push(cols, col) ||
            !set(col, "name", jtext(sl_db_value(r, i, 0))) ||
            !set(col, "type", jtext(sl_db_value(r, i, 1))) ||
            !set(col, "nullable", jbool(sl_db_value(r, i, 2))) ||
            !set(col, "primary_key", jbool(sl_db_value(r, i, 3))) ||
            !set(col, "max_length", jint(sl_db_value(r, i, 4))) ||
            !set(col, "default", jtext(sl_db_value(r, i, 5)))) {
            json_decref(cols);
            return NULL;
        }
    }
    return cols;
}

/* The indexes of sl_pgconn_table() from r (one row per key column). */
static json_t *
table_indexes(const PGresult *r)
{
    json_t *list = json_array(), *idx, *cols = NULL;

    for (int i = 0; list != NULL && i < PQntuples(r); i++) {
        if (i == 0 ||
            strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0) {
            idx = json_object();
            if (!push(list, idx) ||
                !set(idx, "name", jtext(sl_db_value(r, i, 0))) ||
                !set(idx, "columns", json_array()) ||
                !set(idx, "unique", jbool(sl_db_value(r, i, 1))) ||
                !set(idx, "primary", jbool(sl_db_value(r, i, 2)))) {
                json_decref(list);
                return NULL;
            }
            cols = json_object_get(idx, "columns");
        }
        if (!push(cols, jtext(sl_db_value(r, i, 3)))) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/*
 * count(*) of rel as a new JSON integer in *count, or JSON null when the
 * server refused or cancelled the count. Returns 0, or a code when the
 * connection failed.
 */
static int
count_rows(PGconn *c, const struct relation *rel, json_t **count)
{
    sl_buf sql;
    PGresult *r = NULL;
    char state[6];
    int rc;

    *count = NULL;
    sl_buf_init(&sql, 1024);
    rc = sl_buf_puts(&sql, "SELECT pg_catalog.count(*) FROM ");
    if (rc == SL_OK)
        rc = put_qualified_name(c, rel, &sql);
    if (rc == SL_OK)
        rc = run_until(c, statement_deadline(c), sql.data, 0, NULL, &r, state);
    sl_buf_free(&sql);
    if (rc == SL_OK) {
        *count = jint(sl_db_value(r, 0, 0));
    } else if (state[0] != '\0' && PQstatus(c) == CONNECTION_OK) {
        /* The server said no (timeout, privilege, a failing view). */
        *count = json_null();
        rc = SL_OK;
    }
    PQclear(r);
    if (rc == SL_OK && *count == NULL)
        rc = SL_ENOMEM;
    return rc;
}

int
sl_pgconn_table(PGconn *c, const char *schema, const char *table, json_t **out)
{
    struct relation rel;
    PGresult *cols = NULL, *size = NULL, *idx = NULL;
    json_t *t = NULL, *count = NULL;
    const char *params[1];
    int rc;

    *out = NULL;
    if ((rc = find_relation(c, schema, table, &rel)) != SL_OK)
        return rc;
    params[0] = rel.oid;
    if ((rc = run(c, table_columns_sql, 1, params, &cols)) != SL_OK ||
        (rc = run(c, table_size_sql, 1, params, &size)) != SL_OK ||
        (rc = run(c, table_indexes_sql, 1, params, &idx)) != SL_OK ||
        (rc = count_rows(c, &rel, &count)) != SL_OK)
        goto out;
    rc = SL_ENOMEM;
    t = json_object();
    if (t == NULL || !set(t, "schema", jtext(rel.schema)) ||
        !set(t, "table_name", jtext(rel.name)) ||
        !set(t, "type", jtext(relkind_name(rel.kind))) ||
        !set(t, "columns", table_columns(cols)) ||
        !set(t, "row_count", json_incref(count)) ||
        !set(t, "size_bytes", jint(sl_db_value(size, 0, 0))) ||
        !set(t, "indexes", table_indexes(idx)))
        goto out;
    *out = t;
    t = NULL;
    rc = SL_OK;
out:
    json_decref(count);
    json_decref(t);
    PQclear(cols);
    PQclear(size);
    PQclear(idx);
    PQclear(rel.res);
    return rc;
}

/*
 * Columns for sl_pgconn_column_stats(): name, type, the base type's oid
 * (a domain's underlying type), and how min()/max() apply: 'o' when
 * pg_catalog's min() takes the type itself (or it is an enum), 't' when
 * the type casts implicitly to text (varchar, name...) and is ordered by
 * that text, '' when it has no order min() knows (json, xml, point...).
 */
static const char stats_columns_sql[] =
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
    " b.oid, CASE"
    " WHEN b.typtype = 'e' THEN 'o'"
    " WHEN EXISTS (SELECT FROM pg_catalog.pg_proc p"
    " WHERE p.proname = 'min' AND p.prokind = 'a'"
    " AND p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace"
    " AND p.pronargs = 1 AND p.proargtypes[0] = b.oid) THEN 'o'"
    " WHEN EXISTS (SELECT FROM pg_catalog.pg_cast k"
    " WHERE k.castsource = b.oid"
    " AND k.casttarget = 'pg_catalog.text'::pg_catalog.regtype"
    " AND k.castcontext = 'i') THEN 't'"
    " ELSE '' END"
    " FROM pg_catalog.pg_attribute a"
    " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
    " JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd'"
    " THEN t.typbasetype ELSE t.oid END"
    " WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0"
    " AND NOT a.attisdropped ORDER BY a.attnum LIMIT $2";

/* Appends the four aggregates of one column to the statistics query. */
static int
put_column_aggregates(sl_buf *b, const char *col, const char *order)
{
    const char *as_text = order[0] == 'o' ? "" : "::pg_catalog.text";
    int cut = SL_PGCONN_MAX_STAT_VALUE + 1;

    if (order[0] == '\0')
        return sl_buf_printf(b,
                             ", pg_catalog.count(*) - pg_catalog.count(%s)"
                             ", pg_catalog.count(DISTINCT %s%s), NULL, NULL",
                             col, col, as_text);
    return sl_buf_printf(
        b,
        ", pg_catalog.count(*) - pg_catalog.count(%s)"
        ", pg_catalog.count(DISTINCT %s%s)"
        ", pg_catalog.left(pg_catalog.min(%s%s)::pg_catalog.text, %d)"
        ", pg_catalog.left(pg_catalog.max(%s%s)::pg_catalog.text, %d)",
        col, col, as_text, col, as_text, cut, col, as_text, cut);
}

/* Characters (UTF-8) in s, counting no further than max + 1. */
static size_t
utf8_chars(const char *s, size_t max, size_t *bytes_at_max)
{
    size_t chars = 0, i = 0;

    *bytes_at_max = strlen(s);
    for (; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xc0) == 0x80)
            continue;
        if (chars == max)
            *bytes_at_max = i;
        if (++chars > max)
            break;
    }
    return chars;
}

/* Built-in types whose values are JSON numbers, by their fixed oids. */
static const struct {
    unsigned long oid;
    bool integer;
} number_types[] = {
    {20, true},    /* bigint */
    {21, true},    /* smallint */
    {23, true},    /* integer */
    {700, false},  /* real */
    {701, false},  /* double precision */
    {1700, false}, /* numeric */
};

/*
 * A min or max value as JSON: a number for the number types (by base
 * type oid), else text cut to SL_PGCONN_MAX_STAT_VALUE characters, which
 * sets *cut.
 */
static json_t *
stat_value(const char *s, unsigned long base, bool *cut)
{
    size_t keep;
    char *end;

    if (s == NULL)
        return json_null();
    if (utf8_chars(s, SL_PGCONN_MAX_STAT_VALUE, &keep) >
        SL_PGCONN_MAX_STAT_VALUE) {
        char *head = strndup(s, keep);
        json_t *j = head ? jtext(head) : NULL;

        *cut = true;
        free(head);
        return j;
    }
    for (size_t i = 0; i < sizeof(number_types) / sizeof(number_types[0]);
         i++) {
        double d;

        if (number_types[i].oid != base)
            continue;
        if (number_types[i].integer) {
            json_t *j = jint(s);

            if (!json_is_null(j))
                return j;
            break;
        }
        /* NaN and the infinities have no JSON number: they stay text. */
        errno = 0;
        d = strtod(s, &end);
        if (errno == 0 && *end == '\0' && end != s && isfinite(d))
            return json_real(d);
    }
    return jtext(s);
}

int
sl_pgconn_column_stats(PGconn *c, const char *schema, const char *table,
                       json_t **out)
{
    struct relation rel;
    PGresult *cols = NULL, *r = NULL;
    json_t *stats = NULL, *list = NULL;
    char limit[16];
    const char *params[2];
    sl_buf sql;
    int rc, n;
    bool truncated = false;

    *out = NULL;
    sl_buf_init(&sql, 1024 * 1024);
    if ((rc = find_relation(c, schema, table, &rel)) != SL_OK)
        return rc;
    snprintf(limit, sizeof(limit), "%d", SL_PGCONN_MAX_STATS_COLUMNS + 1);
    params[0] = rel.oid;
    params[1] = limit;
    if ((rc = run(c, stats_columns_sql, 2, params, &cols)) != SL_OK)
        goto out;
    n = PQntuples(cols);
    truncated = n > SL_PGCONN_MAX_STATS_COLUMNS;
    if (truncated)
        n = SL_PGCONN_MAX_STATS_COLUMNS;

    /* One SELECT: count(*), then four aggregates per column. */
    rc = sl_buf_puts(&sql, "SELECT pg_catalog.count(*)");
    for (int i = 0; rc == SL_OK && i < n; i++) {
        const char *name = PQgetvalue(cols, i, 0);
        char *q = PQescapeIdentifier(c, name, strlen(name));

        rc = q ? put_column_aggregates(&sql, q, PQgetvalue(cols, i, 3))
               : SL_ENOMEM;
        PQfreemem(q);
    }
    if (rc == SL_OK)
        rc = sl_buf_puts(&sql, " FROM ");
    if (rc == SL_OK)
        rc = put_qualified_name(c, &rel, &sql);
    if (rc != SL_OK || (rc = run(c, sql.data, 0, NULL, &r)) != SL_OK)
        goto out;
    if (PQntuples(r) != 1 || PQnfields(r) != 1 + 4 * n) {
        rc = SL_EDB;
        goto out;
    }

    rc = SL_ENOMEM;
    if ((stats = json_object()) == NULL || (list = json_array()) == NULL)
        goto out;
    for (int i = 0; i < n; i++) {
        unsigned long base = strtoul(PQgetvalue(cols, i, 2), NULL, 10);
        json_t *col = json_object();
        bool cut = false;
        int at = 1 + 4 * i;

        if (col == NULL || !push(list, col) ||
            !set(col, "name", jtext(PQgetvalue(cols, i, 0))) ||
            !set(col, "type", jtext(PQgetvalue(cols, i, 1))) ||
            !set(col, "null_count", jint(sl_db_value(r, 0, at))) ||
            !set(col, "distinct_count", jint(sl_db_value(r, 0, at + 1))) ||
            !set(col, "min_value",
                 stat_value(sl_db_value(r, 0, at + 2), base, &cut)) ||
            !set(col, "max_value",
                 stat_value(sl_db_value(r, 0, at + 3), base, &cut)) ||
            (cut && !set(col, "values_truncated", json_true())))
            goto out;
    }
    if (!set(stats, "schema", jtext(rel.schema)) ||
        !set(stats, "table_name", jtext(rel.name)) ||
        !set(stats, "row_count", jint(sl_db_value(r, 0, 0))) ||
        !set(stats, "columns", json_incref(list)) ||
        !set(stats, "truncated", json_boolean(truncated)))
        goto out;
    *out = stats;
    stats = NULL;
    rc = SL_OK;
out:
    json_decref(list);
    json_decref(stats);
    PQclear(cols);
    PQclear(r);
    PQclear(rel.res);
    sl_buf_free(&sql);
    return rc;
}

/* --- Testing a connector -------------------------------------------------- */

int
sl_pgconn_test(const struct sl_pgconn_params *p, const struct sl_pgconn_opts *o,
               struct sl_pgconn_report *rep, json_t **schemas)
{
    int64_t start = sl_clock_mono_us(), deadline;
    PGconn *c = NULL;
    PGresult *r = NULL;
    json_t *list = NULL;
    char state[6];
    bool truncated;
    int rc;

    memset(rep, 0, sizeof(*rep));
    if (schemas != NULL)
        *schemas = NULL;
    deadline = start + (int64_t)o->timeout_ms * 1000;
    if ((rc = open_until(p, o, start, deadline, &c, rep)) != SL_OK)
        return rc;
    rc = run_until(c, deadline, "SELECT pg_catalog.version()", 0, NULL, &r,
                   state);
    if (rc == SL_OK) {
        const char *v = sl_db_value(r, 0, 0);
        const char *on = v ? strstr(v, " on ") : NULL;

        rep->query_execution_successful = true;
        if (v != NULL)
            snprintf(rep->server_version, sizeof(rep->server_version), "%.*s",
                     on ? (int)(on - v) : (int)strlen(v), v);
        rc = list_schemas(c, deadline, &list, &truncated);
    }
    snprintf(rep->sqlstate, sizeof(rep->sqlstate), "%s", state);
    if (rc == SL_ETIMEDOUT && strcmp(state, "57014") != 0)
        report_fail(rep, SL_PGCONN_FAIL_TIMEOUT, p->password,
                    "timed out after %d ms", o->timeout_ms);
    else if (rc == SL_ENOMEM)
        report_fail(rep, SL_PGCONN_FAIL_OTHER, NULL, "out of memory");
    else if (rc == SL_ETOOBIG)
        report_fail(rep, SL_PGCONN_FAIL_QUERY, NULL,
                    "query failed: the server answered more than %d rows or "
                    "%d bytes",
                    SL_PGCONN_MAX_RESULT_ROWS, SL_PGCONN_MAX_RESULT_BYTES);
    else if (rc != SL_OK) {
        sl_buf msg;

        sl_buf_init(&msg, 64 * 1024);
        clean_message(PQerrorMessage(c), &msg);
        report_fail(rep, SL_PGCONN_FAIL_QUERY, p->password, "query failed: %s",
                    msg.len > 0 ? msg.data : "no result");
        sl_buf_free(&msg);
    }
    PQclear(r);
    PQfinish(c);
    rep->latency_ms = (double)(sl_clock_mono_us() - start) / 1000.0;
    if (rc == SL_OK && schemas != NULL)
        *schemas = list;
    else
        json_decref(list);
    return rc;
}
