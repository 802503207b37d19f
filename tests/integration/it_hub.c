/*
 * it_hub.c: a WebSocket client reaches sluice-hub through nginx's /ws/,
 * is greeted, and gets an answer to its ping; an oversized message is
 * refused with a close; without a credential the handshake gets 401.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"
#include "wsclient.h"

/* Opens /ws/events as a fresh organisation's admin; returns the socket. */
static int
open_events(struct it_client *c)
{
    char *user, *org, *token, target[4096];
    int fd, status = 0;

    token = it_new_org(c, &user, &org);
    snprintf(target, sizeof(target), "/ws/events?token=%s", token);
    fd = ws_open_nginx(c, target, NULL, &status, NULL);
    ck_assert_msg(fd >= 0, "handshake answered %d", status);
    free(token);
    free(user);
    free(org);
    return fd;
}

START_TEST(welcome_and_pong_through_nginx)
{
    struct it_client c;
    json_t *j;
    int fd;

    it_client_init(&c);
    fd = open_events(&c);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "welcome");
    json_decref(j);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
                     "caught_up");
    json_decref(j);

    ws_send(fd, "{\"type\":\"ping\"}", 15);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "pong");
    json_decref(j);
    close(fd);
}
END_TEST

START_TEST(oversized_message_is_refused)
{
    struct it_client c;
    struct ws_frame f;
    char *big = malloc(6000);
    json_t *j;
    int fd;

    it_client_init(&c);
    fd = open_events(&c);
    j = ws_next(fd, 10000, NULL); /* welcome */
    json_decref(j);
    j = ws_next(fd, 10000, NULL); /* caught_up */
    json_decref(j);
    memset(big, 'x', 6000);
    ws_send(fd, big, 6000);
    /* A close frame (opcode 8) with status 1009, message too big. */
    ck_assert_ptr_null(ws_next(fd, 10000, &f));
    ck_assert_int_eq(f.op, WS_CLOSE);
    ck_assert_int_eq(f.code, 1009);
    ws_frame_free(&f);
    free(big);
    close(fd);
}
END_TEST

START_TEST(no_credential_is_401)
{
    struct it_client c;
    char *resp = NULL;
    int status = 0;

    it_client_init(&c);
    ck_assert_int_eq(ws_open_nginx(&c, "/ws/events", NULL, &status, &resp), -1);
    ck_assert_int_eq(status, 401);
    ck_assert_ptr_nonnull(strstr(resp, "\"AUTHENTICATION_FAILED\""));
    free(resp);
}
END_TEST

static Suite *
hub_suite(void)
{
    Suite *s = suite_create("it_hub");
    TCase *tc = tcase_create("hub");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, welcome_and_pong_through_nginx);
    tcase_add_test(tc, oversized_message_is_refused);
    tcase_add_test(tc, no_credential_is_401);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(hub_suite)
