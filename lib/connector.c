/*
 * connector.c: stored connectors, as both daemons read them (see
 * connector.h).
 */
#include "connector.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "json.h"
#include "secretbox.h"
#include "warehouse.h"

const char *const sl_connector_secret_fields[] = {"password",
                                                  "connection_string"};
const size_t sl_connector_nsecret =
    sizeof(sl_connector_secret_fields) / sizeof(sl_connector_secret_fields[0]);

int
sl_connector_unseal(const char *key_text, const char *tenant, const char *id,
                    const char *sealed, json_t *settings)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char aad[128], *plain = NULL;
    size_t len = 0;
    json_t *secrets;
    int rc;

    if (sealed == NULL || *sealed == '\0') {
        for (size_t i = 0; i < sl_connector_nsecret; i++)
            json_object_del(settings, sl_connector_secret_fields[i]);
        return 0;
    }
    if ((rc = sl_secretbox_key_parse(key_text, key)) != 0)
        return rc;
    snprintf(aad, sizeof(aad), "%s/%s", tenant, id);
    rc = sl_secretbox_open(key, aad, sealed, &plain, &len);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc != 0)
        return rc;
    secrets = json_loadb(plain, len, 0, NULL);
    sl_secretbox_free(plain, len);
    if (!json_is_object(secrets)) {
        json_decref(secrets);
        return SL_EPARSE;
    }
    rc = json_object_update(settings, secrets) == 0 ? 0 : SL_ENOMEM;
    json_decref(secrets);
    return rc;
}

void
sl_connector_pg(const json_t *s, char port[16], struct sl_pgconn_params *p)
{
    json_t *v = json_object_get(s, "port");

    memset(p, 0, sizeof(*p));
    p->host = sl_json_get_str(s, "host");
    if (json_is_integer(v))
        snprintf(port, 16, "%lld", (long long)json_integer_value(v));
    else
        snprintf(port, 16, "5432");
    p->port = port;
    p->dbname = sl_json_get_str(s, "database");
    p->user = sl_json_get_str(s, "username");
    p->password = sl_json_get_str(s, "password");
    p->sslmode = sl_json_get_str(s, "ssl_mode");
}

const char *
sl_connector_dir(sl_pool *p, const char *data_dir, const char *tenant,
                 const json_t *settings)
{
    const char *rel = sl_json_get_str(settings, "path");

    if (rel == NULL || *rel == '\0')
        return sl_psprintf(p, "%s/%s", data_dir, tenant);
    if (!sl_wh_path_ok(rel))
        return NULL;
    return sl_psprintf(p, "%s/%s/%s", data_dir, tenant, rel);
}
