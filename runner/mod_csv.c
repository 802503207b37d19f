/*
 * mod_csv.c: the csv extractor and loader (RFC 4180, UTF-8; csvio.h).
 *
 * Reading: with header (the default) the first record names the columns,
 * else "columns" does, or they are column_1, column_2, ... An unquoted
 * empty field, or one equal to null_string, is NULL; a quoted empty field
 * is the empty string. A record with another number of fields than the
 * header fails the run, naming its line. Fields are at most
 * RUN_CSV_MAX_FIELD bytes.
 *
 * Writing: a header line (unless header is false), then each row; NULL as
 * an empty unquoted field. The file is replaced (or, with mode append,
 * extended) all at once, after the run's decision (filesink.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "csvio.h"
#include "engine.h"
#include "filesink.h"
#include "json.h"

#define RUN_CSV_MAX_FIELD (16 * 1024 * 1024)

static char
char_of(struct run_node *n, const char *key, char def)
{
    const char *s = sl_json_get_str(n->config, key);

    return s != NULL && s[0] != '\0' ? s[0] : def;
}

struct csv_in {
    int fd;
    off_t size;
    struct run_csv_reader rd;
    bool rd_ok;
};

static int
in_open(struct run_node *n)
{
    struct csv_in *x = sl_pcalloc(n->pool, sizeof(*x));

    if (x == NULL)
        return SL_ENOMEM;
    x->fd = -1;
    n->state = x;
    if (run_file_open(n, &x->fd, &x->size) != 0)
        return SL_ERR;
    if (run_csv_reader_init(&x->rd, x->fd, char_of(n, "delimiter", ','),
                            char_of(n, "quote", '"'), RUN_CSV_MAX_FIELD,
                            RUN_MAX_COLUMNS) != 0)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "delimiter and quote must be two different "
                             "characters");
    x->rd_ok = true;
    return 0;
}

/* The columns: from the header record, the config, or numbered. */
static struct run_schema *
schema_of(struct run_node *n, char **fields, int nf)
{
    struct run_schema *s = sl_pcalloc(n->pool, sizeof(*s));
    json_t *cols = json_object_get(n->config, "columns");

    if (s == NULL ||
        (s->cols = sl_pcalloc(n->pool, sizeof(*s->cols) * (size_t)(nf + 1))) ==
            NULL)
        return NULL;
    s->ncols = nf;
    for (int i = 0; i < nf; i++) {
        const char *name = fields != NULL ? fields[i]
                           : i < (int)json_array_size(cols)
                               ? json_string_value(json_array_get(cols, i))
                               : NULL;

        s->cols[i].name = name != NULL && *name != '\0'
                              ? sl_pstrdup(n->pool, name)
                              : sl_psprintf(n->pool, "column_%d", i + 1);
        s->cols[i].type = "text";
        for (int j = 0; j < i; j++)
            if (strcmp(s->cols[j].name, s->cols[i].name) == 0) {
                run_node_fail(n, "PARSE_ERROR",
                              "the header names column %.63s twice",
                              s->cols[i].name);
                return NULL;
            }
    }
    return s;
}

static int
in_produce(struct run_node *n)
{
    struct csv_in *x = n->state;
    const char *null_string = sl_json_get_str(n->config, "null_string");
    bool header = sl_json_get_bool(n->config, "header", true);
    struct run_schema *schema = NULL;
    struct run_batch *b = NULL;
    sl_pool *scratch = sl_pool_create(0, 0);
    char **fields;
    bool *quoted;
    int nf, rc = 0;

    if (scratch == NULL)
        return SL_ENOMEM;
    for (;;) {
        sl_pool *p;
        char **row;

        if (b == NULL && schema != NULL &&
            (b = run_batch_new(schema, n->job->batch_size)) == NULL) {
            rc = SL_ENOMEM;
            break;
        }
        p = b != NULL ? b->pool : scratch;
        rc = run_csv_next(&x->rd, p, &fields, &nf, &quoted);
        if (rc == 0)
            break;
        if (rc < 0) {
            rc = run_node_fail(n, "PARSE_ERROR", "%s", run_csv_error(&x->rd));
            break;
        }
        rc = 0;
        if (schema == NULL) {
            json_t *cols = json_object_get(n->config, "columns");

            schema = schema_of(n, header ? fields : NULL,
                               !header && json_array_size(cols) > 0
                                   ? (int)json_array_size(cols)
                                   : nf);
            if (schema == NULL) {
                rc = SL_ERR;
                break;
            }
            if (header)
                continue;
            if ((b = run_batch_new(schema, n->job->batch_size)) == NULL) {
                rc = SL_ENOMEM;
                break;
            }
            /* This first record's fields live in scratch, which lasts. */
        }
        if (nf != schema->ncols) {
            rc = run_node_fail(n, "PARSE_ERROR",
                               "line %zu: %d fields where the header has %d",
                               run_csv_line(&x->rd), nf, schema->ncols);
            break;
        }
        if ((row = run_batch_add_row(b)) == NULL) {
            rc = SL_ENOMEM;
            break;
        }
        for (int i = 0; i < nf; i++)
            row[i] = (!quoted[i] && fields[i][0] == '\0') ||
                             (!quoted[i] && null_string != NULL &&
                              strcmp(fields[i], null_string) == 0)
                         ? NULL
                         : fields[i];
        if (b->nrows >= n->job->batch_size) {
            n->progress =
                x->size ? (double)lseek(x->fd, 0, SEEK_CUR) / (double)x->size
                        : 1;
            rc = run_emit(n, b);
            b = NULL;
            if (rc != 0)
                break;
        }
    }
    if (rc == 0 && b != NULL) {
        rc = run_emit(n, b);
        b = NULL;
    }
    run_batch_free(b);
    sl_pool_destroy(scratch);
    if (rc == 0)
        run_node_log(n, "INFO", NULL, "Read %llu rows from %s",
                     (unsigned long long)n->rows_out,
                     sl_json_get_str(n->config, "path"));
    return rc;
}

static void
in_close(struct run_node *n, bool ok)
{
    struct csv_in *x = n->state;

    (void)ok;
    if (x == NULL)
        return;
    if (x->rd_ok)
        run_csv_reader_free(&x->rd);
    if (x->fd >= 0)
        close(x->fd);
}

const struct run_module_ops run_mod_csv_extract = {
    .type = SL_MODULE_EXTRACTOR,
    .open = in_open,
    .produce = in_produce,
    .close = in_close,
};

/* --- load ------------------------------------------------------------------
 */

struct csv_out {
    struct run_filesink sink;
    bool existing, header_done;
    char delim;
    sl_buf line;
};

static int
out_open(struct run_node *n)
{
    struct csv_out *x = sl_pcalloc(n->pool, sizeof(*x));

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    x->delim = char_of(n, "delimiter", ',');
    sl_buf_init(&x->line, RUN_MAX_VALUE_BYTES);
    return run_filesink_open(n, &x->sink, &x->existing);
}

static int
out_row(struct run_node *n, struct csv_out *x, char *const *fields, int nf)
{
    int rc;

    sl_buf_reset(&x->line);
    rc = run_csv_write_row(&x->line, fields, nf, x->delim, '"');
    if (rc != 0)
        return run_node_fail(n, "VALIDATION_ERROR", "cannot write a row: %s",
                             sl_strerror(rc));
    return run_filesink_write(n, &x->sink, x->line.data, x->line.len);
}

static int
out_push(struct run_node *n, struct run_batch *b)
{
    struct csv_out *x = n->state;
    int w = b->schema->ncols, rc = 0;

    if (!x->header_done) {
        x->header_done = true;
        if (sl_json_get_bool(n->config, "header", true) && !x->existing) {
            char **names = sl_palloc(b->pool, sizeof(char *) * (size_t)w);

            for (int i = 0; names != NULL && i < w; i++)
                names[i] = (char *)b->schema->cols[i].name;
            rc = names ? out_row(n, x, names, w) : SL_ENOMEM;
        }
    }
    for (size_t r = 0; r < b->nrows && rc == 0; r++)
        rc = out_row(n, x, b->cells + r * (size_t)w, w);
    run_batch_free(b);
    return rc;
}

static int
out_prepare(struct run_node *n)
{
    struct csv_out *x = n->state;

    return run_filesink_prepare(n, &x->sink);
}

static int
out_commit(struct run_node *n)
{
    struct csv_out *x = n->state;

    return run_filesink_commit(n, &x->sink);
}

static void
out_close(struct run_node *n, bool ok)
{
    struct csv_out *x = n->state;

    if (x == NULL)
        return;
    sl_buf_free(&x->line);
    run_filesink_close(n, &x->sink, ok);
}

const struct run_module_ops run_mod_csv_load = {
    .type = SL_MODULE_LOADER,
    .open = out_open,
    .push = out_push,
    .prepare = out_prepare,
    .commit = out_commit,
    .close = out_close,
};
