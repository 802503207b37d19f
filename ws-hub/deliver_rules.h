/*
 * deliver_rules.h: from an event to its delivery rows.
 *
 * An event of an organisation goes to each of its enabled webhooks that
 * subscribed to one of the event's names (sl_event_matches(): both
 * families of names, "*" for all), and to each enabled channel of each
 * enabled alert rule whose condition holds (condition.event_type as a
 * subscription; condition.filters, field -> value or [values], matched
 * against the event's data, then its top level; "5" matches 5).
 *
 * What each is sent, as text, is decided here, once, before anything is
 * sent: a webhook gets the event with event_type the name it subscribed
 * to ("*": the event's own); a webhook channel gets the same with
 * "alert": {"id", "name", "subject", "message"}, the rule's template
 * rendered (sl_template_render()); a Slack channel gets Slack's
 * incoming-webhook body, {"text": "*<subject>*\n<message>"} (&, < and >
 * escaped as Slack asks, as POST /notifications/send writes it) and the
 * channel's configured "channel", "username", "icon_emoji", "icon_url".
 *
 * webhook.delivery.exhausted never goes to the webhook or channel that
 * exhausted (data.webhook_id, data.channel_id), so that a dead endpoint
 * is not fed its own failures.
 */
#ifndef HUB_DELIVER_RULES_H
#define HUB_DELIVER_RULES_H

#include <stdbool.h>

#include <jansson.h>

/* Whether events on subject are never delivered: run.progress and
 * run.log, which are for WebSocket watchers only. */
bool hub_deliver_skipped(const char *subject);

/*
 * Appends to rows (a JSON array; borrowed) one object per delivery of
 * event (borrowed) of organisation tenant, whose stream sequence is seq,
 * given its endpoints as hub_endpoints() (sql/021) gives them
 * (borrowed): {"tenant_id", "event_id", "event_type" (as sent), "seq",
 * "body", and "webhook_id" or "alert_id" and "channel_id"}. event must
 * have string event_id and event_type. Returns 0 or SL_ENOMEM.
 */
int hub_deliver_rows(json_t *rows, const char *tenant, json_t *event,
                     json_int_t seq, json_t *endpoints);

/*
 * The process id in a lease owner's name, "<host>:<pid>/<random>", when
 * its instance part is prefix ("<host>:") followed by the digits of a
 * pid; else -1.
 */
long hub_deliver_owner_pid(const char *owner, const char *prefix);

#endif
