/*
 * liveness.c: answering liveness requests (see liveness.h).
 */
#include "liveness.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "err.h"

static void
on_ping(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct sl_liveness *l = closure;
    bool db_ok = atomic_load(&l->db_ok);
    json_t *j = json_pack("{s:s, s:s, s:b, s:I}", "status",
                          db_ok ? "healthy" : "degraded", "instance",
                          l->instance, "database", db_ok, "uptime_seconds",
                          (json_int_t)(sl_clock_now() - l->started_at));
    char *text;

    (void)nc;
    (void)sub;
    if (!db_ok)
        json_object_set_new(j, "error", json_string("database unreachable"));
    if (l->extra != NULL)
        l->extra(j, l->extra_arg);
    text = json_dumps(j, JSON_COMPACT);
    if (text != NULL)
        sl_bus_reply(l->bus, msg, text, strlen(text));
    free(text);
    json_decref(j);
    natsMsg_Destroy(msg);
}

int
sl_liveness_start(struct sl_liveness *l, struct sl_bus *bus,
                  struct sl_logger *log, const char *subject, const char *queue,
                  sl_liveness_extra_fn extra, void *extra_arg)
{
    memset(l, 0, sizeof(*l));
    l->bus = bus;
    l->log = log;
    l->extra = extra;
    l->extra_arg = extra_arg;
    l->started_at = sl_clock_now();
    atomic_store(&l->db_ok, false);
    sl_daemon_instance(l->instance, sizeof(l->instance));
    if (sl_bus_subscribe(bus, subject, queue, on_ping, l, &l->sub) != SL_OK) {
        sl_log_error(log, "cannot subscribe to %s", subject);
        return SL_EBUS;
    }
    return SL_OK;
}

void
sl_liveness_check(struct sl_liveness *l, struct sl_db *db)
{
    double ms;
    bool ok = sl_db_ping(db, &ms) == SL_OK;

    if (ok != atomic_load(&l->db_ok))
        sl_log(l->log, ok ? SL_LOG_INFO : SL_LOG_WARN, "database %s",
               ok ? "reachable" : "unreachable");
    atomic_store(&l->db_ok, ok);
}

void
sl_liveness_stop(struct sl_liveness *l)
{
    if (l->sub != NULL) {
        natsSubscription_Unsubscribe(l->sub);
        natsSubscription_Destroy(l->sub);
        l->sub = NULL;
    }
}
