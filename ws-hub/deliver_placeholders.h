/*
 * deliver_placeholders.h: TEMPORARY stand-ins for lib/events.h and
 * lib/template.h, which the API's branch brings (issue 11). The
 * deliverer is written against their signatures; when that branch is
 * merged, delete this file and deliver_placeholders.c, include
 * "events.h" and "template.h" in deliver.c instead, and drop the file
 * from Makefile.am.
 */
#ifndef HUB_DELIVER_PLACEHOLDERS_H
#define HUB_DELIVER_PLACEHOLDERS_H

#include <stdbool.h>

#include <jansson.h>

/* Whether a subscription to subscribed ("*", or an event name of either
 * family) takes an event named event_type. */
bool sl_event_matches(const char *subscribed, const char *event_type);

/* Renders tmpl, replacing each {{field}} by the event's data.field, or
 * its top-level field, or "" (numbers and booleans as JSON). Returns 0
 * and *out (the caller's, to free()), or a negative code. */
int sl_template_render(const char *tmpl, json_t *event, char **out);

#endif
