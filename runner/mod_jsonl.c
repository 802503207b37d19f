/*
 * mod_jsonl.c: the jsonl extractor and loader (one JSON object a line).
 *
 * Reading: the columns are the members of the first object, in its
 * order; each later line gives values for those (a member it lacks is
 * NULL; a member the first line did not have is ignored, and logged once).
 * Strings are taken as they are, numbers and booleans as their JSON text,
 * null as NULL, objects and arrays as compact JSON. Blank lines are
 * skipped; a line that is not an object fails the run with its number. A
 * line may be at most RUN_JSONL_MAX_LINE bytes.
 *
 * Writing: each row becomes an object; a value of a numeric or boolean
 * column is written as a JSON number or boolean when it is one, of a json
 * or jsonb column as the JSON it holds, else as a string.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "filesink.h"
#include "json.h"

#define RUN_JSONL_MAX_LINE (16 * 1024 * 1024)
#define READ_CHUNK         (64 * 1024)

struct jsonl_in {
    int fd;
    off_t size, done;
};

static int
in_open(struct run_node *n)
{
    struct jsonl_in *x = sl_pcalloc(n->pool, sizeof(*x));

    if (x == NULL)
        return SL_ENOMEM;
    x->fd = -1;
    n->state = x;
    if (run_file_open(n, &x->fd, &x->size) != 0)
        return SL_ERR;
    return 0;
}

/* The schema of the first object: its members, as text. */
static struct run_schema *
schema_of(struct run_node *n, json_t *obj)
{
    struct run_schema *s = sl_pcalloc(n->pool, sizeof(*s));
    const char *key;
    json_t *v;
    int i = 0;

    if (s == NULL || json_object_size(obj) > RUN_MAX_COLUMNS ||
        (s->cols = sl_pcalloc(
             n->pool, sizeof(*s->cols) * (json_object_size(obj) + 1))) == NULL)
        return NULL;
    json_object_foreach(obj, key, v)
    {
        s->cols[i].name = sl_pstrdup(n->pool, key);
        s->cols[i].type = "text";
        i++;
    }
    s->ncols = i;
    return s;
}

/* A JSON value as a cell, in pool p (NULL for null). */
static char *
cell_of(sl_pool *p, json_t *v)
{
    char *dump, *out;

    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return sl_pstrndup(p, json_string_value(v), json_string_length(v));
    dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    out = dump ? sl_pstrdup(p, dump) : NULL;
    free(dump);
    return out;
}

/* Handles one line; 0, or fails n. */
static int
take_line(struct run_node *n, const char *line, size_t len, size_t lineno,
          struct run_schema **schema, struct run_batch **b, bool *warned)
{
    json_error_t err;
    json_t *obj;
    char **row;
    int rc = 0;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return run_node_fail(n, "PARSE_ERROR", "line %zu: not a JSON object",
                             lineno);
    }
    if (*schema == NULL && (*schema = schema_of(n, obj)) == NULL) {
        json_decref(obj);
        return run_node_fail(n, "PARSE_ERROR", "line %zu: more than %d members",
                             lineno, RUN_MAX_COLUMNS);
    }
    if (*b == NULL && (*b = run_batch_new(*schema, n->job->batch_size)) == NULL)
        rc = SL_ENOMEM;
    else if ((row = run_batch_add_row(*b)) == NULL)
        rc = SL_ENOMEM;
    else {
        for (int c = 0; c < (*schema)->ncols; c++) {
            json_t *v = json_object_get(obj, (*schema)->cols[c].name);

            row[c] = cell_of((*b)->pool, v);
            if (row[c] == NULL && v != NULL && !json_is_null(v))
                rc = SL_ENOMEM;
        }
        if (!*warned && json_object_size(obj) > (size_t)(*schema)->ncols) {
            *warned = true;
            run_node_log(n, "WARNING", NULL,
                         "line %zu has members the first line lacks; they "
                         "are ignored",
                         lineno);
        }
    }
    json_decref(obj);
    return rc;
}

static int
in_produce(struct run_node *n)
{
    struct jsonl_in *x = n->state;
    struct run_schema *schema = NULL;
    struct run_batch *b = NULL;
    sl_buf line;
    char chunk[READ_CHUNK];
    size_t lineno = 0;
    bool warned = false;
    ssize_t r;
    int rc = 0;

    sl_buf_init(&line, RUN_JSONL_MAX_LINE);
    for (;;) {
        r = read(x->fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = run_node_fail(n, "IO_ERROR", "read failed: %s",
                               strerror(errno));
            break;
        }
        x->done += r;
        n->progress = x->size ? (double)x->done / (double)x->size : 1;
        if (r == 0) {
            if (line.len > 0)
                rc = take_line(n, line.data, line.len, ++lineno, &schema, &b,
                               &warned);
            break;
        }
        for (const char *p = chunk, *end = chunk + r; p < end && rc == 0;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t seg = (size_t)((nl ? nl : end) - p);

            if (seg > 0 && sl_buf_append(&line, p, seg) != 0) {
                rc = run_node_fail(n, "RESOURCE_LIMIT",
                                   "line %zu is longer than %d bytes",
                                   lineno + 1, RUN_JSONL_MAX_LINE);
                break;
            }
            if (nl == NULL)
                break;
            rc = take_line(n, line.data ? line.data : "", line.len, ++lineno,
                           &schema, &b, &warned);
            sl_buf_reset(&line);
            p = nl + 1;
            if (rc == 0 && b != NULL && b->nrows >= n->job->batch_size) {
                rc = run_emit(n, b);
                b = NULL;
            }
        }
        if (rc != 0)
            break;
    }
    sl_buf_free(&line);
    if (rc == 0 && b != NULL) {
        rc = run_emit(n, b);
        b = NULL;
    }
    run_batch_free(b);
    if (rc == 0)
        run_node_log(n, "INFO", NULL, "Read %llu rows from %s",
                     (unsigned long long)n->rows_out,
                     sl_json_get_str(n->config, "path"));
    return rc;
}

static void
in_close(struct run_node *n, bool ok)
{
    struct jsonl_in *x = n->state;

    (void)ok;
    if (x != NULL && x->fd >= 0)
        close(x->fd);
}

const struct run_module_ops run_mod_jsonl_extract = {
    .type = SL_MODULE_EXTRACTOR,
    .open = in_open,
    .produce = in_produce,
    .close = in_close,
};

/* --- load ------------------------------------------------------------------
 */

static int
out_open(struct run_node *n)
{
    struct run_filesink *f = sl_pcalloc(n->pool, sizeof(*f));
    bool existing;

    if (f == NULL)
        return SL_ENOMEM;
    n->state = f;
    return run_filesink_open(n, f, &existing);
}

/* The JSON a cell of a column of type t is written as (new reference). */
static json_t *
json_of(const char *t, const char *v)
{
    json_t *j = NULL;

    if (v == NULL)
        return json_null();
    if (strcmp(t, "boolean") == 0 && strcmp(v, "true") == 0)
        return json_true();
    if (strcmp(t, "boolean") == 0 && strcmp(v, "false") == 0)
        return json_false();
    if (strcmp(t, "json") == 0 || strcmp(t, "jsonb") == 0 ||
        strcmp(t, "integer") == 0 || strcmp(t, "bigint") == 0 ||
        strcmp(t, "smallint") == 0 || strcmp(t, "numeric") == 0 ||
        strncmp(t, "numeric(", 8) == 0 || strcmp(t, "double precision") == 0 ||
        strcmp(t, "real") == 0)
        j = json_loads(v, JSON_DECODE_ANY, NULL);
    return j != NULL ? j : json_string(v);
}

static int
out_push(struct run_node *n, struct run_batch *b)
{
    struct run_filesink *f = n->state;
    int rc = 0;

    for (size_t r = 0; r < b->nrows && rc == 0; r++) {
        json_t *obj = json_object();
        char *text;

        for (int c = 0; c < b->schema->ncols; c++)
            json_object_set_new(
                obj, b->schema->cols[c].name,
                json_of(b->schema->cols[c].type, run_cell(b, r, c)));
        text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(obj);
        if (text == NULL) {
            rc = SL_ENOMEM;
            break;
        }
        rc = run_filesink_write(n, f, text, strlen(text));
        if (rc == 0)
            rc = run_filesink_write(n, f, "\n", 1);
        free(text);
    }
    run_batch_free(b);
    return rc;
}

static int
out_prepare(struct run_node *n)
{
    return run_filesink_prepare(n, n->state);
}

static int
out_commit(struct run_node *n)
{
    return run_filesink_commit(n, n->state);
}

static void
out_close(struct run_node *n, bool ok)
{
    if (n->state != NULL)
        run_filesink_close(n, n->state, ok);
}

const struct run_module_ops run_mod_jsonl_load = {
    .type = SL_MODULE_LOADER,
    .open = out_open,
    .push = out_push,
    .prepare = out_prepare,
    .commit = out_commit,
    .close = out_close,
};
