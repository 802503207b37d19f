/*
 * daemon.c: start-up shared by the daemons (see daemon.h).
 */
#include "config.h"

#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"

static void
usage(FILE *f, const char *name)
{
    fprintf(f,
            "usage: sluice-%s [-c FILE] [--pid-file FILE] [--check-config]\n"
            "  -c, --config FILE   configuration file (default: "
            "$SLUICE_CONFIG)\n"
            "  --pid-file FILE     write the process id to FILE\n"
            "  --check-config      load the configuration, then exit\n"
            "  -V, --version       print the version\n",
            name);
}

int
sl_daemon_start(struct sl_daemon *d, const char *name, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"pid-file", required_argument, NULL, 'p'},
        {"check-config", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[512];
    int c;

    memset(d, 0, sizeof(*d));
    d->name = name;
    sl_log_init(&d->log, name, SL_LOG_INFO, 2);
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:p:tVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            d->conf_path = optarg;
            break;
        case 'p':
            d->pid_file = optarg;
            break;
        case 't':
            d->check_only = 1;
            break;
        case 'V':
            printf("sluice-%s %s\n", name, PACKAGE_VERSION);
            return 1;
        case 'h':
            usage(stdout, name);
            return 1;
        default:
            usage(stderr, name);
            return -1;
        }
    }
    if (sl_conf_load(&d->conf, d->conf_path, err, sizeof(err)) != SL_OK) {
        sl_log_error(&d->log, "configuration: %s", err);
        return -1;
    }
    d->log.level = sl_log_level_parse(d->conf.log_level);
    if (!d->check_only && sl_daemon_limit_memory(d->conf.max_memory_mb) != 0) {
        sl_log_error(&d->log, "max_memory_mb: cannot set RLIMIT_DATA: %s",
                     strerror(errno));
        return -1;
    }
    return 0;
}

int
sl_daemon_limit_memory(int mb)
{
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's shadow memory is data too: no limit fits it. */
    (void)mb;
    return SL_OK;
#else
    struct rlimit rl;

    if (mb <= 0)
        return SL_OK;
    rl.rlim_cur = rl.rlim_max = (rlim_t)mb * 1024 * 1024;
    return setrlimit(RLIMIT_DATA, &rl) == 0 ? SL_OK : SL_EIO;
#endif
}

void
sl_daemon_checked(struct sl_daemon *d)
{
    printf("sluice-%s: configuration ok\n", d->name);
    sl_conf_free(&d->conf);
}

int
sl_daemon_write_pid(struct sl_daemon *d)
{
    FILE *f;

    if (d->pid_file == NULL)
        return SL_OK;
    f = fopen(d->pid_file, "w");
    if (f == NULL) {
        sl_log_error(&d->log, "cannot write %s: %s", d->pid_file,
                     strerror(errno));
        return SL_EIO;
    }
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? SL_OK : SL_EIO;
}

void
sl_daemon_stop(struct sl_daemon *d)
{
    if (d->pid_file != NULL)
        unlink(d->pid_file);
    sl_conf_free(&d->conf);
}

void
sl_daemon_instance(char *out, size_t outsz)
{
    char host[128];

    if (gethostname(host, sizeof(host)) != 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(out, outsz, "%s:%ld", host, (long)getpid());
}
