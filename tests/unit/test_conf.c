/*
 * test_conf.c: defaults, file, environment and secret files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "unit.h"

static char path[64];

static void
write_file(const char *text)
{
    int fd;
    FILE *f;

    strcpy(path, "/tmp/sl-config-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

static void
teardown(void)
{
    if (path[0] != '\0')
        unlink(path);
    path[0] = '\0';
    unsetenv("SLUICE_API_WORKERS");
    unsetenv("SLUICE_CONFIG");
    unsetenv("SLUICE_JWT_SECRET");
    unsetenv("SLUICE_ADMIN_KEY_FILE");
    unsetenv("SLUICE_RUNNER_DB_URL");
}

START_TEST(defaults)
{
    struct sl_conf c;
    char err[256];

    ck_assert_int_eq(sl_conf_load(&c, NULL, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.db_url, "dbname=sluice");
    ck_assert_str_eq(c.runner_db_url, "dbname=sluice");
    ck_assert_int_eq(c.access_token_ttl, 3600);
    ck_assert_int_eq(c.api_socket_mode, 0660);
    ck_assert(c.self_onboarding);
    ck_assert_str_eq(c.self_onboarding_max_plan, "PROFESSIONAL");
    ck_assert_int_eq(c.password_cost, 17);
    ck_assert(c.runner_scheduler);
    ck_assert_str_eq(c.jwt_secret, "");
    /* Runs and the warehouse are bounded by default. */
    ck_assert_int_eq(c.run_timeout_seconds, 3600);
    ck_assert_int_eq(c.run_timeout_max_seconds, 86400);
    ck_assert_int_eq(c.max_memory_mb, 2048);
    ck_assert_int_eq(c.warehouse_statement_timeout_ms, 1800000);
    ck_assert_int_eq(c.warehouse_temp_file_limit_mb, 5120);
    ck_assert_int_eq(c.warehouse_work_mem_mb, 64);
    sl_conf_free(&c);
}
END_TEST

START_TEST(onboarding_ceiling_is_a_plan)
{
    struct sl_conf c;
    char err[256];

    write_file("self_onboarding_max_plan = scale\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.self_onboarding_max_plan, "SCALE");
    sl_conf_free(&c);
    unlink(path);
    write_file("self_onboarding_max_plan = ENTERPRISE\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "self_onboarding_max_plan"));
    ck_assert_ptr_nonnull(strstr(err, "STARTER, PROFESSIONAL or SCALE"));
}
END_TEST

START_TEST(file_then_environment)
{
    struct sl_conf c;
    char err[256];

    write_file("# comment\n"
               "db_url = \"host=/tmp dbname=x\"\n"
               "api_workers = 3\n"
               "self_onboarding = off\n"
               "runner_scheduler = off\n"
               "\n"
               "log_level=debug\n");
    setenv("SLUICE_API_WORKERS", "5", 1);
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.db_url, "host=/tmp dbname=x");
    /* Not given: the runner connects as db_url says. */
    ck_assert_str_eq(c.runner_db_url, "host=/tmp dbname=x");
    ck_assert_int_eq(c.api_workers, 5);
    ck_assert(!c.self_onboarding);
    ck_assert(!c.runner_scheduler);
    ck_assert_str_eq(c.log_level, "debug");
    sl_conf_free(&c);
}
END_TEST

/* The runner's own role, given apart from the application's. */
START_TEST(runner_db_url_apart)
{
    struct sl_conf c;
    char err[256];

    write_file("db_url = \"dbname=s user=sluice_app\"\n"
               "runner_db_url = \"dbname=s user=sluice_runner\"\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.db_url, "dbname=s user=sluice_app");
    ck_assert_str_eq(c.runner_db_url, "dbname=s user=sluice_runner");
    /* Unset, the login connection is db_url's. */
    ck_assert_str_eq(c.auth_db_url, "dbname=s user=sluice_app");
    sl_conf_free(&c);
    unlink(path);
    write_file("db_url = \"dbname=s user=sluice_app\"\n"
               "auth_db_url = \"dbname=s user=sluice_login\"\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.auth_db_url, "dbname=s user=sluice_login");
    ck_assert_str_eq(c.runner_db_url, "dbname=s user=sluice_app");
    sl_conf_free(&c);
    setenv("SLUICE_RUNNER_DB_URL", "dbname=t user=sluice_runner", 1);
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.runner_db_url, "dbname=t user=sluice_runner");
    sl_conf_free(&c);
}
END_TEST

START_TEST(config_from_environment_path)
{
    struct sl_conf c;
    char err[256];

    write_file("hub_port = 9999\n");
    setenv("SLUICE_CONFIG", path, 1);
    ck_assert_int_eq(sl_conf_load(&c, NULL, err, sizeof(err)), SL_OK);
    ck_assert_int_eq(c.hub_port, 9999);
    sl_conf_free(&c);
}
END_TEST

START_TEST(unknown_key_names_line)
{
    struct sl_conf c;
    char err[256];

    write_file("api_workers = 2\ndb_ulr = x\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ":2"));
    ck_assert_ptr_nonnull(strstr(err, "db_ulr"));
}
END_TEST

START_TEST(bounds_checked)
{
    struct sl_conf c;
    char err[256];

    write_file("api_workers = 100000\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "api_workers"));
    unlink(path);
    write_file("hub_port = 12abc\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    unlink(path);
    write_file("self_onboarding = maybe\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    unlink(path);
    write_file("log_level = loud\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    unlink(path);
    /* A run's deadline: at most SL_RUN_TIMEOUT_CEIL, never none. */
    write_file("run_timeout_seconds = 604801\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "run_timeout_seconds"));
    unlink(path);
    write_file("run_timeout_seconds = 0\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    unlink(path);
    /* The default deadline is within the ceiling pipelines are held to. */
    write_file("run_timeout_seconds = 7200\nrun_timeout_max_seconds = 3600\n");
    ck_assert_int_eq(sl_conf_load(&c, path, err, sizeof(err)), SL_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "run_timeout_max_seconds"));
}
END_TEST

START_TEST(secret_from_file)
{
    struct sl_conf c;
    char err[256];

    write_file("s3cret-admin-key\n");
    setenv("SLUICE_ADMIN_KEY_FILE", path, 1);
    setenv("SLUICE_JWT_SECRET", "from-env", 1);
    ck_assert_int_eq(sl_conf_load(&c, NULL, err, sizeof(err)), SL_OK);
    ck_assert_str_eq(c.admin_key, "s3cret-admin-key");
    ck_assert_str_eq(c.jwt_secret, "from-env");
    sl_conf_free(&c);
}
END_TEST

START_TEST(missing_file_is_error)
{
    struct sl_conf c;
    char err[256];

    ck_assert_int_eq(
        sl_conf_load(&c, "/nonexistent/sluice.conf", err, sizeof(err)), SL_EIO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/sluice.conf"));
}
END_TEST

static Suite *
conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, file_then_environment);
    tcase_add_test(tc, runner_db_url_apart);
    tcase_add_test(tc, onboarding_ceiling_is_a_plan);
    tcase_add_test(tc, config_from_environment_path);
    tcase_add_test(tc, unknown_key_names_line);
    tcase_add_test(tc, bounds_checked);
    tcase_add_test(tc, secret_from_file);
    tcase_add_test(tc, missing_file_is_error);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(conf_suite)
