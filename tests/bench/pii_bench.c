/*
 * pii_bench.c: the PII engine measured without a server, for
 * tests/bench/pii_accuracy.sh and pii_speed.sh.
 *
 *   pii_bench accuracy FILE [THRESHOLD]
 *       FILE: JSON lines {"text", "entities": [{"type", "start", "end"}]}
 *       (tests/bench/pii_corpus.py). A finding counts as a true positive
 *       when its type and its code-point span equal a labelled one's.
 *       Prints precision, recall and F1 per entity type, and micro F1.
 *   pii_bench speed FILE
 *       Analyses FILE (read whole first) line by line, and prints the MB/s
 *       of the analysis alone, per second of the process's CPU time (what
 *       other processes sharing the core take is not counted) and per
 *       second of wall time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pii.h"

static double
now(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int
accuracy(const char *path, double threshold)
{
    size_t tp[SL_PII_NENTITIES] = {0}, fp[SL_PII_NENTITIES] = {0},
           fn[SL_PII_NENTITIES] = {0}, lines = 0, len;
    size_t stp = 0, sfp = 0, sfn = 0;
    char *buf = slurp(path, &len), *line, *save = NULL;
    struct sl_pii_opts o = {.score_threshold = threshold};

    for (line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err), *gold, *g;
        const char *text = json_string_value(json_object_get(j, "text"));
        struct sl_pii_result r;
        size_t i, ng;
        char *used;

        if (text == NULL) {
            fprintf(stderr, "line %zu: %s\n", lines + 1, err.text);
            return 2;
        }
        gold = json_object_get(j, "entities");
        ng = json_array_size(gold);
        used = calloc(ng + 1, 1);
        if (sl_pii_analyze(text, strlen(text), &o, &r) != 0) {
            fprintf(stderr, "line %zu: analysis failed\n", lines + 1);
            return 2;
        }
        for (size_t k = 0; k < r.n; k++) {
            bool hit = false;

            json_array_foreach(gold, i, g)
            {
                if (!used[i] &&
                    sl_pii_entity_parse(json_string_value(
                        json_object_get(g, "type"))) == (int)r.m[k].entity &&
                    json_integer_value(json_object_get(g, "start")) ==
                        (json_int_t)r.m[k].start &&
                    json_integer_value(json_object_get(g, "end")) ==
                        (json_int_t)r.m[k].end) {
                    used[i] = 1;
                    hit = true;
                    break;
                }
            }
            if (hit)
                tp[r.m[k].entity]++;
            else {
                fp[r.m[k].entity]++;
                if (getenv("PII_BENCH_VERBOSE"))
                    fprintf(stderr, "FP %s '%.*s' in: %s\n",
                            sl_pii_entity_name(r.m[k].entity),
                            (int)(r.m[k].bend - r.m[k].bstart),
                            text + r.m[k].bstart, text);
            }
        }
        json_array_foreach(gold, i, g)
        {
            int e = sl_pii_entity_parse(
                json_string_value(json_object_get(g, "type")));

            if (!used[i] && e >= 0) {
                fn[e]++;
                if (getenv("PII_BENCH_VERBOSE"))
                    fprintf(stderr, "FN %s [%lld,%lld) in: %s\n",
                            sl_pii_entity_name(e),
                            json_integer_value(json_object_get(g, "start")),
                            json_integer_value(json_object_get(g, "end")),
                            text);
            }
        }
        free(used);
        sl_pii_result_free(&r);
        json_decref(j);
        lines++;
    }
    printf("%zu texts, score_threshold %.2f\n", lines, threshold);
    printf("%-16s %7s %7s %7s %9s %7s %7s\n", "entity", "tp", "fp", "fn",
           "precision", "recall", "f1");
    for (int e = 0; e < SL_PII_NENTITIES; e++) {
        double p = tp[e] + fp[e] ? (double)tp[e] / (double)(tp[e] + fp[e]) : 0,
               rc = tp[e] + fn[e] ? (double)tp[e] / (double)(tp[e] + fn[e]) : 0,
               f = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;

        stp += tp[e];
        sfp += fp[e];
        sfn += fn[e];
        printf("%-16s %7zu %7zu %7zu %9.4f %7.4f %7.4f\n",
               sl_pii_entity_name(e), tp[e], fp[e], fn[e], p, rc, f);
    }
    {
        double p = (double)stp / (double)(stp + sfp),
               rc = (double)stp / (double)(stp + sfn),
               f = 2 * p * rc / (p + rc);

        printf("%-16s %7zu %7zu %7zu %9.4f %7.4f %7.4f\n", "micro", stp, sfp,
               sfn, p, rc, f);
    }
    free(buf);
    return 0;
}

static int
speed(const char *path)
{
    size_t len, found = 0, texts = 0;
    char *buf = slurp(path, &len), *p = buf, *end = buf + len;
    double t0, c0, t, c;

    t0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        struct sl_pii_result r;

        if (sl_pii_analyze(p, n, NULL, &r) == 0)
            found += r.n;
        sl_pii_result_free(&r);
        texts++;
        p += n + 1;
    }
    t = now(CLOCK_MONOTONIC) - t0;
    c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("pii_bench: %.1f MB in %.3f s wall, %.3f s CPU: %.1f MB/s of CPU "
           "time (%.1f MB/s wall; %zu texts, %zu entities)\n",
           (double)len / 1e6, t, c, (double)len / 1e6 / c,
           (double)len / 1e6 / t, texts, found);
    free(buf);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "accuracy") == 0)
        return accuracy(argv[2], argc > 3 ? atof(argv[3]) : 0.0);
    if (argc >= 3 && strcmp(argv[1], "speed") == 0)
        return speed(argv[2]);
    fprintf(stderr, "usage: pii_bench accuracy FILE [THRESHOLD] | speed "
                    "FILE\n");
    return 2;
}
