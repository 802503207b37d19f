/*
 * log.h: structured logging, one JSON object per line.
 *
 * Each line carries the time (RFC 3339 with milliseconds), the level, the
 * component ("api", "runner", "hub"), the process id, the request id when
 * one is being served, the message, and any extra fields:
 *
 *   {"ts":"2026-01-09T16:40:00.123Z","level":"info","component":"api",
 *    "pid":4242,"request_id":"req_5f1c...","msg":"request","status":200}
 *
 * A line is written with a single write(2), so lines from the processes of
 * a pool sharing one file do not interleave. Secrets are never passed here.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <jansson.h>

enum sl_log_level {
    SL_LOG_DEBUG = 0,
    SL_LOG_INFO = 1,
    SL_LOG_WARN = 2,
    SL_LOG_ERROR = 3,
};

/* A formatted message is cut at this many bytes. */
#define SL_LOG_MSG_MAX 2048

struct sl_logger {
    const char *component;  /* borrowed; lives as long as the logger */
    int level;              /* lines below this level are dropped */
    int fd;                 /* where lines go, usually 2 */
    const char *request_id; /* borrowed; set per request, NULL between */
};

/* Prepares a logger. component is borrowed. */
void sl_log_init(struct sl_logger *lg, const char *component, int level,
                 int fd);

/* Parses "debug", "info", "warn"/"warning", "error". Returns -1 if none. */
int sl_log_level_parse(const char *name);

/* Logs a formatted message. */
void sl_log(struct sl_logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Logs msg with the members of fields (a JSON object, taken: this call
 * releases it; NULL for none) added to the line.
 */
void sl_log_fields(struct sl_logger *lg, int level, const char *msg,
                   json_t *fields);

#define sl_log_debug(lg, ...) sl_log((lg), SL_LOG_DEBUG, __VA_ARGS__)
#define sl_log_info(lg, ...)  sl_log((lg), SL_LOG_INFO, __VA_ARGS__)
#define sl_log_warn(lg, ...)  sl_log((lg), SL_LOG_WARN, __VA_ARGS__)
#define sl_log_error(lg, ...) sl_log((lg), SL_LOG_ERROR, __VA_ARGS__)

#endif
