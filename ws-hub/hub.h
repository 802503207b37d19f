/*
 * hub.h: sluice-hub's parts and the one context that binds them.
 *
 * Threads (see docs/operator-guide.md, "sluice-hub"):
 *   - the loop thread runs libwebsockets and owns every subscriber, the
 *     subscriber index, every send queue and every frame's reference
 *     count once a frame is handed to it;
 *   - nats.c's threads run the live feed's callback (feed.c): it parses
 *     each event once, builds its outgoing frame once, and hands it to the
 *     loop through the inbox (a bounded queue: mutex, then
 *     lws_cancel_service(), which wakes the loop with
 *     LWS_CALLBACK_EVENT_WAIT_CANCELLED);
 *   - one catch-up thread (catchup.c) reads a new subscriber's snapshot
 *     from PostgreSQL or replays JetStream from its ?since=, and hands the
 *     results to the loop through the same inbox;
 *   - the maintenance thread (main.c) takes signals, checks the database
 *     and (re)creates the live feed.
 * Why not nats.c's libuv adapter with libwebsockets on libuv: that
 * adapter needs every NATS call on the loop thread, and JetStream's
 * synchronous calls (creating a consumer, reading stream info) would then
 * block every subscriber.
 */
#ifndef HUB_H
#define HUB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "bus.h"
#include "daemon.h"
#include "db.h"
#include "liveness.h"
#include "pool.h"
#include "ticket.h"

/* --- frames: one outgoing message, shared by every subscriber ------------ */

struct hub_frame {
    int refs;     /* loop thread only, once handed to it */
    uint64_t seq; /* the event's stream sequence; 0 for none */
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
};

/* A frame of text (copied), one reference held by the caller; NULL when
 * out of memory. */
struct hub_frame *hub_frame_create(const char *text, size_t len, uint64_t seq);

/* Takes a reference; drops one, freeing the frame with the last. Both
 * accept NULL. */
void hub_frame_ref(struct hub_frame *f);
void hub_frame_unref(struct hub_frame *f);

/* --- events: what subscribers are matched on -------------------------------
 */

struct hub_event {
    char tenant[64];
    char pipeline_id[40];
    char run_id[40];
    char type[64];
    uint64_t seq;
    struct hub_frame *frame; /* the message, one reference owned */
};

/*
 * Parses an event body (DESIGN.md's event: event_id, event_type,
 * timestamp, organization_id, data) published on subject with stream
 * sequence seq, and builds its WebSocket message (frame.c: seed 004's
 * execution_update, log, or a plain event). Returns a new event (free
 * with hub_event_destroy()) or NULL for a body that is not one.
 */
struct hub_event *hub_event_parse(const char *subject, const char *data,
                                  size_t len, uint64_t seq);

void hub_event_destroy(struct hub_event *ev);

/* --- the inbox: other threads to the loop ------------------------------- */

enum hub_item_kind {
    HUB_ITEM_EVENT,    /* a live event: ev */
    HUB_ITEM_CATCHUP,  /* a finished catch-up job: job */
    HUB_ITEM_FEED_GAP, /* the feed lost events: since, resumes_at */
};

struct hub_catchup;

struct hub_item {
    enum hub_item_kind kind;
    struct hub_event *ev;
    struct hub_catchup *job;
    uint64_t since, resumes_at;
    struct hub_item *next;
};

struct hub_inbox {
    pthread_mutex_t mu;
    pthread_cond_t room;
    struct hub_item *head, *tail;
    size_t n, max;
    bool closed;
    struct lws_context *lws;
};

void hub_inbox_init(struct hub_inbox *in, size_t max, struct lws_context *lws);
void hub_inbox_free(struct hub_inbox *in);

/*
 * Appends item (taken) and wakes the loop. Waits while the inbox holds
 * max items (so a flood slows NATS's delivery rather than growing
 * without bound). Returns 0, or SL_EINVAL once closed (the item freed).
 */
int hub_inbox_put(struct hub_inbox *in, struct hub_item *item);

/* Takes up to max items (a list, oldest first; the caller's; NULL if
 * none); *more tells whether items remain. */
struct hub_item *hub_inbox_take(struct hub_inbox *in, size_t max, bool *more);

/* Items the loop handles between two turns of its sockets at most. */
#define HUB_DRAIN_MAX 64

/* Refuses further items and wakes waiting writers. */
void hub_inbox_close(struct hub_inbox *in);

/* --- subscribers ------------------------------------------------------------
 */

struct hub_key;

/* The send queue's first slots, inside struct hub_sub. */
#define HUB_QUEUE_BASE 8
/* A subscriber pool's first block: struct hub_sub and a little more. */
#define HUB_POOL_BLOCK 1024

/*
 * One WebSocket subscriber. Allocated by conn.c when its handshake's
 * ticket verifies; lives until the connection closed and no catch-up job
 * refers to it (refs). Loop thread only.
 *
 * Its memory is its own pool (lib/pool.h), created when it is admitted
 * and destroyed in one call with its last reference: the struct itself in
 * the pool's small first block (HUB_POOL_BLOCK), with the send queue's
 * first HUB_QUEUE_BASE slots. What comes and goes is a block of the pool
 * taken when needed and given back when done (sl_pfree_block()): the
 * queue's storage beyond those slots (hub_queue_frames slots at once,
 * until the queue is empty again), the frames held while catching up
 * (hub_queue_frames slots, until caught up), a client message in pieces
 * (SL_MAX_WS_MESSAGE bytes, until whole), the filter lists (until
 * replaced). An idle subscriber holds its struct only. The frames are not
 * pool memory: each is shared by every subscriber it is for, and the
 * queue holds a reference.
 */
struct hub_sub {
    struct hub_ctx *ctx;
    sl_pool *pool;   /* everything of the subscriber's; s itself is in it */
    struct lws *wsi; /* NULL once the connection closed */
    int refs;

    struct sl_ticket t; /* tenant, scope, target, credential expiry */
    /* /ws/events filters (NULL: all); each an array of strings, both in
     * one block of the pool (filters; NULL when neither). */
    char **types;
    int ntypes;
    char **pipes;
    int npipes;
    void *filters;

    /* The index (index.c): the list of subscribers under one key. */
    struct hub_key *key;
    struct hub_sub *prev, *next;

    /* The send queue: a ring of frames, bounded by frames and bytes; q is
     * qbase, or a block of hub_queue_frames slots. */
    struct hub_frame **q;
    unsigned qhead, qlen, qcap;
    size_t qbytes;
    struct hub_frame *qbase[HUB_QUEUE_BASE];
    /* Live frames held while catching up (then flushed in order): a block
     * of hub_queue_frames slots, or NULL. */
    struct hub_frame **held;
    unsigned nheld, capheld;
    size_t heldbytes;

    uint64_t last_seq;   /* the highest seq queued: later ones only */
    uint64_t sent_seq;   /* the highest seq written to the socket */
    uint64_t caught_seq; /* the seq of the caught_up message */
    uint64_t since;
    bool has_since;
    bool catching_up;
    bool want_more; /* a replay stopped at its batch: more once drained */
    bool gap_sent;
    bool org_counted;     /* in its organisation's count (hub_org_add()) */
    bool timer_is_expiry; /* the timer is the credential's, not the
                             session's end (hub_session_max_seconds) */

    /* Closing: a close frame with this code and reason, then the end. */
    bool closing;
    int close_code;
    char close_reason[124];

    char *rx; /* a client message being reassembled (a block), or NULL */
    size_t rxlen;
};

/* --- the context ----------------------------------------------------------
 */

#define HUB_INDEX_BUCKETS 16384
#define HUB_JOBQ_BUCKETS  1024

struct hub_jobq;

struct hub_ctx {
    struct sl_daemon d;
    struct sl_db db; /* used by the maintenance thread only */
    struct sl_bus bus;
    struct sl_liveness live;
    struct lws_context *lws;
    atomic_bool stop;
    atomic_int clients;
    sigset_t signals;

    struct hub_inbox inbox;
    natsSubscription *feed; /* the live ordered consumer, or NULL */
    pthread_mutex_t feed_mu;
    atomic_uint_fast64_t feed_seq; /* the last sequence the feed saw */

    /* Loop thread only. */
    struct hub_key *index[HUB_INDEX_BUCKETS];
    uint64_t loop_seq; /* the last sequence dispatched */
    int64_t subscribers;

    /* The catch-up thread (catchup.c): a queue of jobs per organisation,
     * the organisations with jobs taken in turn (round robin). */
    pthread_t catchup_thread;
    bool catchup_started;
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cond;
    struct hub_jobq *turns_head, *turns_tail;
    struct hub_jobq *jobqs[HUB_JOBQ_BUCKETS];
    bool jobs_stop;
    struct sl_db catchup_db;
};

/* --- index.c ----------------------------------------------------------------
 */

/* Adds s under its ticket's key (its tenant's events, a pipeline, a run). */
int hub_index_add(struct hub_ctx *ctx, struct hub_sub *s);
void hub_index_remove(struct hub_ctx *ctx, struct hub_sub *s);

/* Subscribers of tenant on this hub (the count hub_org_add() and
 * hub_org_remove() keep); hub_org_add() returns 0 or SL_ENOMEM. */
int64_t hub_org_count(struct hub_ctx *ctx, const char *tenant);
int hub_org_add(struct hub_ctx *ctx, const char *tenant);
void hub_org_remove(struct hub_ctx *ctx, const char *tenant);

/* Whether ev is for s (its scope and, for /ws/events, its filters). */
bool hub_sub_matches(const struct hub_sub *s, const struct hub_event *ev);

/* Hands ev to every subscriber it is for (each a reference). */
void hub_index_dispatch(struct hub_ctx *ctx, const struct hub_event *ev);

/* Calls fn for every subscriber in the index (fn may close it, not
 * remove it). */
void hub_index_each(struct hub_ctx *ctx, void (*fn)(struct hub_sub *, void *),
                    void *arg);

/* --- conn.c ----------------------------------------------------------------
 */

extern const struct lws_protocols hub_protocols[];

/* Queues (or, while s catches up, holds) frame for s: a reference. A
 * frame at or below s's last seq is dropped (never twice); an overflow
 * closes s with a reason naming where to resume. */
void hub_sub_deliver(struct hub_sub *s, struct hub_frame *f);

/* Begins closing s with code and reason (a close frame, then the end). */
void hub_sub_close(struct hub_sub *s, int code, const char *reason);

/* Drops a reference to s, freeing it with the last. */
void hub_sub_unref(struct hub_sub *s);

/* Handles one item from the inbox (loop thread); frees it. */
void hub_handle_item(struct hub_ctx *ctx, struct hub_item *item);

/* Drains the inbox (loop thread). */
void hub_drain(struct hub_ctx *ctx);

/* --- feed.c ----------------------------------------------------------------
 */

/* Creates the live feed (an ordered push consumer on sluice.event.>)
 * unless it exists: new events only the first time, from the event after
 * feed_seq when made again (a gap item to the loop when the stream no
 * longer holds it). Returns 0 or SL_EBUS. Any thread but the loop's. */
int hub_feed_start(struct hub_ctx *ctx);
void hub_feed_stop(struct hub_ctx *ctx);

/* --- catchup.c -------------------------------------------------------------
 */

struct hub_catchup {
    struct hub_sub *sub; /* a reference held by the job */
    struct sl_ticket t;
    bool snapshot;     /* read the current state (no ?since=) */
    uint64_t since;    /* else replay the events after this one */
    uint64_t snap_seq; /* the seq a snapshot stands at */
    int max;           /* events per job at most */
    size_t max_bytes;  /* and bytes of their messages */

    /* Results. */
    struct hub_event **evs;
    int nevs;
    struct hub_frame **snap; /* snapshot messages */
    int nsnap;
    uint64_t first_seq;   /* the stream's first sequence (for a gap) */
    uint64_t stream_last; /* and its last, when the replay began */
    uint64_t last_seq;    /* the last sequence replayed */
    bool more;            /* stopped at max: ask again from last_seq */
    int error;
    struct hub_catchup *next;
};

int hub_catchup_start(struct hub_ctx *ctx);
void hub_catchup_stop(struct hub_ctx *ctx);

/* Queues job (taken) for the catch-up thread, behind its organisation's
 * other jobs: organisations take turns, one job each, so that one
 * organisation's many replays cannot hold up another's snapshot. Returns
 * 0, or SL_ENOMEM (job not taken). */
int hub_catchup_submit(struct hub_ctx *ctx, struct hub_catchup *job);

void hub_catchup_destroy(struct hub_catchup *job);

/* --- jobq.c: the catch-up jobs, organisations in turn (jobs_mu held) -- */

/* Queues job (taken) behind its organisation's others. Returns 0, or
 * SL_ENOMEM (job not taken). */
int hub_jobq_put(struct hub_ctx *ctx, struct hub_catchup *job);

/* The next job in turn (the caller's), or NULL when none waits. */
struct hub_catchup *hub_jobq_take(struct hub_ctx *ctx);

#endif
