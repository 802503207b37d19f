/*
 * test_connector.c: stored connectors as both daemons read them: sealed
 * credentials opened only with the right key for the right row, merged
 * into the settings (and removed when nothing is sealed); a PostgreSQL
 * connector's settings as connection parameters; a file connector's
 * directory, which no path leaves.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connector.h"
#include "err.h"
#include "pool.h"
#include "secretbox.h"
#include "unit.h"

static const char key_hex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char other_key_hex[] =
    "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#define TENANT "acme"
#define CONN   "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

/* plain sealed under key_text for tenant/id, as the API stores it. */
static char *
seal(const char *key_text, const char *tenant, const char *id,
     const char *plain)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char aad[128], *out = NULL;

    ck_assert_int_eq(sl_secretbox_key_parse(key_text, key), 0);
    snprintf(aad, sizeof(aad), "%s/%s", tenant, id);
    ck_assert_int_eq(sl_secretbox_seal(key, aad, plain, strlen(plain), &out),
                     0);
    return out;
}

/* Settings as stored: in clear, the secrets masked or absent. */
static json_t *
stored(void)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:s}", "host", "db.example.com",
                     "port", 6543, "database", "sales", "username", "reader",
                     "password", "********");
}

START_TEST(unseal_merges_the_secrets)
{
    char *sealed = seal(key_hex, TENANT, CONN,
                        "{\"password\": \"s3cret\", \"connection_string\": "
                        "\"postgresql://u:p@h/d\"}");
    json_t *s = stored();

    ck_assert_int_eq(sl_connector_unseal(key_hex, TENANT, CONN, sealed, s), 0);
    ck_assert_str_eq(json_string_value(json_object_get(s, "password")),
                     "s3cret");
    ck_assert_str_eq(json_string_value(json_object_get(s, "connection_string")),
                     "postgresql://u:p@h/d");
    /* What was in clear stays as it was. */
    ck_assert_str_eq(json_string_value(json_object_get(s, "host")),
                     "db.example.com");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "port")), 6543);
    json_decref(s);
    free(sealed);
}
END_TEST

START_TEST(nothing_sealed_means_no_secret)
{
    json_t *s = stored();

    json_object_set_new(s, "connection_string", json_string("********"));
    ck_assert_int_eq(sl_connector_unseal(key_hex, TENANT, CONN, NULL, s), 0);
    ck_assert_ptr_null(json_object_get(s, "password"));
    ck_assert_ptr_null(json_object_get(s, "connection_string"));
    ck_assert_ptr_nonnull(json_object_get(s, "host"));
    /* "" is nothing sealed too, and needs no key at all. */
    json_object_set_new(s, "password", json_string("********"));
    ck_assert_int_eq(sl_connector_unseal(NULL, TENANT, CONN, "", s), 0);
    ck_assert_ptr_null(json_object_get(s, "password"));
    ck_assert_uint_eq(sl_connector_nsecret, 2);
    ck_assert_str_eq(sl_connector_secret_fields[0], "password");
    ck_assert_str_eq(sl_connector_secret_fields[1], "connection_string");
    json_decref(s);
}
END_TEST

START_TEST(unseal_opens_only_its_own_row_with_its_own_key)
{
    char *sealed = seal(key_hex, TENANT, CONN, "{\"password\": \"s3cret\"}");
    json_t *s = stored();

    /* Another key, another organisation, another connector: no. */
    ck_assert_int_eq(
        sl_connector_unseal(other_key_hex, TENANT, CONN, sealed, s),
        SL_ECRYPTO);
    ck_assert_int_eq(sl_connector_unseal(key_hex, "other", CONN, sealed, s),
                     SL_ECRYPTO);
    ck_assert_int_eq(sl_connector_unseal(key_hex, TENANT,
                                         "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
                                         sealed, s),
                     SL_ECRYPTO);
    /* No usable key at all. */
    ck_assert_int_eq(sl_connector_unseal(NULL, TENANT, CONN, sealed, s),
                     SL_EINVAL);
    ck_assert_int_eq(sl_connector_unseal("", TENANT, CONN, sealed, s),
                     SL_EINVAL);
    ck_assert_int_eq(sl_connector_unseal("short", TENANT, CONN, sealed, s),
                     SL_EINVAL);
    /* Not a sealed text. */
    ck_assert_int_eq(sl_connector_unseal(key_hex, TENANT, CONN, "v1.!!", s),
                     SL_EPARSE);
    /* Nothing failed leaked a secret into the settings. */
    ck_assert_str_eq(json_string_value(json_object_get(s, "password")),
                     "********");
    json_decref(s);
    free(sealed);
}
END_TEST

START_TEST(sealed_text_that_is_no_object_is_refused)
{
    static const char *const plains[] = {"[\"s3cret\"]", "\"s3cret\"",
                                         "not json", ""};
    json_t *s = stored();

    for (size_t i = 0; i < sizeof(plains) / sizeof(plains[0]); i++) {
        char *sealed = seal(key_hex, TENANT, CONN, plains[i]);

        ck_assert_int_eq(sl_connector_unseal(key_hex, TENANT, CONN, sealed, s),
                         SL_EPARSE);
        free(sealed);
    }
    ck_assert_str_eq(json_string_value(json_object_get(s, "password")),
                     "********");
    json_decref(s);
}
END_TEST

START_TEST(pg_settings_become_parameters)
{
    json_t *s = stored();
    struct sl_pgconn_params p;
    char port[16];

    json_object_set_new(s, "password", json_string("s3cret"));
    json_object_set_new(s, "ssl_mode", json_string("require"));
    sl_connector_pg(s, port, &p);
    ck_assert_str_eq(p.host, "db.example.com");
    ck_assert_str_eq(p.port, "6543");
    ck_assert_ptr_eq(p.port, port);
    ck_assert_str_eq(p.dbname, "sales");
    ck_assert_str_eq(p.user, "reader");
    ck_assert_str_eq(p.password, "s3cret");
    ck_assert_str_eq(p.sslmode, "require");
    /* Borrowed from the settings, not copied. */
    ck_assert_ptr_eq(p.host, json_string_value(json_object_get(s, "host")));
    json_decref(s);

    /* Without a port (or with one that is no integer): PostgreSQL's. */
    s = json_pack("{s:s, s:s}", "host", "h", "port", "6543");
    memset(&p, 0xff, sizeof(p));
    sl_connector_pg(s, port, &p);
    ck_assert_str_eq(p.port, "5432");
    ck_assert_ptr_null(p.dbname);
    ck_assert_ptr_null(p.user);
    ck_assert_ptr_null(p.password);
    ck_assert_ptr_null(p.sslmode);
    json_decref(s);
}
END_TEST

START_TEST(file_directories_stay_inside)
{
    sl_pool *p = sl_pool_create(0, 0);
    json_t *s = json_object();

    /* No path, or "": the organisation's own directory. */
    ck_assert_str_eq(sl_connector_dir(p, "/srv/data", TENANT, NULL),
                     "/srv/data/" TENANT);
    ck_assert_str_eq(sl_connector_dir(p, "/srv/data", TENANT, s),
                     "/srv/data/" TENANT);
    json_object_set_new(s, "path", json_string(""));
    ck_assert_str_eq(sl_connector_dir(p, "/srv/data", TENANT, s),
                     "/srv/data/" TENANT);
    json_object_set_new(s, "path", json_string("exports/daily"));
    ck_assert_str_eq(sl_connector_dir(p, "/srv/data", TENANT, s),
                     "/srv/data/" TENANT "/exports/daily");
    /* The path rule of lib/warehouse.c: nothing absolute, no "..". */
    json_object_set_new(s, "path", json_string("/etc"));
    ck_assert_ptr_null(sl_connector_dir(p, "/srv/data", TENANT, s));
    json_object_set_new(s, "path", json_string("../other"));
    ck_assert_ptr_null(sl_connector_dir(p, "/srv/data", TENANT, s));
    json_object_set_new(s, "path", json_string("a/../../other"));
    ck_assert_ptr_null(sl_connector_dir(p, "/srv/data", TENANT, s));
    json_object_set_new(s, "path", json_string("a..b"));
    ck_assert_ptr_null(sl_connector_dir(p, "/srv/data", TENANT, s));
    json_decref(s);
    sl_pool_destroy(p);
}
END_TEST

static Suite *
connector_suite(void)
{
    Suite *s = suite_create("connector");
    TCase *tc = tcase_create("connector");

    tcase_add_test(tc, unseal_merges_the_secrets);
    tcase_add_test(tc, nothing_sealed_means_no_secret);
    tcase_add_test(tc, unseal_opens_only_its_own_row_with_its_own_key);
    tcase_add_test(tc, sealed_text_that_is_no_object_is_refused);
    tcase_add_test(tc, pg_settings_become_parameters);
    tcase_add_test(tc, file_directories_stay_inside);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(connector_suite)
