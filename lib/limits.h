/*
 * limits.h: every size that outside input controls, named in one place.
 *
 * Where a limit is also configurable (conf.c holds its default), the
 * configured value is bounded by the _CEIL here.
 */
#ifndef SL_LIMITS_H
#define SL_LIMITS_H

/* A limit that is a plain number, as a string literal (for JSON text). */
#define SL_LIMIT_TEXT_(n) #n
#define SL_LIMIT_TEXT(n)  SL_LIMIT_TEXT_(n)

/* Request bodies: the hard ceiling (nginx enforces the configured limit). */
#define SL_MAX_BODY_CEIL (64 * 1024 * 1024)

/* JSON documents: nesting depth accepted from clients. */
#define SL_MAX_JSON_DEPTH_CEIL 256

/* A per-request arena may not grow beyond this many bytes. */
#define SL_MAX_POOL_BYTES (256 * 1024 * 1024)

/* Request line parts and headers read from FastCGI parameters. */
#define SL_MAX_PATH         2048
#define SL_MAX_QUERY        4096
#define SL_MAX_QUERY_PARAMS 64
#define SL_MAX_FORM_PARAMS  64

/* Credentials. */
#define SL_MAX_TOKEN    4096
#define SL_MAX_PASSWORD 128
#define SL_MIN_PASSWORD 8

/* Lists: a client may ask for at most this many items per page. */
#define SL_LIST_LIMIT_MAX     1000
#define SL_LIST_LIMIT_DEFAULT 100

/* Who a run says started it (seed 003's trigger_by, X-User-ID). */
#define SL_MAX_TRIGGER_BY 255

/* A user's SQL (sqltext.h): its text, and the placeholders it may name. */
#define SL_MAX_SQL_BYTES  (1024 * 1024)
#define SL_MAX_SQL_PARAMS 100

/* Configuration files. */
#define SL_MAX_CONFIG_LINE 4096
#define SL_MAX_CONFIG_FILE (256 * 1024)

/*
 * Module config validation (jschema.h): how deep a schema may nest, how
 * many problems one validation reports, and the longest path it writes.
 */
#define SL_MAX_SCHEMA_DEPTH  32
#define SL_MAX_SCHEMA_ERRORS 100
#define SL_MAX_SCHEMA_PATH   512

/* Secrets sealed at rest (secretbox.h): plaintext and associated data. */
#define SL_MAX_SECRET     (64 * 1024)
#define SL_MAX_SECRET_AAD 1024

/*
 * The PII engine (pii.h) and its endpoints: the bytes of one text (half
 * the default body limit, so that the API, not nginx, names this bound),
 * the findings reported for one text, the texts of one batch, an
 * anonymized text, the allow list's entries and a replacement's length.
 */
#define SL_PII_MAX_TEXT      (512 * 1024)
#define SL_PII_MAX_ENTITIES  10000
#define SL_PII_MAX_BATCH     100
#define SL_PII_MAX_OUTPUT    (4 * 1024 * 1024)
#define SL_PII_MAX_ALLOW     1000
#define SL_PII_MAX_NEW_VALUE 1024

/*
 * Connections to user-supplied PostgreSQL servers (pgconn.h): the length of
 * each connection parameter and of a host name, the total time one attempt
 * may take, how many resolved addresses are tried, and how much
 * introspection may return.
 */
#define SL_PGCONN_MAX_PARAM         1024
#define SL_PGCONN_MAX_HOST          255
#define SL_PGCONN_TIMEOUT_CEIL_MS   (5 * 60 * 1000)
#define SL_PGCONN_MAX_ADDRS         8
#define SL_PGCONN_MAX_SCHEMAS       1000
#define SL_PGCONN_MAX_TABLES_CEIL   1000
#define SL_PGCONN_MAX_TREE_COLUMNS  50000
#define SL_PGCONN_MAX_STATS_COLUMNS 200
#define SL_PGCONN_MAX_STAT_VALUE    256
/* What one statement may answer, read one row at a time, whatever its
 * LIMIT: a server that sends more is cut off (pgconn.h). */
#define SL_PGCONN_MAX_RESULT_ROWS  100000
#define SL_PGCONN_MAX_RESULT_BYTES (16 * 1024 * 1024)

/*
 * Time zones: an IANA name ("America/Argentina/Buenos_Aires") and a TZif
 * file (real ones are under 4 KiB).
 */
#define SL_MAX_TZ_NAME 64
#define SL_MAX_TZ_FILE (256 * 1024)

/*
 * A file path a pipeline node or a file connector gives (warehouse.h). A
 * plain number, as the JSON Schemas quote it with SL_LIMIT_TEXT().
 */
#define SL_MAX_FILE_PATH 1024

/* Cron expressions, macros included. */
#define SL_MAX_CRON_EXPR 256

/*
 * Events on NATS (event.h): the most bytes of JSON one event may hold. The
 * outbox's run events obey the same figure, run_event_max_bytes() in
 * sql/013_relay.sql: change both together.
 */
#define SL_MAX_EVENT_BYTES (64 * 1024)

/*
 * Runs: the longest a run or one of its statements may be given, in
 * seconds.
 */
#define SL_RUN_TIMEOUT_CEIL (7 * 86400)

/* WebSocket subscribers (sluice-hub): a client message, a hub ticket,
 * and the ids one subscribe message may name. */
#define SL_MAX_WS_MESSAGE 4096
#define SL_MAX_TICKET     512
#define SL_MAX_WS_FILTERS 64

#endif
