/*
 * dispatch.h: serving one FastCGI request (dispatch.c), from nginx's
 * parameters to the bytes of the response.
 */
#ifndef API_DISPATCH_H
#define API_DISPATCH_H

#include <fcgiapp.h>

#include "request.h"

/* Answers one accepted FastCGI request. Never fails: errors become JSON. */
void api_handle(struct api_ctx *ctx, FCGX_Request *fcgi);

/*
 * Makes sure r has a response, given rc, what its handler (or the stage
 * before it that stopped) returned (request.h's rule): API_ANSWERED keeps the
 * response set; a negative SL_E* is answered 503 (SL_EDBCONN), 504
 * (SL_ETIMEDOUT) or 500, and logged; 0 or any other value, which no
 * handler may return, is logged as a bug and answered 500. A response
 * begun before a failure (headers) is dropped.
 */
void api_answer(struct api_req *r, int rc);

/*
 * For a WebSocket handshake's check (nginx's auth_request, which passes on
 * only 2xx, 401 and 403): turns r's refusal into a 401 or 403 that nginx
 * can answer as the real status (X-Sluice-Status, X-Sluice-Error,
 * X-Sluice-Message, and X-Sluice-Retry-After for a 429 or 503). A 2xx is
 * left as it is.
 */
void api_ws_auth_adapt(struct api_req *r);

#endif
