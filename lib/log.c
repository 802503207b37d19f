/*
 * log.c: JSON-lines logging (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
sl_log_init(struct sl_logger *lg, const char *component, int level, int fd)
{
    lg->component = component;
    lg->level = level;
    lg->fd = fd;
    lg->request_id = NULL;
}

int
sl_log_level_parse(const char *name)
{
    if (name == NULL)
        return -1;
    if (strcasecmp(name, "warning") == 0)
        return SL_LOG_WARN;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* Writes all of buf, retrying on EINTR and short writes. */
static void
write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        n -= (size_t)w;
    }
}

void
sl_log_fields(struct sl_logger *lg, int level, const char *msg, json_t *fields)
{
    char ts[SL_RFC3339_MAX], *line;
    json_t *o, *m;
    size_t n;

    if (level < lg->level || level < SL_LOG_DEBUG || level > SL_LOG_ERROR) {
        json_decref(fields);
        return;
    }
    sl_clock_format_ms(sl_clock_now_ms(), ts);
    o = json_object();
    if (o == NULL) {
        json_decref(fields);
        return;
    }
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "component", json_string(lg->component));
    json_object_set_new(o, "pid", json_integer(getpid()));
    if (lg->request_id != NULL)
        json_object_set_new(o, "request_id", json_string(lg->request_id));
    /* A message that is not UTF-8 makes json_string() fail. */
    m = json_string(msg);
    json_object_set_new(o, "msg", m != NULL ? m : json_string("?"));
    if (fields != NULL && json_is_object(fields))
        json_object_update_missing(o, fields);
    json_decref(fields);

    line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (line == NULL)
        return;
    /* The NUL becomes the newline: one write for the whole line. */
    n = strlen(line);
    line[n] = '\n';
    write_all(lg->fd, line, n + 1);
    free(line);
}

void
sl_log(struct sl_logger *lg, int level, const char *fmt, ...)
{
    char msg[SL_LOG_MSG_MAX];
    va_list ap;

    if (level < lg->level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sl_log_fields(lg, level, msg, NULL);
}
