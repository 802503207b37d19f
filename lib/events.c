/*
 * events.c: event-name families and how subscriptions match events (see
 * events.h). Two small tables: the names, and the aliases between the
 * families.
 */
#include "config.h"

#include <string.h>

#include "events.h"

const char *const sl_event_names[] = {
    /* seed 000 */
    "pipeline.started",
    "pipeline.completed",
    "pipeline.failed",
    "quality.check_failed",
    "pii.detected",
    /* seed 001 */
    "pipeline.created",
    "pipeline.updated",
    "pipeline.deleted",
    "pipeline.execution.started",
    "pipeline.execution.completed",
    "pipeline.execution.failed",
    "data_quality.check.completed",
    "connector.connection.failed",
    /* Sluice's own */
    "pipeline.queued",
    "pipeline.cancelled",
    "webhook.delivery.exhausted",
    "webhook.test",
    "notification.sent",
};
const size_t sl_event_nnames =
    sizeof(sl_event_names) / sizeof(sl_event_names[0]);

/*
 * A subscription to sub also takes events published as ev. The first
 * three rows are listed both ways; the last one is one-way (events.h).
 */
static const struct {
    const char *sub, *ev;
} aliases[] = {
    {"pipeline.started", "pipeline.execution.started"},
    {"pipeline.execution.started", "pipeline.started"},
    {"pipeline.completed", "pipeline.execution.completed"},
    {"pipeline.execution.completed", "pipeline.completed"},
    {"pipeline.failed", "pipeline.execution.failed"},
    {"pipeline.execution.failed", "pipeline.failed"},
    {"data_quality.check.completed", "quality.check_failed"},
};

bool
sl_event_known(const char *name)
{
    if (name == NULL)
        return false;
    for (size_t i = 0; i < sl_event_nnames; i++)
        if (strcmp(name, sl_event_names[i]) == 0)
            return true;
    return false;
}

bool
sl_event_matches(const char *subscribed, const char *event_type)
{
    if (subscribed == NULL || event_type == NULL)
        return false;
    if (strcmp(subscribed, SL_EVENT_ALL) == 0 ||
        strcmp(subscribed, event_type) == 0)
        return true;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(subscribed, aliases[i].sub) == 0 &&
            strcmp(event_type, aliases[i].ev) == 0)
            return true;
    return false;
}

const char *
sl_event_delivered_name(const char *subscribed, const char *event_type)
{
    if (subscribed == NULL || strcmp(subscribed, SL_EVENT_ALL) == 0)
        return event_type;
    return subscribed;
}
