/*
 * main.c: sluice-api, the REST API as a pool of FastCGI workers.
 *
 *   sluice-api [-c FILE] [--pid-file FILE] [--check-config]  (daemon.h)
 *
 * The master process finds its listening socket, forks the workers and
 * then only supervises: it replaces a worker that dies (slowing down when
 * workers die at start, so that a broken configuration does not spin), on
 * SIGHUP reloads the configuration and replaces every worker gracefully,
 * and on SIGTERM or SIGINT lets every worker finish its request before it
 * exits. The master never touches PostgreSQL or NATS, so nothing of theirs
 * is shared across fork().
 *
 * The socket comes from, in order: systemd socket activation (LISTEN_FDS),
 * a socket already on file descriptor 0 (spawn-fcgi), or api_listen in the
 * configuration (a unix socket path, created with api_socket_mode, or
 * ":port" / "host:port").
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "authcache.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "err.h"
#include "log.h"
#include "worker.h"

#define MAX_WORKERS         256
#define SD_LISTEN_FDS_START 3

struct worker {
    pid_t pid;
    unsigned generation;
    int64_t started_us;
};

struct master {
    struct sl_daemon d; /* command line, configuration, logger */
    int listen_fd;
    char *socket_path;               /* we created it: unlink at exit */
    struct api_authcache *authcache; /* shared with every worker */
    struct worker workers[MAX_WORKERS];
    int nworkers; /* wanted, for the current generation */
    unsigned generation;
    int64_t respawn_delay_us;
    int64_t next_spawn_us;
};

/* Checks what the API cannot run without. Returns 0 or SL_EINVAL (logged). */
static int
conf_check(const struct sl_conf *conf, struct sl_logger *log)
{
    if (strlen(conf->jwt_secret) < 32) {
        sl_log_error(log, "jwt_secret must be at least 32 bytes (set "
                          "jwt_secret_file or SLUICE_JWT_SECRET)");
        return SL_EINVAL;
    }
    if (conf->admin_key[0] != '\0' && strlen(conf->admin_key) < 16) {
        sl_log_error(log, "admin_key must be at least 16 characters");
        return SL_EINVAL;
    }
    if (conf->admin_key[0] == '\0')
        sl_log_warn(log, "no admin_key: the /admin endpoints are disabled");
    return 0;
}

static int
worker_count(const struct sl_conf *conf)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = conf->api_workers;

    /* One per CPU and one more: a worker waiting on PostgreSQL leaves its
     * CPU to the others, and more than that only adds context switches
     * (each worker serves many connections; see worker.c). */
    if (n <= 0)
        n = (int)(cpus > 0 ? cpus + 1 : 2);
    if (n < 1)
        n = 1;
    return n > MAX_WORKERS ? MAX_WORKERS : n;
}

/* True when fd is a socket in the listening state. */
static int
is_listening_socket(int fd)
{
    int v = 0;
    socklen_t len = sizeof(v);

    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

/* True when something accepts connections on the unix socket at path. */
static int
socket_in_use(const char *path)
{
    struct sockaddr_un sa;
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path))
        return 0;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return rc == 0;
}

static int
open_listener(struct master *m)
{
    const char *listen_pid = getenv("LISTEN_PID");
    const char *listen_fds = getenv("LISTEN_FDS");
    const char *path = m->d.conf.api_listen;
    struct stat st;
    mode_t old;

    if (listen_pid != NULL && listen_fds != NULL &&
        atol(listen_pid) == (long)getpid() && atoi(listen_fds) >= 1) {
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        sl_log_info(&m->d.log, "listening on the socket systemd passed");
        return SD_LISTEN_FDS_START;
    }
    if (is_listening_socket(0)) {
        sl_log_info(&m->d.log, "listening on the socket inherited on fd 0");
        return 0;
    }
    if (path[0] == '/' || path[0] == '.') {
        if (lstat(path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                sl_log_error(&m->d.log, "%s exists and is not a socket", path);
                return -1;
            }
            if (socket_in_use(path)) {
                sl_log_error(&m->d.log, "%s is in use by another server", path);
                return -1;
            }
            unlink(path);
        }
        old = umask((mode_t)(~m->d.conf.api_socket_mode & 0777));
        m->listen_fd = FCGX_OpenSocket(path, m->d.conf.api_backlog);
        umask(old);
        if (m->listen_fd < 0) {
            sl_log_error(&m->d.log, "cannot listen on %s: %s", path,
                         strerror(errno));
            return -1;
        }
        chmod(path, (mode_t)m->d.conf.api_socket_mode);
        m->socket_path = strdup(path);
    } else {
        m->listen_fd = FCGX_OpenSocket(path, m->d.conf.api_backlog);
        if (m->listen_fd < 0) {
            sl_log_error(&m->d.log, "cannot listen on %s: %s", path,
                         strerror(errno));
            return -1;
        }
    }
    sl_log_info(&m->d.log, "listening on %s", path);
    return m->listen_fd;
}

/* Forks worker w. Returns 0, or SL_EIO (logged) when fork() fails. */
static int
spawn(struct master *m, struct worker *w)
{
    pid_t pid = fork();

    if (pid < 0) {
        sl_log_error(&m->d.log, "fork failed: %s", strerror(errno));
        return SL_EIO;
    }
    if (pid == 0) {
        sigset_t none;

        /* The child starts with the master's signals unblocked. */
        signal(SIGCHLD, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* exit(), not _exit(): a sanitizer build checks the worker too. */
        exit(api_worker_run(&m->d.conf, m->listen_fd, m->authcache));
    }
    w->pid = pid;
    w->generation = m->generation;
    w->started_us = sl_clock_mono_us();
    return 0;
}

static int
count_current(const struct master *m)
{
    int n = 0;

    for (int i = 0; i < MAX_WORKERS; i++)
        if (m->workers[i].pid > 0 && m->workers[i].generation == m->generation)
            n++;
    return n;
}

static int
count_alive(const struct master *m)
{
    int n = 0;

    for (int i = 0; i < MAX_WORKERS; i++)
        if (m->workers[i].pid > 0)
            n++;
    return n;
}

/* Starts workers until the current generation has nworkers. */
static void
fill(struct master *m)
{
    int64_t now = sl_clock_mono_us();

    if (now < m->next_spawn_us)
        return;
    for (int i = 0; i < MAX_WORKERS && count_current(m) < m->nworkers; i++)
        if (m->workers[i].pid == 0 && spawn(m, &m->workers[i]) != 0)
            break;
}

/* Collects exited workers; a worker that died young slows respawning. */
static void
reap(struct master *m, int stopping)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_WORKERS; i++) {
            struct worker *w = &m->workers[i];
            int64_t lived;

            if (w->pid != pid)
                continue;
            lived = sl_clock_mono_us() - w->started_us;
            w->pid = 0;
            if (stopping || w->generation != m->generation)
                break;
            if (WIFSIGNALED(status))
                sl_log_error(&m->d.log, "worker %d killed by signal %d",
                             (int)pid, WTERMSIG(status));
            else
                sl_log_error(&m->d.log, "worker %d exited with status %d",
                             (int)pid, WEXITSTATUS(status));
            if (lived < 1000000) {
                m->respawn_delay_us =
                    m->respawn_delay_us ? m->respawn_delay_us * 2 : 100000;
                if (m->respawn_delay_us > 5000000)
                    m->respawn_delay_us = 5000000;
                m->next_spawn_us = sl_clock_mono_us() + m->respawn_delay_us;
            } else {
                m->respawn_delay_us = 0;
            }
            break;
        }
    }
}

static void
signal_generation(struct master *m, int sig, int only_old)
{
    for (int i = 0; i < MAX_WORKERS; i++) {
        struct worker *w = &m->workers[i];

        if (w->pid > 0 && (!only_old || w->generation != m->generation))
            kill(w->pid, sig);
    }
}

static void
reload(struct master *m)
{
    struct sl_conf fresh;
    char err[512];

    if (sl_conf_load(&fresh, m->d.conf_path, err, sizeof(err)) != SL_OK) {
        sl_log_error(&m->d.log, "reload: keeping the old configuration: %s",
                     err);
        return;
    }
    if (conf_check(&fresh, &m->d.log) != 0) {
        sl_conf_free(&fresh);
        sl_log_error(&m->d.log, "reload: keeping the old configuration");
        return;
    }
    if (strcmp(fresh.api_listen, m->d.conf.api_listen) != 0)
        sl_log_warn(&m->d.log, "reload: api_listen changes need a restart");
    sl_conf_free(&m->d.conf);
    m->d.conf = fresh;
    m->d.log.level = sl_log_level_parse(m->d.conf.log_level);
    api_authcache_set_ttl(m->authcache, m->d.conf.auth_cache_ttl_ms);
    m->generation++;
    m->nworkers = worker_count(&m->d.conf);
    m->next_spawn_us = 0;
    m->respawn_delay_us = 0;
    /* New workers first, so that nothing waits; the old ones then finish
     * what they hold and exit. */
    fill(m);
    signal_generation(m, SIGTERM, 1);
    sl_log_info(&m->d.log, "reloaded: generation %u with %d workers",
                m->generation, m->nworkers);
}

/* Stops every worker: TERM, then KILL after the grace period. */
static void
shutdown_workers(struct master *m, const sigset_t *set)
{
    int64_t deadline =
        sl_clock_mono_us() + (int64_t)m->d.conf.graceful_timeout * 1000000;
    struct timespec tick = {0, 100 * 1000 * 1000};

    signal_generation(m, SIGTERM, 0);
    while (count_alive(m) > 0 && sl_clock_mono_us() < deadline) {
        sigtimedwait(set, NULL, &tick);
        reap(m, 1);
    }
    if (count_alive(m) > 0) {
        sl_log_warn(&m->d.log, "%d workers did not stop in %d s; killing them",
                    count_alive(m), m->d.conf.graceful_timeout);
        signal_generation(m, SIGKILL, 0);
        while (count_alive(m) > 0) {
            sigtimedwait(set, NULL, &tick);
            reap(m, 1);
        }
    }
}

int
main(int argc, char **argv)
{
    struct master m;
    sigset_t set;
    struct timespec tick = {1, 0};
    int run = 1, rc;

    memset(&m, 0, sizeof(m));
    m.listen_fd = -1;
    rc = sl_daemon_start(&m.d, "api", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    if (conf_check(&m.d.conf, &m.d.log) != 0)
        return 1;
    if (m.d.check_only) {
        sl_daemon_checked(&m.d);
        return 0;
    }

    /* Signals are taken synchronously, with sigtimedwait(). */
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    m.listen_fd = open_listener(&m);
    if (m.listen_fd < 0)
        return 1;
    if (FCGX_Init() != 0) {
        sl_log_error(&m.d.log, "FCGX_Init failed");
        return 1;
    }
    sl_daemon_write_pid(&m.d);
    m.authcache = api_authcache_create(m.d.conf.auth_cache_ttl_ms);
    if (m.authcache == NULL)
        sl_log_warn(&m.d.log, "no shared token cache: every request checks "
                              "its token in the database");

    m.nworkers = worker_count(&m.d.conf);
    fill(&m);
    sl_log_info(&m.d.log, "sluice-api %s started with %d workers",
                PACKAGE_VERSION, m.nworkers);

    while (run) {
        int sig = sigtimedwait(&set, NULL, &tick);

        switch (sig) {
        case SIGCHLD:
            reap(&m, 0);
            break;
        case SIGHUP:
            sl_log_info(&m.d.log, "SIGHUP: reloading");
            reload(&m);
            break;
        case SIGTERM:
        case SIGINT:
            sl_log_info(&m.d.log, "signal %d: draining and stopping", sig);
            run = 0;
            continue;
        default:
            break;
        }
        reap(&m, 0);
        fill(&m);
    }

    shutdown_workers(&m, &set);
    if (m.socket_path != NULL)
        unlink(m.socket_path);
    sl_log_info(&m.d.log, "stopped");
    free(m.socket_path);
    api_authcache_destroy(m.authcache);
    sl_daemon_stop(&m.d);
    return 0;
}
