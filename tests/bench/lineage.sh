#!/usr/bin/env bash
# lineage.sh: what lineage costs (issue 12). Two figures:
#
#  1. GET /lineage/graph at depth 20 around one dataset of a generated
#     graph of JOBS jobs (default 10,000) and 5 x JOBS datasets (50,000),
#     through nginx: p50 and p99 over REQS requests (default 200), made
#     one after the other on one keep-alive connection (curl's
#     time_total of each). Goal: p99 under 50 ms.
#     The graph is made directly in SQL as the owner, for speed: 100
#     domains; in each, job j writes 5 datasets and reads 3 of job j-1's
#     outputs; with probability LINEAGE_BENCH_BACK (default 1) also one
#     earlier dataset of its domain at random, and with probability
#     LINEAGE_BENCH_CROSS (default 0.05) one dataset of any domain. So the
#     walk crosses domains, meets diamonds (many paths to one node) and
#     goes 20 levels deep; the figures say how many nodes it answered
#     (with the defaults, about 4,000: most of what lies 20 jobs away).
#  2. Event ingestion: EVENTS OpenLineage COMPLETE events (default
#     20,000), each with 2 inputs, 2 outputs, a schema facet and a
#     columnLineage facet, POSTed to /api/v1/lineage through nginx by
#     curl --parallel (PAR transfers at once, default 16, keep-alive):
#     events per second. Goal: at least 2,000.
#
#   tests/bench/lineage.sh [JOBS] [REQS] [EVENTS] [PAR]
#
# Rate limits are off, as in etl.sh. A figure, not a test: nothing here
# passes or fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" != --inside ]; then
    [ -x "$top/fcgi-app/sluice-api" ] || "$top/scripts/dev" build
    export abs_srcdir=$top abs_builddir=$top
    export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
    export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn}
    export LINEAGE_BENCH_BACK=${LINEAGE_BENCH_BACK:-1}
    export LINEAGE_BENCH_CROSS=${LINEAGE_BENCH_CROSS:-0.05}
    exec "$top/tests/integration/with-stack" "$0" --inside "${1:-10000}" \
        "${2:-200}" "${3:-20000}" "${4:-16}"
fi
jobs=$2
reqs=$3
events=$4
par=$5
base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
owner() { PGPASSFILE=$SLUICE_TEST_VAR/secrets/pgpass psql -X -q -At -v ON_ERROR_STOP=1 "$SLUICE_TEST_OWNER_DB_URL" "$@"; }
json() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p" | head -n1; }
now() { date +%s.%N; }
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p + 0.999); if (i < 1) i = 1; printf "%.2f", a[i] * 1000 }'; }

user=bench_$$
curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"Bench $$\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}" | json access_token)
org=$(owner -c "SELECT id FROM tenants ORDER BY created_at DESC LIMIT 1")

# --- 1. the graph -------------------------------------------------------------
echo "bench: making $jobs jobs and $((jobs * 5)) datasets"
t0=$(now)
owner -v org="$org" -v jobs="$jobs" -v back="$LINEAGE_BENCH_BACK" \
    -v cross="$LINEAGE_BENCH_CROSS" <<'SQL'
SELECT FROM setseed(0.42);
CREATE TEMP TABLE g AS
    SELECT j, j / (:jobs / 100) AS dom, j % (:jobs / 100) AS pos
    FROM generate_series(0, :jobs - 1) j;
INSERT INTO lineage_jobs (id, tenant_id, namespace, name)
    SELECT 1000000000 + j, :'org', 'bench', 'job_' || j FROM g;
INSERT INTO lineage_datasets (id, tenant_id, namespace, name, layer)
    SELECT 1000000000 + j * 5 + k, :'org', 'bench',
           (ARRAY['bronze', 'silver', 'gold'])[1 + (pos * 3 / (:jobs / 100))]
               || '.d_' || (j * 5 + k),
           (ARRAY['bronze', 'silver', 'gold'])[1 + (pos * 3 / (:jobs / 100))]
    FROM g, generate_series(0, 4) k;
-- each job writes its 5 datasets
INSERT INTO lineage_edges (tenant_id, job_id, dataset_id, direction,
                           transformation, created_at)
    SELECT :'org', 1000000000 + j, 1000000000 + j * 5 + k, 'out',
           'job_' || j, now()
    FROM g, generate_series(0, 4) k;
-- and reads 3 of the previous job's, one earlier of its domain, and (one
-- job in 20) one of another domain
INSERT INTO lineage_edges (tenant_id, job_id, dataset_id, direction,
                           transformation, created_at)
    SELECT DISTINCT ON (1, 2, 3) :'org', 1000000000 + g.j, x.d, 'in',
           'job_' || g.j, now()
    FROM g, LATERAL (
        SELECT 1000000000 + (g.j - 1) * 5 + k AS d
        FROM generate_series(0, 2) k WHERE g.pos > 0
        UNION ALL
        SELECT 1000000000 + (g.j - g.pos + floor(random() * g.pos)::int) * 5
                          + floor(random() * 5)::int
        WHERE g.pos > 1 AND random() < :back
        UNION ALL
        SELECT 1000000000 + floor(random() * (:jobs * 5))::int
        WHERE random() < :cross) x
    ORDER BY 1, 2, 3;
SELECT FROM setval('lineage_jobs_id_seq', 2000000000);
SELECT FROM setval('lineage_datasets_id_seq', 2000000000);
ANALYZE lineage_jobs;
ANALYZE lineage_datasets;
ANALYZE lineage_edges;
SQL
t1=$(now)
counts=$(owner -c "SELECT (SELECT count(*) FROM lineage_jobs WHERE tenant_id = '$org') || ' jobs, ' || (SELECT count(*) FROM lineage_datasets WHERE tenant_id = '$org') || ' datasets, ' || (SELECT count(*) FROM lineage_edges WHERE tenant_id = '$org') || ' edges'")
printf 'graph                 %s (made in %.1f s; back %s, cross %s)\n' "$counts" \
    "$(echo "$t1 - $t0" | bc -l)" "$LINEAGE_BENCH_BACK" "$LINEAGE_BENCH_CROSS"

# The centre: the middle dataset of a middle domain.
mid=$(((jobs / 2 + jobs / 200) * 5 + 2))
name=$(owner -c "SELECT name FROM lineage_datasets WHERE id = 1000000000 + $mid")
url="$base/api/v1/lineage/graph?namespace=bench&dataset=$name&depth=20"
shape=$(curl -fsS "$url" -H "Authorization: Bearer $token" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(len(d["nodes"]), "nodes,", len(d["edges"]), "edges, truncated", d["truncated"])')
printf 'graph around %s at depth 20: %s\n' "$name" "$shape"
args=()
for _ in $(seq 1 "$reqs"); do args+=(-o /dev/null "$url"); done
curl -fsS -H "Authorization: Bearer $token" -w '%{time_total}\n' "${args[@]}" >"$SLUICE_TEST_VAR/graph.txt"
printf 'GET /lineage/graph    p50 %s ms, p99 %s ms over %d requests (goal p99 < 50)\n' \
    "$(pct 0.50 <"$SLUICE_TEST_VAR/graph.txt")" "$(pct 0.99 <"$SLUICE_TEST_VAR/graph.txt")" "$reqs"
url3="$base/api/v1/lineage/graph?namespace=bench&dataset=$name"
args=()
for _ in $(seq 1 "$reqs"); do args+=(-o /dev/null "$url3"); done
curl -fsS -H "Authorization: Bearer $token" -w '%{time_total}\n' "${args[@]}" >"$SLUICE_TEST_VAR/graph3.txt"
printf '  (depth 3, default)  p50 %s ms, p99 %s ms\n' \
    "$(pct 0.50 <"$SLUICE_TEST_VAR/graph3.txt")" "$(pct 0.99 <"$SLUICE_TEST_VAR/graph3.txt")"

# --- 2. ingestion -------------------------------------------------------------
echo "bench: writing $events events"
dir=$SLUICE_TEST_VAR/events
mkdir -p "$dir"
python3 - "$dir" "$events" "$base" "$token" <<'PY'
import json, sys, uuid
d, n, base, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(d + "/curl.cfg", "w") as cfg:
    for i in range(n):
        j = i % 500
        src = ["raw.src_%d" % j, "raw.src_%d" % (j + 1)]
        out = ["silver.out_%d" % j, "gold.out_%d" % j]
        ev = {
            "eventType": "COMPLETE",
            "eventTime": "2026-01-09T16:%02d:%02d.%06dZ" % (i // 60 % 60, i % 60, i),
            "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "ingest", "name": "job_%d" % j},
            "inputs": [{"namespace": "ingest", "name": s} for s in src],
            "outputs": [{"namespace": "ingest", "name": o, "facets": {
                "schema": {"fields": [{"name": "id", "type": "integer"},
                                      {"name": "total", "type": "numeric"}]},
                "columnLineage": {"fields": {
                    "id": {"inputFields": [{"namespace": "ingest", "name": src[0], "field": "id"}]},
                    "total": {"inputFields": [{"namespace": "ingest", "name": src[0], "field": "a"},
                                              {"namespace": "ingest", "name": src[1], "field": "b"}]}}}}}
                        for o in out]}
        path = "%s/ev%d.json" % (d, i)
        with open(path, "w") as f:
            json.dump(ev, f)
        if i:
            cfg.write("next\n")
        cfg.write('url = "%s/api/v1/lineage"\nheader = "Authorization: Bearer %s"\n'
                  'header = "Content-Type: application/json"\ndata-binary = "@%s"\n'
                  'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' % (base, token, path))
PY
t0=$(now)
curl -sS --parallel --parallel-immediate --parallel-max "$par" -K "$dir/curl.cfg" >"$SLUICE_TEST_VAR/codes.txt"
t1=$(now)
ok=$(grep -c '^201$' "$SLUICE_TEST_VAR/codes.txt" || true)
stored=$(owner -c "SELECT count(*) FROM lineage_events WHERE tenant_id = '$org'")
printf 'POST /lineage         %d events in %.2f s: %.0f events/s, %d answered 201, %d stored (goal >= 2000/s)\n' \
    "$events" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$events / ($t1 - $t0)" | bc -l)" "$ok" "$stored"
sort "$SLUICE_TEST_VAR/codes.txt" | uniq -c | sed 's/^/  status /'
