/*
 * notifications.h: seed 001's notification service (notifications.c):
 * channels, alert rules and sending to a channel now. Its handlers are
 * in handlers.h; this header names what a channel's sealed part holds,
 * for whoever opens it (the hub's deliverer).
 *
 * A channel's secret column is sealed JSON (lib/secretbox.h, bound to
 * "tenant/channel-id"): {"url": "<where to POST>", "secret": "<signing
 * secret>"}, "secret" present only when a webhook channel was given one.
 */
#ifndef API_NOTIFICATIONS_H
#define API_NOTIFICATIONS_H

/* The members of a channel's sealed JSON. */
#define API_CHANNEL_SEALED_URL    "url"
#define API_CHANNEL_SEALED_SECRET "secret"

#endif
