/*
 * pgconn.h: connections to PostgreSQL servers that users name, made
 * safely and in bounded time, and what can be learned from them.
 *
 * A connector names a server by host, port, database, user, password and
 * TLS mode. Connecting to it must not let a user reach what the platform
 * can reach and they cannot, and must never hang a worker:
 *
 * - The host is resolved here, within the deadline (getaddrinfo_a), and
 *   EVERY address it resolves to is checked: if any one is loopback,
 *   private (RFC 1918, fc00::/7), link-local, CGNAT (100.64/10),
 *   unspecified, in 0.0.0.0/8, multicast or reserved (IPv4 embedded in
 *   IPv6 is checked as IPv4), the connection is refused unless
 *   allow_private is set. A name with one private address among public
 *   ones is refused rather than trimmed: such a name is a rebinding trick
 *   or a misconfiguration, and either way the user should hear of it.
 *   Unix-domain sockets (a host starting with '/') need allow_private too.
 * - libpq is given the checked numeric addresses as hostaddr (so DNS is
 *   not consulted again between the check and the connection) and the
 *   name as host (for TLS verification), at most SL_PGCONN_MAX_ADDRS of
 *   them, tried in the resolver's order.
 * - The connection is driven with PQconnectPoll() and poll() against one
 *   deadline, opts.timeout_ms from the call; resolution, TCP, TLS and
 *   authentication all count against it.
 * - Nothing of the platform's own identity reaches the server: no
 *   password file (~/.pgpass) is read, and a connector without a password
 *   sends none, even where PGPASSWORD or a PGSERVICE service file would
 *   supply one; no client certificate or key (~/.postgresql/, PGSSLCERT,
 *   PGSSLKEY) is presented to a server that asks for one; no Kerberos
 *   credentials are offered for encryption; the database name is never
 *   expanded as a connection string.
 *
 * Failures are classified in a struct sl_pgconn_report, which says how far
 * the attempt got and why it stopped, in a message that never contains
 * the password. Messages of libpq and the server are in English as long as
 * the process has not called setlocale() (the daemons do not).
 *
 * Introspection (sl_pgconn_schema_tree, sl_pgconn_table,
 * sl_pgconn_column_stats) runs parameterised catalog queries only; a table
 * name is put into SQL only after the catalog has confirmed it exists, and
 * then quoted by PQescapeIdentifier(). Each statement is bounded by the
 * server's statement_timeout (set at open; the server cancels the
 * statement and the connection stays usable) and, should the server stop
 * answering, by a client-side deadline 2 s later, after which the
 * connection is shut down and SL_ETIMEDOUT returned: then only PQfinish()
 * it. Every answer is read one row at a time and bounded whatever the
 * statement's LIMIT: past SL_PGCONN_MAX_RESULT_ROWS rows or
 * SL_PGCONN_MAX_RESULT_BYTES bytes (limits.h) the call returns SL_ETOOBIG
 * and shuts the connection down. (libpq still buffers one row whole
 * before it is counted: a single row is bounded only by the protocol.)
 */
#ifndef SL_PGCONN_H
#define SL_PGCONN_H

#include <stdbool.h>
#include <sys/socket.h>

#include <jansson.h>
#include <libpq-fe.h>

/* The application_name every connection announces. */
#define SL_PGCONN_APP_NAME "sluice-connector"

/* What a connector names. All strings are borrowed for the call only. */
struct sl_pgconn_params {
    const char *host;     /* DNS name, IP literal, or socket directory "/..." */
    const char *port;     /* decimal text; NULL: "5432" */
    const char *dbname;   /* NULL: the same as user */
    const char *user;     /* required */
    const char *password; /* NULL or "": none is sent */
    const char *sslmode;  /* one of libpq's sslmodes; NULL: "prefer" */
};

struct sl_pgconn_opts {
    /* The whole of sl_pgconn_open() (or sl_pgconn_test()), resolution
     * included: 1..SL_PGCONN_TIMEOUT_CEIL_MS. */
    int timeout_ms;
    /* statement_timeout of the opened connection, which also bounds each
     * introspection statement; 0: timeout_ms. At most the ceiling. */
    int statement_timeout_ms;
    /* Whether private, loopback and link-local addresses (see above) and
     * unix-domain sockets may be reached. Off for users' connectors. */
    bool allow_private;
};

/* Why an attempt stopped. */
enum sl_pgconn_failure {
    SL_PGCONN_OK = 0,
    SL_PGCONN_FAIL_INVALID,   /* parameters refused before any network use */
    SL_PGCONN_FAIL_RESOLVE,   /* "could not resolve host" */
    SL_PGCONN_FAIL_FORBIDDEN, /* "address not allowed (private or loopback)" */
    SL_PGCONN_FAIL_REFUSED,   /* "connection refused" */
    SL_PGCONN_FAIL_TIMEOUT,   /* "timed out after N ms" */
    SL_PGCONN_FAIL_AUTH,      /* "authentication failed" (28P01, 28000) */
    SL_PGCONN_FAIL_NODB,      /* "database does not exist" (3D000) */
    SL_PGCONN_FAIL_QUERY,     /* connected, but a test query failed */
    SL_PGCONN_FAIL_OTHER,     /* anything else: libpq's message */
};

#define SL_PGCONN_ADDR_MAX    46 /* INET6_ADDRSTRLEN */
#define SL_PGCONN_VERSION_MAX 128
#define SL_PGCONN_ERROR_MAX   512

/*
 * How far an attempt got. Filled by sl_pgconn_open() and sl_pgconn_test()
 * on success and on failure; owned by the caller.
 */
struct sl_pgconn_report {
    bool resolved;                   /* the host has usable addresses */
    bool connection_established;     /* a server (or socket) answered */
    bool authentication_successful;  /* the server accepted the user */
    bool query_execution_successful; /* SELECT version() ran (test only) */
    double latency_ms;               /* the whole attempt, start to end */
    enum sl_pgconn_failure failure;
    char sqlstate[6]; /* the server's, when it sent one; else "" */
    /* The address connected to; on failure the one refused or last tried. */
    char address[SL_PGCONN_ADDR_MAX];
    /* "PostgreSQL 15.4 (Debian 15.4-1)": the version up to " on <host>". */
    char server_version[SL_PGCONN_VERSION_MAX];
    /* "" on success; else a line that begins with the failure's phrase
     * above ("connection refused by 10.1.2.3 port 5432", "authentication
     * failed: ..."), in which the password never appears. */
    char error[SL_PGCONN_ERROR_MAX];
};

/*
 * Connects as described above. Returns 0 and the connection in *out (owned
 * by the caller: PQfinish() it), or a negative code with *out NULL:
 * SL_EINVAL (parameters), SL_ENOTFOUND (host unresolvable, or database
 * missing), SL_EPERM (address not allowed), SL_ETIMEDOUT, SL_EAUTH,
 * SL_EDBCONN (refused, or any other failure), SL_ENOMEM. rep (required)
 * says which, in rep->failure and rep->error.
 *
 * The connection has client_encoding UTF8, application_name
 * SL_PGCONN_APP_NAME and statement_timeout as in opts; it is in blocking
 * mode with libpq's default error verbosity.
 */
int sl_pgconn_open(const struct sl_pgconn_params *p,
                   const struct sl_pgconn_opts *o, PGconn **out,
                   struct sl_pgconn_report *rep);

/*
 * Tests a connector: opens it, runs SELECT version(), lists the schemas
 * the user may use (USAGE), and closes it, all within opts.timeout_ms.
 * Returns 0 or a code as sl_pgconn_open(), or, when a query failed,
 * SL_EDB, SL_ETOOBIG (an answer past the bounds) or SL_ETIMEDOUT
 * (rep->failure is then SL_PGCONN_FAIL_QUERY or _TIMEOUT). When schemas is not NULL, on success it receives a new JSON
 * array of schema names, sorted, without pg_* and information_schema, at
 * most SL_PGCONN_MAX_SCHEMAS (owned by the caller); NULL on failure.
 */
int sl_pgconn_test(const struct sl_pgconn_params *p,
                   const struct sl_pgconn_opts *o, struct sl_pgconn_report *rep,
                   json_t **schemas);

/*
 * The schemas, tables and columns c's user may see:
 *
 *   {"schemas": [{"name": "public", "tables": [{"name": "orders",
 *     "type": "table", "columns": [{"name": "id", "type": "integer",
 *     "nullable": false, "max_length": 12 (character types only)}]}]}],
 *    "truncated": false}
 *
 * Schemas are those of sl_pgconn_test(), each listed even when empty.
 * Tables are relations of kind "table", "partitioned_table", "view",
 * "materialized_view" or "foreign_table" (partitions are left out: their
 * parent stands for them) on whose columns the user holds some SELECT
 * privilege, sorted by schema and name. At most max_tables (1 to
 * SL_PGCONN_MAX_TABLES_CEIL) tables and about SL_PGCONN_MAX_TREE_COLUMNS
 * columns are listed; "truncated" says that more exist. Returns 0 and a new
 * reference in *out (owned by the caller), or, with *out NULL: SL_EINVAL,
 * SL_ENOMEM, SL_EDB, SL_EPERM, SL_ETIMEDOUT, SL_EDBCONN, SL_EIO, or
 * SL_ETOOBIG (the server answered past the bounds above); after SL_EDB,
 * PQerrorMessage(c) says why.
 */
int sl_pgconn_schema_tree(PGconn *c, int max_tables, json_t **out);

/*
 * One table (or view, etc.) in detail:
 *
 *   {"schema": "public", "table_name": "orders", "type": "table",
 *    "columns": [{"name": "id", "type": "integer", "nullable": false,
 *      "primary_key": true, "max_length": null, "default": null}],
 *    "row_count": 4, "size_bytes": 16384,
 *    "indexes": [{"name": "orders_pkey", "columns": ["id"],
 *      "unique": true, "primary": true}]}
 *
 * type is format_type()'s ("numeric(10,2)", "character varying(255)");
 * max_length is the declared length of character and character varying
 * columns, else null; default is the default expression's text, or null
 * (generated columns have none). Index columns are key columns in order;
 * an expression appears as its text. row_count is an exact count(*),
 * bounded by the statement timeout; it is null when the server would not
 * count (the timeout cancelled it, the user may not read the table, a
 * view failed, a materialized view was never refreshed). size_bytes is
 * pg_total_relation_size().
 *
 * The table is named by schema and table; when schema is NULL, table may
 * be "schema.table" (split at its first '.'), or a bare name, looked up in
 * the connection's search_path in order (current_schemas(false); by
 * default "$user" then public). Names are matched exactly, as stored in
 * the catalog: no case folding, no quotes. Returns 0 and a new reference
 * in *out (owned by the caller), SL_ENOTFOUND when there is no such
 * relation, or a code as sl_pgconn_schema_tree().
 */
int sl_pgconn_table(PGconn *c, const char *schema, const char *table,
                    json_t **out);

/*
 * Statistics of a table's data, computed by one SELECT (one scan):
 *
 *   {"schema": "public", "table_name": "orders", "row_count": 4,
 *    "columns": [{"name": "amount", "type": "numeric(10,2)",
 *      "null_count": 1, "distinct_count": 2, "min_value": 3.25,
 *      "max_value": 10.5}], "truncated": false}
 *
 * The first SL_PGCONN_MAX_STATS_COLUMNS columns are counted ("truncated"
 * says there were more). min_value and max_value are given for types that
 * PostgreSQL's own min() orders (numbers, text, dates and times, enums,
 * ...; types implicitly cast to text, such as varchar, by their text) and
 * are null for the others (json, xml, point, arrays, ...) and for a column
 * with no values. distinct_count compares values of ordered types, and the
 * text of the others. Numbers (integers, numeric, floating point) are JSON
 * numbers (numeric as the nearest double; NaN and infinities as strings);
 * other values are their text, cut to SL_PGCONN_MAX_STAT_VALUE characters,
 * and the column gets "values_truncated": true when one was cut.
 *
 * Names as sl_pgconn_table(). Returns 0 and a new reference in *out (owned
 * by the caller), SL_ENOTFOUND, SL_EPERM (no SELECT privilege), or a code
 * as sl_pgconn_schema_tree(); SL_ETIMEDOUT when the scan outlasted the
 * statement timeout.
 */
int sl_pgconn_column_stats(PGconn *c, const char *schema, const char *table,
                           json_t **out);

/*
 * Runs one statement with text parameters on c, never waiting past the
 * statement timeout sl_pgconn_open() set (or a default for connections it
 * did not open) plus a grace. Returns 0 and the result in *out (the
 * caller PQclear()s it), or a code as sl_pgconn_schema_tree() with *out
 * NULL; after SL_ETIMEDOUT or SL_ETOOBIG (an answer past the bounds) the
 * connection is shut and only PQfinish() remains to do.
 */
int sl_pgconn_exec(PGconn *c, const char *sql, int nparams,
                   const char *const *params, PGresult **out);

/*
 * True when sa (AF_INET or AF_INET6) is an address that only allow_private
 * lets a connection reach; other families are reported true as well.
 */
bool sl_pgconn_addr_private(const struct sockaddr *sa);

#endif
