/*
 * wsclient.h: a small blocking WebSocket client for the integration tests
 * (it_hub, it_live): the handshake through nginx or straight to a hub,
 * frames in and out, and waits bounded by a timeout.
 */
#ifndef WSCLIENT_H
#define WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "it.h"

/* WebSocket opcodes the tests look at. */
#define WS_TEXT  1
#define WS_CLOSE 8
#define WS_PING  9

struct ws_frame {
    int op;     /* opcode, or -1 on timeout, -2 when the peer closed */
    char *data; /* payload, NUL-terminated (malloc'd; free it) */
    size_t len;
    int code;     /* a close frame's status code */
    char *reason; /* and its reason (points into data) */
};

/*
 * Opens a WebSocket to target ("/ws/events?token=...") through nginx,
 * with extra header lines (each ending in \r\n; may be NULL). Returns the
 * socket after a 101, or -1 with the status in *status and the response
 * (head and body, malloc'd) in *resp if resp is not NULL.
 */
int ws_open_nginx(struct it_client *c, const char *target, const char *headers,
                  int *status, char **resp);

/* As ws_open_nginx(), straight to a hub on 127.0.0.1:port. */
int ws_open_direct(int port, const char *target, const char *headers,
                   int *status, char **resp);

/* Reads one frame within timeout_ms (pings are answered and skipped). */
void ws_read(int fd, int timeout_ms, struct ws_frame *f);

void ws_frame_free(struct ws_frame *f);

/* The next text message as JSON within timeout_ms, or NULL (a timeout, a
 * close: *closed then holds the close frame if closed is not NULL). */
json_t *ws_next(int fd, int timeout_ms, struct ws_frame *closed);

/* Sends one masked text frame. */
void ws_send(int fd, const char *text, size_t n);

/* A ticket for the stack's hubs, signed with its key (the test plays the
 * API): scope "events", "pipeline" or "run"; target for the latter two. */
char *ws_ticket(const char *tenant, const char *scope, const char *target,
                int ttl);

#endif
