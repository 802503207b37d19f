/*
 * conf.c: loading struct sl_conf (see conf.h).
 *
 * The keys are one table: name, type, where the value goes, its default and
 * its bounds. Loading walks the table three times: defaults, file,
 * environment.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "limits.h"
#include "log.h"
#include "plan.h"

enum key_type { KEY_STR, KEY_INT, KEY_BOOL };

struct key {
    const char *name;
    enum key_type type;
    size_t offset;
    const char *def;
    long min, max;
    bool secret; /* may come from <name>_file */
};

#define STR(n, d)                                                              \
    {                                                                          \
#n, KEY_STR, offsetof(struct sl_conf, n), d, 0, 0, false               \
    }
#define SECRET(n, d)                                                           \
    {                                                                          \
#n, KEY_STR, offsetof(struct sl_conf, n), d, 0, 0, true                \
    }
#define INT(n, d, lo, hi)                                                      \
    {                                                                          \
#n, KEY_INT, offsetof(struct sl_conf, n), d, lo, hi, false             \
    }
#define BOOL(n, d)                                                             \
    {                                                                          \
#n, KEY_BOOL, offsetof(struct sl_conf, n), d, 0, 1, false              \
    }

static const struct key keys[] = {
    STR(db_url, "dbname=sluice"),
    /* Empty: db_url (see sl_conf_load()). */
    STR(runner_db_url, ""),
    STR(auth_db_url, ""),
    STR(hub_db_url, ""),
    STR(nats_url, "nats://127.0.0.1:4222"),
    INT(db_statement_timeout_ms, "30000", 100, 3600000),
    STR(api_listen, "/run/sluice/api.sock"),
    INT(api_socket_mode, "0660", 0, 0777),
    INT(api_workers, "0", 0, 256),
    INT(api_backlog, "1024", 1, 65535),
    INT(graceful_timeout, "30", 1, 3600),
    INT(max_body_bytes, "1048576", 1024, SL_MAX_BODY_CEIL),
    INT(max_json_depth, "32", 2, SL_MAX_JSON_DEPTH_CEIL),
    INT(health_timeout_ms, "1000", 10, 60000),
    INT(auth_cache_ttl_ms, "5000", 0, 300000),
    SECRET(jwt_secret, ""),
    SECRET(admin_key, ""),
    INT(access_token_ttl, "3600", 60, 86400),
    INT(refresh_token_ttl, "2592000", 300, 31536000),
    INT(password_cost, "17", 10, 20),
    STR(default_organization, "default"),
    BOOL(self_onboarding, "true"),
    STR(self_onboarding_max_plan, "PROFESSIONAL"),
    SECRET(secret_key, ""),
    STR(data_dir, "/var/lib/sluice/data"),
    STR(warehouse_url, "dbname=sluice_warehouse"),
    BOOL(connector_allow_private, "false"),
    BOOL(webhook_allow_private, "false"),
    INT(connector_timeout_ms, "5000", 100, 60000),
    INT(warehouse_statement_timeout_ms, "1800000", 100,
        SL_RUN_TIMEOUT_CEIL * 1000L),
    INT(warehouse_temp_file_limit_mb, "5120", 0, 1048576),
    INT(warehouse_work_mem_mb, "64", 1, 65536),
    INT(max_memory_mb, "2048", 0, 1048576),
    INT(runner_concurrency, "2", 1, 64),
    INT(runner_grace_seconds, "30", 0, 3600),
    BOOL(runner_scheduler, "true"),
    INT(run_timeout_seconds, "3600", 1, SL_RUN_TIMEOUT_CEIL),
    INT(run_timeout_max_seconds, "86400", 1, SL_RUN_TIMEOUT_CEIL),
    STR(hub_listen, "127.0.0.1"),
    INT(hub_port, "8090", 1, 65535),
    SECRET(hub_ticket_key, ""),
    INT(hub_ticket_ttl, "10", 1, 300),
    INT(hub_queue_frames, "256", 4, 65536),
    INT(hub_queue_kb, "512", 16, 65536),
    INT(hub_ping_seconds, "30", 1, 3600),
    INT(hub_max_subscribers, "30000", 1, 1000000),
    INT(hub_max_subscribers_per_org, "5000", 1, 1000000),
    INT(hub_session_max_seconds, "3600", 1, 604800),
    INT(webhook_concurrency, "256", 1, 4096),
    INT(webhook_endpoint_concurrency, "8", 1, 4096),
    INT(events_max_age_hours, "168", 0, 87600),
    INT(events_max_mb, "1024", 0, 1048576),
    STR(log_level, "info"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *
key_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(keys[i].name) == len &&
            strncmp(keys[i].name, name, len) == 0)
            return &keys[i];
    return NULL;
}

static int
parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return SL_EINVAL;
    return SL_OK;
}

/* Stores the text v as key k's value. */
static int
key_set(struct sl_conf *cfg, const struct key *k, const char *v, char *err,
        size_t errsz, const char *where)
{
    char *slot = (char *)cfg + k->offset;
    char *end;
    long n;

    switch (k->type) {
    case KEY_STR: {
        char *copy = strdup(v);

        if (copy == NULL)
            return SL_ENOMEM;
        free(*(char **)slot);
        *(char **)slot = copy;
        return SL_OK;
    }
    case KEY_INT:
        errno = 0;
        /* Base 0: "0660" is octal, as a file mode should be. */
        n = strtol(v, &end, 0);
        if (errno != 0 || end == v || *end != '\0' || n < k->min ||
            n > k->max) {
            snprintf(err, errsz, "%s: %s must be an integer in %ld..%ld", where,
                     k->name, k->min, k->max);
            return SL_EINVAL;
        }
        *(int *)slot = (int)n;
        return SL_OK;
    case KEY_BOOL:
        if (parse_bool(v, (bool *)slot) != SL_OK) {
            snprintf(err, errsz, "%s: %s must be true or false", where,
                     k->name);
            return SL_EINVAL;
        }
        return SL_OK;
    }
    return SL_EINVAL;
}

/* Reads a secret from a file: its first line, at most 4 KiB. */
static int
read_secret_file(const char *path, char **out)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return SL_EIO;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    *out = strdup(buf);
    return *out ? SL_OK : SL_ENOMEM;
}

static int
set_from_secret_file(struct sl_conf *cfg, const struct key *k, const char *path,
                     char *err, size_t errsz)
{
    char *v = NULL;
    int rc = read_secret_file(path, &v);

    if (rc != SL_OK) {
        snprintf(err, errsz, "%s_file: cannot read %s", k->name, path);
        return rc;
    }
    rc = key_set(cfg, k, v, err, errsz, "file");
    free(v);
    return rc;
}

static char *
trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int
load_file(struct sl_conf *cfg, const char *path, char *err, size_t errsz)
{
    char line[SL_MAX_CONFIG_LINE], where[64];
    FILE *f = fopen(path, "r");
    int lineno = 0, rc = SL_OK;
    long total = 0;

    if (f == NULL) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        return SL_EIO;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p, *eq, *name, *value;
        const struct key *k;
        size_t nlen;
        bool from_file = false;

        lineno++;
        total += (long)strlen(line);
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (total > SL_MAX_CONFIG_FILE ||
            (strchr(line, '\n') == NULL && !feof(f))) {
            snprintf(err, errsz, "%s: line or file too long", where);
            rc = SL_ETOOBIG;
            break;
        }
        p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        eq = strchr(p, '=');
        if (eq == NULL) {
            snprintf(err, errsz, "%s: expected key = value", where);
            rc = SL_EPARSE;
            break;
        }
        *eq = '\0';
        name = trim(p);
        value = trim(eq + 1);
        nlen = strlen(name);
        if (nlen > 5 && strcmp(name + nlen - 5, "_file") == 0) {
            nlen -= 5;
            from_file = true;
        }
        k = key_find(name, nlen);
        if (k == NULL || (from_file && !k->secret)) {
            snprintf(err, errsz, "%s: unknown key '%s'", where, name);
            rc = SL_EINVAL;
            break;
        }
        if (value[0] == '"') {
            size_t vlen = strlen(value);

            if (vlen < 2 || value[vlen - 1] != '"') {
                snprintf(err, errsz, "%s: unterminated quote", where);
                rc = SL_EPARSE;
                break;
            }
            value[vlen - 1] = '\0';
            value++;
        }
        rc = from_file ? set_from_secret_file(cfg, k, value, err, errsz)
                       : key_set(cfg, k, value, err, errsz, where);
        if (rc != SL_OK)
            break;
    }
    fclose(f);
    return rc;
}

static int
load_env(struct sl_conf *cfg, char *err, size_t errsz)
{
    char var[96];
    int rc;

    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const char *v;
        size_t j;

        snprintf(var, sizeof(var), "SLUICE_%s", k->name);
        for (j = 7; var[j] != '\0'; j++)
            var[j] = (char)toupper((unsigned char)var[j]);
        if (k->secret) {
            char fvar[112];

            snprintf(fvar, sizeof(fvar), "%s_FILE", var);
            v = getenv(fvar);
            if (v != NULL && *v != '\0') {
                rc = set_from_secret_file(cfg, k, v, err, errsz);
                if (rc != SL_OK)
                    return rc;
            }
        }
        v = getenv(var);
        if (v != NULL) {
            rc = key_set(cfg, k, v, err, errsz, var);
            if (rc != SL_OK)
                return rc;
        }
    }
    return SL_OK;
}

/*
 * Replaces the plan name in *slot (self_onboarding_max_plan) by its
 * canonical spelling. Returns 0, SL_EINVAL (no such plan, said in err) or
 * SL_ENOMEM.
 */
static int
canonical_plan(char **slot, char *err, size_t errsz)
{
    const char *name = sl_plan_name(sl_plan_parse(*slot));
    char *copy;

    if (name == NULL) {
        snprintf(err, errsz, "self_onboarding_max_plan: expected %s",
                 SL_PLAN_NAMES);
        return SL_EINVAL;
    }
    if ((copy = strdup(name)) == NULL)
        return SL_ENOMEM;
    free(*slot);
    *slot = copy;
    return SL_OK;
}

void
sl_conf_free(struct sl_conf *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == KEY_STR) {
            char **slot = (char **)((char *)cfg + keys[i].offset);

            free(*slot);
            *slot = NULL;
        }
    }
}

int
sl_conf_load(struct sl_conf *cfg, const char *path, char *err, size_t errsz)
{
    int rc = SL_OK;

    memset(cfg, 0, sizeof(*cfg));
    err[0] = '\0';
    for (size_t i = 0; i < NKEYS && rc == SL_OK; i++)
        rc = key_set(cfg, &keys[i], keys[i].def, err, errsz, "default");
    if (rc == SL_OK && path == NULL)
        path = getenv("SLUICE_CONFIG");
    if (rc == SL_OK && path != NULL && *path != '\0')
        rc = load_file(cfg, path, err, errsz);
    if (rc == SL_OK)
        rc = load_env(cfg, err, errsz);
    if (rc == SL_OK && sl_log_level_parse(cfg->log_level) < 0) {
        snprintf(err, errsz, "log_level: expected debug, info, warn or error");
        rc = SL_EINVAL;
    }
    if (rc == SL_OK)
        rc = canonical_plan(&cfg->self_onboarding_max_plan, err, errsz);
    if (rc == SL_OK &&
        cfg->run_timeout_seconds > cfg->run_timeout_max_seconds) {
        snprintf(err, errsz,
                 "run_timeout_seconds (%d) exceeds run_timeout_max_seconds "
                 "(%d)",
                 cfg->run_timeout_seconds, cfg->run_timeout_max_seconds);
        rc = SL_EINVAL;
    }
    /* A configuration older than runner_db_url keeps connecting the
     * runner as db_url says (the operator guide says what that costs). */
    if (rc == SL_OK && cfg->runner_db_url[0] == '\0') {
        free(cfg->runner_db_url);
        if ((cfg->runner_db_url = strdup(cfg->db_url)) == NULL)
            rc = SL_ENOMEM;
    }
    /* Likewise the hub's deliverer, as hub_db_url. */
    if (rc == SL_OK && cfg->hub_db_url[0] == '\0') {
        free(cfg->hub_db_url);
        if ((cfg->hub_db_url = strdup(cfg->db_url)) == NULL)
            rc = SL_ENOMEM;
    }
    /* Likewise the API's login connection, as auth_db_url. */
    if (rc == SL_OK && cfg->auth_db_url[0] == '\0') {
        free(cfg->auth_db_url);
        if ((cfg->auth_db_url = strdup(cfg->db_url)) == NULL)
            rc = SL_ENOMEM;
    }
    if (rc != SL_OK)
        sl_conf_free(cfg);
    return rc;
}
