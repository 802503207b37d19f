/*
 * template.h: alert templates, "{{field}}" placeholders filled from an
 * event.
 *
 * An alert rule's subject and body (seed 001) say "Pipeline
 * {{pipeline_name}} failed at {{timestamp}}. Error: {{error_message}}".
 * A placeholder is "{{", optional spaces, a name, optional spaces, "}}".
 * A name is letters, digits, '_', '-' and '.', at most
 * SL_TEMPLATE_NAME_MAX bytes; dots walk into objects. It is looked up
 * first in the event's "data" ({{pipeline_name}}, {{error_message}},
 * {{records_processed}}, {{result_data.rows}}), then in the event itself
 * ({{timestamp}}, {{event_type}}, {{organization_id}}, {{data.status}}).
 *
 * Values are inserted as text, once: a string as it is (a value that
 * itself holds "{{x}}" is not expanded again), a number or boolean as
 * JSON writes it, an object or array as compact JSON; a missing field
 * or null gives "". There are no escapes, conditionals or loops.
 *
 * Bounds: a template is at most SL_TEMPLATE_MAX_IN bytes of UTF-8; the
 * output is at most SL_TEMPLATE_MAX_OUT bytes, cut at a character
 * boundary when the values would make it longer. The output is valid
 * UTF-8 whenever the template is (jansson's strings always are).
 */
#ifndef SL_TEMPLATE_H
#define SL_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#define SL_TEMPLATE_MAX_IN   8192
#define SL_TEMPLATE_MAX_OUT  16384
#define SL_TEMPLATE_NAME_MAX 128

/*
 * Checks tmpl (NULL counts as "") without rendering it. Returns 0, or
 * SL_EINVAL with the reason (a sentence naming the offset, e.g. "'{{' at
 * byte 12 is not closed by '}}'") in why (whysz bytes; why may be NULL),
 * or SL_ETOOBIG when tmpl is longer than SL_TEMPLATE_MAX_IN.
 * Refused: "{{" without "}}", "}}" without "{{", an empty or malformed
 * name, a template that is not UTF-8.
 */
int sl_template_check(const char *tmpl, char *why, size_t whysz);

/*
 * Renders tmpl with the fields of event (borrowed; a JSON object, or
 * NULL: every placeholder then gives ""). Returns 0 and the text in *out,
 * NUL-terminated, owned by the caller (free()); SL_EINVAL or SL_ETOOBIG
 * when sl_template_check() refuses tmpl; SL_ENOMEM. *out is NULL on
 * failure.
 */
int sl_template_render(const char *tmpl, json_t *event, char **out);

#endif
