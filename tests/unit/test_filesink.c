/*
 * test_filesink.c: a loader's file, all or nothing: nothing shows at the
 * target before commit, commit (after prepare) replaces it whole (or,
 * appending, keeps what it held ahead of the new rows), closing without
 * the decision leaves it as it was and no temporary file behind, writers
 * of one target take turns through its lock file, and paths that would
 * leave the organisation's directory are refused before anything is
 * written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "filesink.h"
#include "runfix.h"
#include "unit.h"

static struct runfix fx;

static void
setup(void)
{
    runfix_init(&fx);
}

static void
teardown(void)
{
    runfix_free(&fx);
}

/* A loader node writing path in mode (NULL: the default, overwrite). */
static struct run_node *
loader(const char *path, const char *mode)
{
    json_t *config = json_pack("{s:s}", "path", path);

    if (mode != NULL)
        json_object_set_new(config, "mode", json_string(mode));
    return runfix_node(&fx, "write", config);
}

/* Opens a sink on n, which must succeed; *existing as it said. */
static void
open_ok(struct run_node *n, struct run_filesink *f, bool *existing)
{
    int rc = run_filesink_open(n, f, existing);

    ck_assert_msg(rc == 0, "%d: %s", rc, n->error);
}

static void
write_ok(struct run_node *n, struct run_filesink *f, const char *text)
{
    ck_assert_int_eq(run_filesink_write(n, f, text, strlen(text)), 0);
}

/* Prepares and commits f, as a run decided to commit does. */
static void
commit_ok(struct run_node *n, struct run_filesink *f)
{
    ck_assert_int_eq(run_filesink_prepare(n, f), 0);
    ck_assert_int_eq(run_filesink_commit(n, f), 0);
}

START_TEST(overwrite_shows_at_commit_only)
{
    struct run_node *n = loader("out/people.csv", NULL);
    struct run_filesink f;
    bool existing = true;
    struct stat st;

    runfix_write(&fx, "out/people.csv", "old content\n");
    open_ok(n, &f, &existing);
    ck_assert(!existing); /* overwrite does not look */
    write_ok(n, &f, "id,name\n");
    write_ok(n, &f, "1,Ann\n");
    /* Until commit, readers see the old file; the new one is beside. */
    runfix_assert_file(&fx, "out/people.csv", "old content\n");
    ck_assert_int_eq(runfix_entries(&fx, "out"), 2);
    ck_assert_ptr_nonnull(strstr(f.tmp, "/out/people.csv.sluice-"));
    /* Writers of the target take turns through its lock file, which
     * stays (runfix_entries() does not count it). */
    ck_assert_int_eq(run_file_lock(NULL, runfix_path(&fx, "out/people.csv")),
                     SL_ECONFLICT);
    commit_ok(n, &f);
    runfix_assert_file(&fx, "out/people.csv", "id,name\n1,Ann\n");
    ck_assert_int_eq(runfix_entries(&fx, "out"), 1);
    ck_assert_int_eq(stat(runfix_path(&fx, "out/people.csv"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    /* Commit logged what it wrote, naming the path as given. */
    ck_assert(runfix_logged(&fx, "out/people.csv"));
    run_filesink_close(n, &f, true); /* after commit: only releases */
    runfix_assert_file(&fx, "out/people.csv", "id,name\n1,Ann\n");
}
END_TEST

START_TEST(abort_leaves_the_target_as_it_was)
{
    struct run_node *n = loader("keep.csv", NULL);
    struct run_filesink f;
    bool existing;

    runfix_write(&fx, "keep.csv", "precious\n");
    open_ok(n, &f, &existing);
    write_ok(n, &f, "half a run\n");
    run_filesink_close(n, &f, false);
    runfix_assert_file(&fx, "keep.csv", "precious\n");
    ck_assert_int_eq(runfix_entries(&fx, ""), 1);
    /* A second abort, or an abort of a sink never opened, is harmless. */
    run_filesink_close(n, &f, false);
    memset(&f, 0, sizeof(f));
    run_filesink_close(n, &f, false);

    /* A file that did not exist still does not. */
    n = loader("new/never.csv", NULL);
    open_ok(n, &f, &existing);
    write_ok(n, &f, "x\n");
    run_filesink_close(n, &f, false);
    runfix_assert_file(&fx, "new/never.csv", NULL);
    ck_assert_int_eq(runfix_entries(&fx, "new"), 0);
}
END_TEST

START_TEST(append_keeps_what_was_there)
{
    struct run_node *n = loader("log.jsonl", "append");
    struct run_filesink f;
    bool existing = true;

    /* Nothing there yet: nothing kept, existing false. */
    open_ok(n, &f, &existing);
    ck_assert(!existing);
    write_ok(n, &f, "{\"a\":1}\n");
    commit_ok(n, &f);
    run_filesink_close(n, &f, true);
    runfix_assert_file(&fx, "log.jsonl", "{\"a\":1}\n");

    n = loader("log.jsonl", "append");
    open_ok(n, &f, &existing);
    ck_assert(existing);
    write_ok(n, &f, "{\"a\":2}\n");
    runfix_assert_file(&fx, "log.jsonl", "{\"a\":1}\n");
    commit_ok(n, &f);
    run_filesink_close(n, &f, true);
    runfix_assert_file(&fx, "log.jsonl", "{\"a\":1}\n{\"a\":2}\n");
}
END_TEST

START_TEST(large_output_is_whole)
{
    struct run_node *n = loader("big.txt", NULL);
    struct run_filesink f;
    size_t line = 100, lines = 20000; /* 2 MB: several chunks */
    char text[101];
    bool existing;
    char *got;

    memset(text, 'x', line - 1);
    text[line - 1] = '\n';
    text[line] = '\0';
    open_ok(n, &f, &existing);
    for (size_t i = 0; i < lines; i++)
        write_ok(n, &f, text);
    commit_ok(n, &f);
    run_filesink_close(n, &f, true);
    got = runfix_read(&fx, "big.txt");
    ck_assert_uint_eq(strlen(got), line * lines);
    ck_assert_int_eq(got[line * lines - 1], '\n');
    free(got);

    /* Appending to it copies it all first. */
    n = loader("big.txt", "append");
    open_ok(n, &f, &existing);
    ck_assert(existing);
    write_ok(n, &f, "end\n");
    commit_ok(n, &f);
    run_filesink_close(n, &f, true);
    got = runfix_read(&fx, "big.txt");
    ck_assert_uint_eq(strlen(got), line * lines + 4);
    ck_assert_str_eq(got + line * lines, "end\n");
    free(got);
}
END_TEST

START_TEST(paths_that_leave_are_refused)
{
    static const char *const bad[] = {"../escape.csv", "/tmp/abs.csv",
                                      "a/../../b.csv", "a..b.csv"};
    struct run_filesink f;
    bool existing;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct run_node *n = loader(bad[i], NULL);

        ck_assert_int_lt(run_filesink_open(n, &f, &existing), 0);
        ck_assert_int_eq(n->status, RUN_NODE_FAILED);
        ck_assert_str_eq(n->error_code, "VALIDATION_ERROR");
        run_filesink_close(n, &f, false);
    }
    ck_assert_int_eq(runfix_entries(&fx, ""), 0);
}
END_TEST

START_TEST(a_link_out_of_the_directory_is_refused)
{
    struct run_node *n = loader("out/x.csv", NULL);
    struct run_filesink f;
    bool existing;
    char *outside = sl_psprintf(fx.job.pool, "%s/outside", fx.dir);

    /* out is a symbolic link to a directory beside the organisation's. */
    ck_assert_int_eq(mkdir(outside, 0750), 0);
    ck_assert_int_eq(symlink(outside, runfix_path(&fx, "out")), 0);
    ck_assert_int_lt(run_filesink_open(n, &f, &existing), 0);
    ck_assert_str_eq(n->error_code, "VALIDATION_ERROR");
    ck_assert_ptr_nonnull(strstr(n->error, "cannot write there"));
    run_filesink_close(n, &f, false);
    ck_assert_int_eq(rmdir(outside), 0); /* nothing was written in it */
}
END_TEST

START_TEST(an_appended_target_that_is_a_link_is_not_followed)
{
    struct run_node *n = loader("link.csv", "append");
    struct run_filesink f;
    bool existing;

    /* The target itself is a link (to a file inside, even): reading it
     * through the link is refused. */
    runfix_write(&fx, "real.csv", "secret\n");
    ck_assert_int_eq(
        symlink(runfix_path(&fx, "real.csv"), runfix_path(&fx, "link.csv")), 0);
    ck_assert_int_lt(run_filesink_open(n, &f, &existing), 0);
    ck_assert_str_eq(n->error_code, "IO_ERROR");
    run_filesink_close(n, &f, false);
    runfix_assert_file(&fx, "real.csv", "secret\n");
    ck_assert_int_eq(runfix_entries(&fx, ""), 2);
}
END_TEST

static Suite *
filesink_suite(void)
{
    Suite *s = suite_create("filesink");
    TCase *tc = tcase_create("filesink");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, overwrite_shows_at_commit_only);
    tcase_add_test(tc, abort_leaves_the_target_as_it_was);
    tcase_add_test(tc, append_keeps_what_was_there);
    tcase_add_test(tc, large_output_is_whole);
    tcase_add_test(tc, paths_that_leave_are_refused);
    tcase_add_test(tc, a_link_out_of_the_directory_is_refused);
    tcase_add_test(tc, an_appended_target_that_is_a_link_is_not_followed);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(filesink_suite)
