/*
 * conf.h: the one read-only configuration of a Sluice daemon.
 *
 * Values come from, in rising precedence: the built-in defaults, a file of
 * "key = value" lines ('#' starts a comment; values may be double-quoted),
 * and environment variables named SLUICE_<KEY> in upper case
 * (SLUICE_DB_URL overrides db_url). A secret may instead be read from a
 * file named by <key>_file (jwt_secret_file, admin_key_file). An unknown
 * key in the file is an error, so a typo never passes silently.
 *
 * The struct is loaded once at start and then only read; a daemon reloads
 * by loading a new struct and swapping it in.
 */
#ifndef SL_CONF_H
#define SL_CONF_H

#include <stdbool.h>
#include <stddef.h>

struct sl_conf {
    /* Where the state lives. */
    char *db_url; /* libpq conninfo or URI, as the application role */
    /* The same, for sluice-runner, as the runner's own role
     * (sluice_runner); db_url when not given. */
    char *runner_db_url;
    /* The same, for the API's login statements alone, as the role that
     * alone may read and replace password hashes (sluice_login); db_url
     * when not given. */
    char *auth_db_url;
    /* The same, for sluice-hub's webhook deliverer, as the hub's own
     * role (sluice_hub); db_url when not given. */
    char *hub_db_url;
    char *nats_url; /* nats://host:port */
    int db_statement_timeout_ms;

    /* sluice-api */
    char *api_listen;    /* unix socket path, or ":port" / "host:port" */
    int api_socket_mode; /* permissions of a unix socket we create */
    int api_workers;     /* 0: the number of CPUs, plus one */
    int api_backlog;
    int graceful_timeout; /* seconds to drain on SIGTERM and SIGHUP */
    int max_body_bytes;
    int max_json_depth;
    int health_timeout_ms; /* how long /health/detailed waits per check */
    int auth_cache_ttl_ms; /* how long a token check is reused; 0: never */

    /* Identity. */
    char *jwt_secret; /* HS256 key; at least 32 bytes */
    char *admin_key;  /* X-Admin-Key; empty disables the admin endpoints */
    int access_token_ttl;
    int refresh_token_ttl;
    int password_cost; /* log2 of scrypt's N */
    char *default_organization;
    bool self_onboarding; /* POST /tenants/onboard without a key */
    /* The highest plan onboarding grants without the admin key: a plan's
     * name as plan.h spells it ("PROFESSIONAL"). */
    char *self_onboarding_max_plan;

    /* Data: connectors, files and the warehouse. */
    char *secret_key;    /* seals connector credentials: 32 bytes, hex or
                            base64; empty refuses credentials */
    char *data_dir;      /* where file connectors and modules may read/write */
    char *warehouse_url; /* libpq conninfo of the warehouse database */
    bool connector_allow_private; /* loopback and private addresses */
    int connector_timeout_ms;     /* bound on a connector's connect+query */
    /* Whether webhook and notification URLs may resolve to loopback,
     * private, link-local or metadata addresses. */
    bool webhook_allow_private;
    /* What an organisation's warehouse role may use (its SQL's limits). */
    int warehouse_statement_timeout_ms;
    int warehouse_temp_file_limit_mb;
    int warehouse_work_mem_mb;

    /* every daemon */
    int max_memory_mb; /* RLIMIT_DATA of each process; 0: none */

    /* sluice-runner */
    int runner_concurrency;   /* runs one runner executes at once */
    int runner_grace_seconds; /* how long SIGTERM waits for runs to end */
    bool runner_scheduler;    /* fires due schedules (one runner at a time) */
    int run_timeout_seconds;  /* a run's deadline, unless its pipeline's
                                 configuration.timeout says otherwise */
    int run_timeout_max_seconds; /* the longest deadline a pipeline may
                                    set; at least run_timeout_seconds */

    /* sluice-hub */
    char *hub_listen; /* address the WebSocket server binds */
    int hub_port;
    /* Signs the tickets the API gives nginx for each WebSocket handshake
     * (lib/ticket.h); the API and every hub share it. At least 32 bytes;
     * empty: the hub refuses every subscriber. */
    char *hub_ticket_key;
    int hub_ticket_ttl;      /* seconds a ticket is good for */
    int hub_queue_frames;    /* a subscriber's send queue, in frames */
    int hub_queue_kb;        /* ... and in kilobytes */
    int hub_ping_seconds;    /* keepalive ping interval; a peer silent
                                for twice this long is dropped */
    int hub_max_subscribers; /* subscribers one hub holds at most */
    /* ... and of one organisation (more: 429) */
    int hub_max_subscribers_per_org;
    /* A socket's longest life: then it is closed, to reconnect (and so be
     * authorised again) with since; also for credentials that never
     * expire (API keys). */
    int hub_session_max_seconds;
    int webhook_concurrency; /* deliveries one hub has in flight at once */
    /* deliveries to one endpoint in flight at once, over every hub */
    int webhook_endpoint_concurrency;

    /* The events stream (SLUICE_EVENTS): how far back ?since= reaches. */
    int events_max_age_hours; /* 0: no age limit */
    int events_max_mb;        /* 0: no size limit */

    /* Everyone. */
    char *log_level;
};

/*
 * Loads defaults, then the file at path (NULL: the file named by
 * $SLUICE_CONFIG, or none), then the environment. Returns 0, or a negative
 * code with a message naming the key or line in err (errsz bytes). On
 * failure cfg holds nothing that needs freeing.
 */
int sl_conf_load(struct sl_conf *cfg, const char *path, char *err,
                 size_t errsz);

/* Frees the strings of cfg. Accepts a zeroed struct. */
void sl_conf_free(struct sl_conf *cfg);

#endif
