/*
 * test_daemon.c: the daemons' shared start-up: command line, configuration,
 * pid file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "unit.h"

static char conf_path[64], pid_path[64];

static void
setup(void)
{
    FILE *f;
    int fd;

    strcpy(conf_path, "/tmp/sl-daemon-XXXXXX");
    fd = mkstemp(conf_path);
    f = fdopen(fd, "w");
    fputs("hub_port = 9191\nlog_level = warn\n", f);
    fclose(f);
    snprintf(pid_path, sizeof(pid_path), "%s.pid", conf_path);
}

static void
teardown(void)
{
    unlink(conf_path);
    unlink(pid_path);
}

START_TEST(loads_the_named_configuration)
{
    struct sl_daemon d;
    char *argv[] = {"sluice-hub", "-c",     conf_path,
                    "--pid-file", pid_path, NULL};

    ck_assert_int_eq(sl_daemon_start(&d, "hub", 5, argv), 0);
    ck_assert_int_eq(d.conf.hub_port, 9191);
    ck_assert_int_eq(d.log.level, SL_LOG_WARN);
    ck_assert_str_eq(d.log.component, "hub");
    ck_assert(!d.check_only);
    ck_assert_int_eq(sl_daemon_write_pid(&d), 0);
    {
        FILE *f = fopen(pid_path, "r");
        long pid = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
        fclose(f);
        ck_assert_int_eq(pid, (long)getpid());
    }
    sl_daemon_stop(&d);
    ck_assert_int_ne(access(pid_path, F_OK), 0);
}
END_TEST

START_TEST(check_config_and_version)
{
    struct sl_daemon d;
    char *check[] = {"sluice-api", "-c", conf_path, "--check-config", NULL};
    char *version[] = {"sluice-api", "-V", NULL};

    ck_assert_int_eq(sl_daemon_start(&d, "api", 4, check), 0);
    ck_assert(d.check_only);
    sl_daemon_checked(&d);
    ck_assert_int_eq(sl_daemon_start(&d, "api", 2, version), 1);
}
END_TEST

START_TEST(refuses_bad_arguments_and_files)
{
    struct sl_daemon d;
    char *bad_flag[] = {"sluice-api", "--no-such-flag", NULL};
    char *missing[] = {"sluice-api", "-c", "/nonexistent/sluice.conf", NULL};

    ck_assert_int_eq(sl_daemon_start(&d, "api", 2, bad_flag), -1);
    ck_assert_int_eq(sl_daemon_start(&d, "api", 3, missing), -1);
}
END_TEST

START_TEST(instance_names_host_and_pid)
{
    char inst[160], want[32];

    sl_daemon_instance(inst, sizeof(inst));
    snprintf(want, sizeof(want), ":%ld", (long)getpid());
    ck_assert_ptr_nonnull(strstr(inst, want));
}
END_TEST

/*
 * With max_memory_mb, an allocation past the limit fails (as a hostile
 * server's huge row makes libpq's does) and the process lives on. In a
 * child of its own, so the limit does not outlive the test.
 */
START_TEST(memory_is_bounded)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char *p;

        if (sl_daemon_limit_memory(256) != 0)
            _exit(2);
#if !defined(__SANITIZE_ADDRESS__)
        p = malloc((size_t)512 * 1024 * 1024);
        if (p != NULL)
            _exit(3);
#endif
        p = malloc((size_t)16 * 1024 * 1024);
        if (p == NULL)
            _exit(4);
        memset(p, 1, (size_t)16 * 1024 * 1024);
        free(p);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child said %d", WEXITSTATUS(status));
}
END_TEST

static Suite *
daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, loads_the_named_configuration);
    tcase_add_test(tc, check_config_and_version);
    tcase_add_test(tc, refuses_bad_arguments_and_files);
    tcase_add_test(tc, instance_names_host_and_pid);
    tcase_add_test(tc, memory_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(daemon_suite)
