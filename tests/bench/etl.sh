#!/usr/bin/env bash
# etl.sh: what a run costs. Two figures (issue 4):
#
#  1. ROWS rows (default 1,000,000) of a PostgreSQL table through
#     postgres -> cleaner (trim) -> postgres (the warehouse), beside the raw
#     COPY pipe  psql -c "\copy (select ...) to stdout" | psql -c "\copy
#     ... from stdin"  of the same table into the same database, measured
#     in the same run. Prints rows per second of both, the ratio, and the
#     runner's peak resident size (VmHWM). Goals: at least 50% of the pipe;
#     runner RSS under 64 MB.
#     Then the same rows through postgres -> sql -> postgres, the sql
#     node staging its input and querying it (no goal; for comparison).
#  2. The time from POST .../execute to the run's status running, p50 and
#     p95 over RUNS runs (default 200) of a small pipeline, one after the
#     other (goal: p95 under 50 ms). The start is taken by the client just
#     before the request; "running" is the run's started_at, set by the
#     runner's claim (same clock, same machine).
#
#   tests/bench/etl.sh [ROWS] [RUNS]
#
# A figure, not a test: nothing here passes or fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" != --inside ]; then
    [ -x "$top/runner/sluice-runner" ] || "$top/scripts/dev" build
    export abs_srcdir=$top abs_builddir=$top
    export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
    export SLUICE_RATE_WS=off SLUICE_WS_CONN_PER_IP=off
    export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info}
    exec "$top/tests/integration/with-stack" "$0" --inside "${1:-1000000}" "${2:-200}"
fi
rows=$2
runs=$3
base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
wh() { PGPASSFILE=$SLUICE_TEST_VAR/secrets/pgpass psql -X -q -At -v ON_ERROR_STOP=1 "$SLUICE_TEST_WH_DB_URL" "$@"; }
owner() { PGPASSFILE=$SLUICE_TEST_VAR/secrets/pgpass psql -X -q -At -v ON_ERROR_STOP=1 "$SLUICE_TEST_OWNER_DB_URL" "$@"; }
json() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p" | head -n1; }
now() { date +%s.%N; }

# An organisation on a plan that does not stop a benchmark.
user=bench_$$
curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"Bench $$\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}" | json access_token)
org=$(owner -c "SELECT id FROM tenants ORDER BY created_at DESC LIMIT 1")
owner -c "UPDATE tenant_subscriptions SET daily_runs_limit = 100000, monthly_runs_limit = 1000000, concurrent_runs_limit = 100 WHERE tenant_id = '$org'"
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')

# The source table, and the baseline: the raw COPY pipe.
echo "bench: making $rows rows"
wh -c "DROP TABLE IF EXISTS public.bench_src, public.bench_pipe" -c "
CREATE TABLE public.bench_src AS SELECT g AS id,
    ' user' || g || '@example.com ' AS email, (g % 1000)::numeric(10,2) AS amount,
    timestamptz '2026-01-01' + g * interval '1 second' AS created_at,
    md5(g::text) AS note FROM generate_series(1, $rows) g" \
    -c "CREATE TABLE public.bench_pipe (LIKE public.bench_src)" -c "VACUUM ANALYZE public.bench_src"
t0=$(now)
wh -c "\\copy (SELECT * FROM public.bench_src) to stdout" |
    wh -c "\\copy public.bench_pipe from stdin"
t1=$(now)
pipe_s=$(echo "$t1 - $t0" | bc -l)

# The pipeline: the same table through the runner.
pw=$(cat "$SLUICE_TEST_VAR/secrets/pg_wh")
port=$(echo "$SLUICE_TEST_WH_DB_URL" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
conn=$(curl -fsS "$base/api/v1/connectors" "${auth[@]}" -d "{\"name\": \"warehouse\", \"type\": \"postgresql\",
    \"config\": {\"host\": \"$SLUICE_TEST_BIND\", \"port\": $port, \"database\": \"sluice_warehouse\",
    \"ssl_mode\": \"disable\", \"username\": \"sluice_wh\", \"password\": \"$pw\"}}" | json id)
pid=$(curl -fsS "$base/api/v1/pipelines" "${auth[@]}" -d "{\"name\": \"bench etl\",
    \"nodes\": [
      {\"id\": \"src\", \"type\": \"extractor\", \"module\": \"postgres\", \"config\": {\"connection_id\": \"$conn\", \"schema\": \"public\", \"table\": \"bench_src\"}},
      {\"id\": \"clean\", \"type\": \"transformer\", \"module\": \"cleaner\", \"config\": {\"trim\": true}},
      {\"id\": \"out\", \"type\": \"loader\", \"module\": \"postgres\", \"config\": {\"table\": \"bench_out\"}}],
    \"edges\": [{\"source\": \"src\", \"target\": \"clean\"}, {\"source\": \"clean\", \"target\": \"out\"}]}" | json pipeline_id)
await() { # run id: waits for its end, prints its status
    local st
    for _ in $(seq 1 6000); do
        st=$(owner -c "SELECT status FROM runs WHERE id = '$1'")
        case $st in completed | failed | cancelled) echo "$st"; return ;; esac
        sleep 0.05
    done
    echo timeout
}
timed() { # pipeline id: runs it to completion, prints the seconds taken
    local t0 t1 run st
    t0=$(now)
    run=$(curl -fsS -X POST "$base/api/v1/pipelines/$1/execute" "${auth[@]}" -d '{}' | json run_id)
    st=$(await "$run")
    t1=$(now)
    [ "$st" = completed ] || { echo "bench: the run ended $st:" >&2; owner -c "SELECT error_message FROM runs WHERE id = '$run'" >&2; exit 1; }
    echo "$t1 - $t0" | bc -l
}
run_s=$(timed "$pid")
loaded=$(wh -c "SELECT count(*) FROM t_${org}_bronze.bench_out")

# The same rows through the sql transform: staged into input, queried as
# the organisation's role, loaded.
sqlp=$(curl -fsS "$base/api/v1/pipelines" "${auth[@]}" -d "{\"name\": \"bench sql\",
    \"nodes\": [
      {\"id\": \"src\", \"type\": \"extractor\", \"module\": \"postgres\", \"config\": {\"connection_id\": \"$conn\", \"schema\": \"public\", \"table\": \"bench_src\"}},
      {\"id\": \"q\", \"type\": \"transformer\", \"module\": \"sql\", \"config\": {\"query\": \"SELECT id, trim(email) AS email, amount, created_at, note FROM input\"}},
      {\"id\": \"out\", \"type\": \"loader\", \"module\": \"postgres\", \"config\": {\"table\": \"bench_sql\"}}],
    \"edges\": [{\"source\": \"src\", \"target\": \"q\"}, {\"source\": \"q\", \"target\": \"out\"}]}" | json pipeline_id)
sql_s=$(timed "$sqlp")
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$(cat "$SLUICE_TEST_VAR/run/runner.pid")/status")

printf 'rows                  %d (loaded %d)\n' "$rows" "$loaded"
printf 'copy pipe (psql)      %8.2f s  %10.0f rows/s\n' "$pipe_s" "$(echo "$rows / $pipe_s" | bc -l)"
printf 'sluice run            %8.2f s  %10.0f rows/s\n' "$run_s" "$(echo "$rows / $run_s" | bc -l)"
printf 'ratio                 %8.1f %% of the pipe (goal 50%%)\n' "$(echo "100 * $pipe_s / $run_s" | bc -l)"
printf 'sluice run, sql node  %8.2f s  %10.0f rows/s (%.1f %% of the pipe)\n' "$sql_s" \
    "$(echo "$rows / $sql_s" | bc -l)" "$(echo "100 * $pipe_s / $sql_s" | bc -l)"
printf 'runner peak RSS       %8.1f MB (goal < 64)\n' "$(echo "$rss / 1024" | bc -l)"

# Time to running, one run after the other.
mkdir -p "$SLUICE_TEST_DATA_DIR/$org"
echo '{"a": 1}' >"$SLUICE_TEST_DATA_DIR/$org/one.jsonl"
small=$(curl -fsS "$base/api/v1/pipelines" "${auth[@]}" -d '{"name": "bench small",
    "nodes": [{"id": "in", "type": "extractor", "module": "jsonl", "config": {"path": "one.jsonl"}},
              {"id": "out", "type": "loader", "module": "jsonl", "config": {"path": "out.jsonl"}}],
    "edges": [{"source": "in", "target": "out"}]}' | json pipeline_id)
: >"$SLUICE_TEST_VAR/latency.txt"
for _ in $(seq 1 "$runs"); do
    t0=$(now)
    run=$(curl -fsS -X POST "$base/api/v1/pipelines/$small/execute" "${auth[@]}" -d '{}' | json run_id)
    st=$(await "$run")
    owner -c "SELECT (extract(epoch FROM started_at) - $t0) * 1000 FROM runs WHERE id = '$run'" >>"$SLUICE_TEST_VAR/latency.txt"
done
sort -n "$SLUICE_TEST_VAR/latency.txt" | awk '{ a[NR] = $1 } END {
    printf "execute -> running   p50 %.1f ms, p95 %.1f ms over %d runs (goal p95 < 50)\n",
        a[int(NR * 0.5 + 0.5)], a[int(NR * 0.95 + 0.5)], NR }'
