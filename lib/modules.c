/*
 * modules.c: the table of pipeline node modules and their config schemas.
 *
 * Each schema is the contract between the pipeline author, the API (which
 * validates configs against it on every create, update and validate) and
 * the runner (which may then rely on every required member being there,
 * of the right type). Every schema lists the members every config needs
 * in "required" (seed 004's form shows it), [] when none is. Paths given
 * to file modules are relative to the file connector's directory (or the
 * operator's data directory) and may not climb out of it; the runner
 * checks that again when it opens them.
 */
#include "modules.h"

#include <string.h>
#include <strings.h>

#include "warehouse.h"

/* JSON text of schema fragments used by several modules. */
#define CONNECTION_ID                                                          \
    "\"connection_id\": {\"type\": \"string\", \"title\": \"Connection\", "    \
    "\"description\": \"A connector of this organization; "                    \
    "absent for the organization's warehouse or data directory\", "            \
    "\"minLength\": 1, \"maxLength\": 64}"
#define FILE_PATH                                                              \
    "\"path\": {\"type\": \"string\", \"title\": \"Path\", "                   \
    "\"description\": \"Relative to the connection's directory\", "            \
    "\"minLength\": 1, \"maxLength\": " SL_WH_PATH_MAX_TEXT "}"
#define IDENT_PATTERN "^[A-Za-z_][A-Za-z0-9_]{0,62}$"
#define COLUMN_LIST(min)                                                       \
    "{\"type\": \"array\", \"minItems\": " #min ", \"maxItems\": 1000, "       \
    "\"items\": {\"type\": \"string\", \"minLength\": 1, "                     \
    "\"maxLength\": 63}}"
#define PARAMS                                                                 \
    "\"params\": {\"type\": \"object\", \"title\": \"Query parameters\", "     \
    "\"description\": \"Values for :name and ${name} placeholders, bound "     \
    "as parameters\", \"maxProperties\": 100}"
#define CAST_TYPES                                                             \
    "[\"text\", \"integer\", \"bigint\", \"numeric\", \"double\", "            \
    "\"boolean\", \"date\", \"timestamp\", \"timestamptz\"]"

const struct sl_module sl_modules[] = {
    /* Extractors */
    {SL_MOD_PG_EXTRACT, SL_MODULE_EXTRACTOR, "postgres", "PostgreSQL Extractor",
     "Extract rows from a PostgreSQL database with a query or a table",
     "database", "#336791", SL_CONN_POSTGRES,
     "{\"type\": \"object\", \"properties\": {" CONNECTION_ID ", "
     "\"query\": {\"type\": \"string\", \"title\": \"SQL Query\", "
     "\"format\": \"code\", \"language\": \"sql\", \"minLength\": 1, "
     "\"maxLength\": 65536}, "
     "\"schema\": {\"type\": \"string\", \"pattern\": \"" IDENT_PATTERN "\"}, "
     "\"table\": {\"type\": \"string\", \"pattern\": \"" IDENT_PATTERN
     "\"}, " PARAMS "}, "
     "\"required\": [], "
     "\"anyOf\": [{\"required\": [\"query\"]}, {\"required\": [\"table\"]}], "
     "\"additionalProperties\": false}",
     "{\"query\": \"SELECT * FROM table_name\"}"},
    {SL_MOD_CSV_EXTRACT, SL_MODULE_EXTRACTOR, "csv", "CSV Extractor",
     "Read a CSV file (RFC 4180, UTF-8, with or without a header)", "file-csv",
     "#217346", SL_CONN_FILE,
     "{\"type\": \"object\", \"properties\": {" CONNECTION_ID ", " FILE_PATH
     ", "
     "\"delimiter\": {\"type\": \"string\", \"minLength\": 1, "
     "\"maxLength\": 1, \"default\": \",\"}, "
     "\"quote\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 1, "
     "\"default\": \"\\\"\"}, "
     "\"header\": {\"type\": \"boolean\", \"default\": true}, "
     "\"columns\": " COLUMN_LIST(
         1) ", "
            "\"null_string\": {\"type\": \"string\", \"maxLength\": 64}}, "
            "\"required\": [\"path\"], \"additionalProperties\": false}",
     "{\"delimiter\": \",\", \"header\": true}"},
    {SL_MOD_JSONL_EXTRACT, SL_MODULE_EXTRACTOR, "jsonl", "JSON Lines Extractor",
     "Read a file of one JSON object per line", "file-code", "#F7DF1E",
     SL_CONN_FILE,
     "{\"type\": \"object\", \"properties\": {" CONNECTION_ID ", " FILE_PATH
     "}, \"required\": [\"path\"], \"additionalProperties\": false}",
     "{}"},

    /* Transformers */
    {SL_MOD_SQL, SL_MODULE_TRANSFORMER, "sql", "SQL Transform",
     "Run a query in the organization's warehouse; the node's input is the "
     "relation \"input\"",
     "code", "#6366F1", SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {"
     "\"query\": {\"type\": \"string\", \"title\": \"SQL Query\", "
     "\"format\": \"code\", \"language\": \"sql\", \"minLength\": 1, "
     "\"maxLength\": 65536}, " PARAMS "}, "
     "\"required\": [\"query\"], \"additionalProperties\": false}",
     "{\"query\": \"SELECT * FROM input\"}"},
    {SL_MOD_CLEANER, SL_MODULE_TRANSFORMER, "cleaner", "Data Cleaner",
     "Remove duplicates, trim text and drop rows with missing values", "broom",
     "#10B981", SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {"
     "\"remove_duplicates\": {\"type\": \"boolean\", \"default\": false}, "
     "\"columns\": " COLUMN_LIST(
         0) ", "
            "\"trim\": {\"type\": \"boolean\", \"default\": false}, "
            "\"drop_nulls\": " COLUMN_LIST(
                0) ", "
                   "\"empty_as_null\": {\"type\": \"boolean\", \"default\": "
                   "false}}, "
                   "\"required\": [], \"additionalProperties\": false}",
     "{\"remove_duplicates\": true, \"trim\": true}"},
    {SL_MOD_FILTER, SL_MODULE_TRANSFORMER, "filter", "Filter",
     "Keep the rows an expression holds for (comparisons, and/or/not, "
     "is null)",
     "filter", "#F59E0B", SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {"
     "\"expression\": {\"type\": \"string\", \"title\": \"Condition\", "
     "\"minLength\": 1, \"maxLength\": 4096}}, "
     "\"required\": [\"expression\"], \"additionalProperties\": false}",
     "{\"expression\": \"amount > 0\"}"},
    {SL_MOD_SELECT, SL_MODULE_TRANSFORMER, "select", "Select Columns",
     "Keep only the named columns, in that order", "columns", "#0EA5E9",
     SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {\"columns\": " COLUMN_LIST(
         1) "}, \"required\": [\"columns\"], \"additionalProperties\": false}",
     "{\"columns\": []}"},
    {SL_MOD_RENAME, SL_MODULE_TRANSFORMER, "rename", "Rename Columns",
     "Rename columns: {\"mapping\": {\"old\": \"new\"}}", "pen", "#8B5CF6",
     SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {\"mapping\": {\"type\": "
     "\"object\", \"minProperties\": 1, \"maxProperties\": 1000, "
     "\"additionalProperties\": {\"type\": \"string\", \"pattern\": "
     "\"" IDENT_PATTERN "\"}}}, "
     "\"required\": [\"mapping\"], \"additionalProperties\": false}",
     "{\"mapping\": {}}"},
    {SL_MOD_CAST, SL_MODULE_TRANSFORMER, "cast", "Cast Types",
     "Convert columns to types: {\"columns\": {\"age\": \"integer\"}}",
     "exchange", "#EC4899", SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {\"columns\": {\"type\": "
     "\"object\", \"minProperties\": 1, \"maxProperties\": 1000, "
     "\"additionalProperties\": {\"enum\": " CAST_TYPES "}}, "
     "\"on_error\": {\"enum\": [\"fail\", \"null\", \"skip_row\"], "
     "\"default\": \"fail\"}}, "
     "\"required\": [\"columns\"], \"additionalProperties\": false}",
     "{\"columns\": {}, \"on_error\": \"fail\"}"},
    {SL_MOD_PII_MASK, SL_MODULE_TRANSFORMER, "pii_mask", "PII Masking",
     "Mask, hash or redact personal data in the named (or detected) "
     "columns, whole or only the entities found in them",
     "shield", "#EF4444", SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {"
     "\"columns\": " COLUMN_LIST(
         0) ", "
            "\"detect\": {\"type\": \"boolean\", \"default\": false}, "
            "\"method\": {\"enum\": [\"mask\", \"hash\", \"redact\", "
            "\"partial\"], "
            "\"default\": \"mask\"}, "
            "\"scope\": {\"enum\": [\"value\", \"entities\"], "
            "\"default\": \"value\"}, "
            "\"entities\": {\"type\": \"array\", \"maxItems\": 15, "
            "\"items\": {\"enum\": [\"CREDIT_CARD\", \"CRYPTO\", "
            "\"DATE_TIME\", \"EMAIL_ADDRESS\", \"IBAN_CODE\", "
            "\"IP_ADDRESS\", \"LOCATION\", \"MAC_ADDRESS\", \"PERSON\", "
            "\"PHONE_NUMBER\", \"UK_NHS\", \"URL\", \"US_BANK_NUMBER\", "
            "\"US_PASSPORT\", \"US_SSN\"]}}}, "
            "\"required\": [], \"additionalProperties\": false}",
     "{\"method\": \"mask\", \"detect\": true}"},

    /* Quality gates */
    {SL_MOD_QUALITY_GATE, SL_MODULE_QUALITY, "quality_gate", "Quality Gate",
     "Check rules on the rows passing through; below a threshold the run "
     "fails with QUALITY_CHECK_FAILED",
     "check-circle", "#14B8A6", SL_CONN_NONE,
     "{\"type\": \"object\", \"properties\": {\"rules\": {\"type\": "
     "\"array\", \"minItems\": 1, \"maxItems\": 200, \"items\": {"
     "\"type\": \"object\", \"properties\": {"
     "\"type\": {\"enum\": [\"not_null\", \"unique\", \"regex\", \"range\", "
     "\"accepted_values\", \"row_count\"]}, "
     "\"column\": {\"type\": \"string\", \"minLength\": 1, "
     "\"maxLength\": 63}, "
     "\"pattern\": {\"type\": \"string\", \"maxLength\": 1024}, "
     "\"min\": {\"type\": \"number\"}, \"max\": {\"type\": \"number\"}, "
     "\"values\": {\"type\": \"array\", \"maxItems\": 1000}, "
     "\"threshold\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1, "
     "\"default\": 1}}, "
     "\"required\": [\"type\"], \"additionalProperties\": false}}, "
     "\"fail_run\": {\"type\": \"boolean\", \"default\": true}}, "
     "\"required\": [\"rules\"], \"additionalProperties\": false}",
     "{\"rules\": [], \"fail_run\": true}"},

    /* Loaders */
    {SL_MOD_PG_LOAD, SL_MODULE_LOADER, "postgres", "PostgreSQL Loader",
     "Write rows to a PostgreSQL table (append, replace or upsert), in one "
     "transaction",
     "database", "#336791", SL_CONN_POSTGRES,
     "{\"type\": \"object\", \"properties\": {" CONNECTION_ID ", "
     "\"schema\": {\"type\": \"string\", \"pattern\": \"" IDENT_PATTERN "\"}, "
     "\"table\": {\"type\": \"string\", \"pattern\": \"" IDENT_PATTERN "\"}, "
     "\"mode\": {\"enum\": [\"append\", \"replace\", \"upsert\"], "
     "\"default\": \"append\"}, "
     "\"key_columns\": " COLUMN_LIST(
         1) ", "
            "\"create_table\": {\"type\": \"boolean\", \"default\": true}}, "
            "\"required\": [\"table\"], \"additionalProperties\": false}",
     "{\"mode\": \"append\", \"create_table\": true}"},
    {SL_MOD_CSV_LOAD, SL_MODULE_LOADER, "csv", "CSV Loader",
     "Write rows to a CSV file", "file-csv", "#217346", SL_CONN_FILE,
     "{\"type\": \"object\", \"properties\": {" CONNECTION_ID ", " FILE_PATH
     ", "
     "\"delimiter\": {\"type\": \"string\", \"minLength\": 1, "
     "\"maxLength\": 1, \"default\": \",\"}, "
     "\"header\": {\"type\": \"boolean\", \"default\": true}, "
     "\"mode\": {\"enum\": [\"overwrite\", \"append\"], "
     "\"default\": \"overwrite\"}}, "
     "\"required\": [\"path\"], \"additionalProperties\": false}",
     "{\"delimiter\": \",\", \"header\": true, \"mode\": \"overwrite\"}"},
    {SL_MOD_JSONL_LOAD, SL_MODULE_LOADER, "jsonl", "JSON Lines Loader",
     "Write rows as one JSON object per line", "file-code", "#F7DF1E",
     SL_CONN_FILE,
     "{\"type\": \"object\", \"properties\": {" CONNECTION_ID ", " FILE_PATH
     ", "
     "\"mode\": {\"enum\": [\"overwrite\", \"append\"], "
     "\"default\": \"overwrite\"}}, "
     "\"required\": [\"path\"], \"additionalProperties\": false}",
     "{\"mode\": \"overwrite\"}"},
};

const size_t sl_nmodules = sizeof(sl_modules) / sizeof(sl_modules[0]);

/* One entry per id; test_modules checks that each is at its id's place. */
_Static_assert(sizeof(sl_modules) / sizeof(sl_modules[0]) == SL_MOD_COUNT_,
               "sl_modules has an entry for each enum sl_module_id");

static const char *const type_names[SL_MODULE_TYPE_COUNT_] = {
    [SL_MODULE_EXTRACTOR] = "extractor",
    [SL_MODULE_TRANSFORMER] = "transformer",
    [SL_MODULE_QUALITY] = "quality",
    [SL_MODULE_LOADER] = "loader",
};

static const char *const type_plurals[SL_MODULE_TYPE_COUNT_] = {
    [SL_MODULE_EXTRACTOR] = "extractors",
    [SL_MODULE_TRANSFORMER] = "transformers",
    [SL_MODULE_QUALITY] = "quality_gates",
    [SL_MODULE_LOADER] = "loaders",
};

const struct sl_module *
sl_module_find(enum sl_module_type type, const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sl_nmodules; i++)
        if (sl_modules[i].type == type && strcmp(sl_modules[i].name, name) == 0)
            return &sl_modules[i];
    return NULL;
}

const struct sl_module *
sl_module_lookup(const char *name, enum sl_module_type want)
{
    const struct sl_module *first = NULL;

    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sl_nmodules; i++) {
        if (strcmp(sl_modules[i].name, name) != 0)
            continue;
        if (want == SL_MODULE_NONE || sl_modules[i].type == want)
            return &sl_modules[i];
        if (first == NULL)
            first = &sl_modules[i];
    }
    return first;
}

const char *
sl_module_type_name(enum sl_module_type t)
{
    return t >= 0 && t < SL_MODULE_TYPE_COUNT_ ? type_names[t] : "unknown";
}

const char *
sl_module_type_plural(enum sl_module_type t)
{
    return t >= 0 && t < SL_MODULE_TYPE_COUNT_ ? type_plurals[t] : "unknown";
}

enum sl_module_type
sl_module_type_parse(const char *s)
{
    if (s == NULL)
        return SL_MODULE_NONE;
    for (int t = 0; t < SL_MODULE_TYPE_COUNT_; t++)
        if (strcmp(s, type_names[t]) == 0 || strcmp(s, type_plurals[t]) == 0)
            return (enum sl_module_type)t;
    if (strcmp(s, "quality_gate") == 0)
        return SL_MODULE_QUALITY;
    return SL_MODULE_NONE;
}

const char *
sl_module_alias(const char *type)
{
    static const struct {
        const char *alias, *module;
    } aliases[] = {
        {"postgresql", "postgres"}, {"postgres", "postgres"},
        {"pg", "postgres"},         {"csv", "csv"},
        {"jsonl", "jsonl"},         {"json", "jsonl"},
        {"ndjson", "jsonl"},        {"json_lines", "jsonl"},
    };

    if (type == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcasecmp(aliases[i].alias, type) == 0)
            return aliases[i].module;
    return NULL;
}
