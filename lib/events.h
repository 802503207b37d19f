/*
 * events.h: the names of the events webhooks and alerts subscribe to.
 *
 * Two seeds name Sluice's events in two families. Seed 000 says
 * pipeline.started, pipeline.completed, pipeline.failed,
 * quality.check_failed and pii.detected; seed 001 says
 * pipeline.execution.started, pipeline.execution.completed,
 * pipeline.execution.failed, pipeline.created, pipeline.updated,
 * pipeline.deleted, data_quality.check.completed and
 * connector.connection.failed. Sluice adds its own: pipeline.queued,
 * pipeline.cancelled, webhook.delivery.exhausted, webhook.test and
 * notification.sent.
 *
 * An event is published once, under one name (the runner says
 * pipeline.completed); a subscriber of either family gets it under the
 * name it subscribed to. sl_event_matches() says whether a subscription
 * takes an event, sl_event_delivered_name() under which name: the
 * delivered body's event_type is the subscribed name (the event's own
 * name for a "*" subscription), so a seed 001 receiver subscribed to
 * pipeline.execution.completed reads exactly that.
 *
 * Pairs that are the same event: pipeline.started and
 * pipeline.execution.started, pipeline.completed and
 * pipeline.execution.completed, pipeline.failed and
 * pipeline.execution.failed. One pair is one-way: a failed quality check
 * (quality.check_failed) is a completed one, so data_quality.check.completed
 * subscribers get quality.check_failed events, but quality.check_failed
 * subscribers do not get every data_quality.check.completed.
 */
#ifndef SL_EVENTS_H
#define SL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

/* The longest event name, NUL excluded. */
#define SL_EVENT_NAME_MAX 64

/* The subscription that takes every event. */
#define SL_EVENT_ALL "*"

/* True when name is one of the names above (not "*"). NULL is not. */
bool sl_event_known(const char *name);

/*
 * True when a subscription to subscribed ("*" or a known name) takes an
 * event published as event_type. Either NULL: false.
 */
bool sl_event_matches(const char *subscribed, const char *event_type);

/*
 * The event_type a subscriber of subscribed receives an event_type event
 * under: subscribed itself, or event_type for "*". Both borrowed; the
 * result is one of them. Only meaningful when sl_event_matches().
 */
const char *sl_event_delivered_name(const char *subscribed,
                                    const char *event_type);

/* The known names, in a fixed order, and how many there are (for docs,
 * errors and tests). */
extern const char *const sl_event_names[];
extern const size_t sl_event_nnames;

#endif
