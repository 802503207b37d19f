/*
 * deliver.h: sluice-hub's webhook deliverer.
 *
 * Two threads of its own, apart from the hub's WebSocket loop, which
 * they never block:
 *
 * - ingest: reads the events stream (sluice.event.>) through one durable
 *   JetStream pull consumer that every hub shares ("sluice-deliveries":
 *   each event goes to one hub), and turns each event into delivery rows,
 *   one per matching webhook and per matching alert rule and channel,
 *   written before anything is sent; the NATS message is acknowledged
 *   only once they are committed, and a message delivered again maps to
 *   the same rows (one per event and endpoint, ON CONFLICT DO NOTHING).
 *   run.progress and run.log events never become deliveries.
 * - send: one epoll loop that claims due rows (leased to this hub, so
 *   several hubs share them, and a dead hub's rows come back when its
 *   leases run out), and sends up to webhook_concurrency of them at once
 *   with a small HTTP/1.1 client of its own (lib/httpc.h), over TLS for
 *   https (OpenSSL, the system's CAs, the name verified). Host names are
 *   resolved by two resolver threads; every address is checked
 *   (sl_pgconn_addr_private()) unless webhook_allow_private, and the
 *   connection goes to the very address checked. It wakes on
 *   sluice.delivery.wake (core NATS), when ingest adds rows, and every
 *   second.
 *
 * Delivery is at least once: a row is sent again under the same msg_id
 * (webhook-id) until an outcome is recorded for it.
 *
 * What the API stores, and the hub reads (lib/secretbox.h, with
 * secret_key, associated data "<tenant_id>/<row id>"): a webhook's
 * secret and secret_previous, each the secret's text sealed as is; a
 * channel's secret, the JSON {"url": ..., "secret": ...} sealed (secret
 * optional: a channel without one is sent unsigned, as Slack is). A row
 * the API adds itself (POST /notifications/send, a redelivery) carries
 * the exact body to send; the API publishes SL_SUBJ_DELIVERY_WAKE after
 * its commit so that a hub sends it at once.
 */
#ifndef HUB_DELIVER_H
#define HUB_DELIVER_H

#include "bus.h"
#include "conf.h"
#include "log.h"

struct hub_deliver;

/*
 * Starts the deliverer. conf, log and bus are borrowed and must outlive
 * it (until hub_deliver_stop() returns). It connects to PostgreSQL as
 * conf->hub_db_url says, and keeps trying while the database or NATS is
 * away. Returns 0 and the deliverer in *out, or SL_ENOMEM, SL_EIO
 * (threads, epoll), SL_ECRYPTO (TLS set-up).
 */
int hub_deliver_start(const struct sl_conf *conf, struct sl_logger *log,
                      struct sl_bus *bus, struct hub_deliver **out);

/*
 * Stops both threads, waiting up to a few seconds for deliveries in
 * flight (those it abandons are sent again, by this hub or another, once
 * their leases run out), and frees everything. Accepts NULL.
 */
void hub_deliver_stop(struct hub_deliver *d);

#endif
