/*
 * dispatch.h: serving one FastCGI request (dispatch.c), from nginx's
 * parameters to the bytes of the response.
 */
#ifndef API_DISPATCH_H
#define API_DISPATCH_H

#include <fcgiapp.h>

#include "api.h"

/* Answers one accepted FastCGI request. Never fails: errors become JSON. */
void api_handle(struct api_ctx *ctx, FCGX_Request *fcgi);

#endif
