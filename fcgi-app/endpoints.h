/*
 * endpoints.h: a URL someone asks Sluice to POST to (endpoints.c), as
 * webhooks (webhooks.c) and notification channels (notifications.c) are:
 * checking the URL before it is stored, including the refusal of hosts
 * that resolve to the platform's own networks (SSRF), sealing and opening
 * the secrets kept with it, and the "enabled" switch both have.
 */
#ifndef API_ENDPOINTS_H
#define API_ENDPOINTS_H

#include <stddef.h>

#include <jansson.h>

#include "check.h"
#include "request.h"

/* The longest URL a webhook or channel may have. */
#define API_ENDPOINT_URL_MAX 2048

/*
 * Checks url (borrowed), given for field, as a place Sluice may POST to:
 * http(s), at most API_ENDPOINT_URL_MAX bytes, printable ASCII, no user
 * name or password, a host that resolves within connector_timeout_ms
 * (lib/resolve.h); and, unless the operator allows it
 * (webhook_allow_private), none of its addresses loopback, private,
 * link-local (cloud metadata) or CGNAT (sl_pgconn_addr_private()).
 * Returns 0, SL_ENOMEM, or API_ANSWERED with the 422 set:
 * VALIDATION_ERROR for the shape or a host that does not resolve,
 * WEBHOOK_URL_FORBIDDEN for an address not allowed. Waits on DNS: call it
 * outside any transaction.
 */
int api_endpoint_url_check(struct api_req *r, const char *field,
                           const char *url) API_ANSWERS;

/*
 * Seals len bytes of plain (borrowed) with the configured secret_key,
 * bound to the caller's organisation and row id ("tenant/id",
 * lib/secretbox.h). Returns 0 with the sealed text in *sealed (the
 * pool's); API_ANSWERED with a 422 naming field when no secret_key is
 * configured; or the secretbox's code (*sealed NULL).
 */
int api_endpoint_seal(struct api_req *r, const char *id, const char *field,
                      const char *plain, size_t len,
                      const char **sealed) API_ANSWERS;

/*
 * Opens sealed (borrowed), made by api_endpoint_seal() for row id.
 * Returns 0 with the plaintext in *plain and its length in *len (owned by
 * the caller: release with sl_secretbox_free(*plain, *len)), SL_EINVAL
 * when no secret_key is configured, or the secretbox's code (*plain NULL).
 */
int api_endpoint_unseal(struct api_req *r, const char *id, const char *sealed,
                        char **plain, size_t *len);

/*
 * The member "enabled" of body (borrowed): "true", "false", or NULL when
 * absent, null, or not a boolean (then recorded in c).
 */
const char *api_endpoint_enabled(struct api_check *c, json_t *body);

#endif
