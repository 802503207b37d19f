/*
 * daemon.h: what the three Sluice daemons do alike at start: read their
 * command line, load and check the configuration, write a pid file.
 *
 *   sluice-<name> [-c FILE] [--pid-file FILE] [--check-config] [-V] [-h]
 *
 * Daemons stay in the foreground and log JSON lines to stderr; a service
 * manager (systemd, the dev stack's scripts) backgrounds them.
 */
#ifndef SL_DAEMON_H
#define SL_DAEMON_H

#include "conf.h"
#include "log.h"

struct sl_daemon {
    const char *name;      /* "api", "runner", "hub" (borrowed) */
    const char *conf_path; /* from -c, or NULL */
    const char *pid_file;  /* from --pid-file, or NULL */
    int check_only;        /* --check-config: check, print, exit */
    struct sl_conf conf;
    struct sl_logger log;
};

/*
 * Parses argv, loads the configuration and sets up the logger. Returns 0
 * to go on (with check_only set for --check-config: the daemon checks what
 * it needs, then calls sl_daemon_checked()), 1 when the process should
 * exit successfully at once (--help, --version), or -1 after printing why
 * it cannot start.
 */
int sl_daemon_start(struct sl_daemon *d, const char *name, int argc,
                    char **argv);

/*
 * Bounds the process's data (heap and private mappings: RLIMIT_DATA) to
 * mb megabytes, so that what a client or a tenant's data makes it
 * allocate (a hostile server's 1.5 GB row, read whole by libpq before
 * any check of ours) fails as "out of memory" instead of taking the host;
 * 0 or less sets no limit, and so does a build with AddressSanitizer.
 * sl_daemon_start() applies the configuration's max_memory_mb; children
 * (the API's workers) inherit it. Returns 0 or SL_EIO (errno set).
 */
int sl_daemon_limit_memory(int mb);

/* For --check-config: prints that all is well and frees the conf. */
void sl_daemon_checked(struct sl_daemon *d);

/* Writes the pid file, if one was asked for. Returns 0 or SL_EIO. */
int sl_daemon_write_pid(struct sl_daemon *d);

/* Removes the pid file and frees the configuration. */
void sl_daemon_stop(struct sl_daemon *d);

/* "host:pid", identifying this process in health answers. */
void sl_daemon_instance(char *out, size_t outsz);

#endif
