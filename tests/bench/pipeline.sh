#!/usr/bin/env bash
# pipeline.sh: GET /api/v1/pipelines/{id} through nginx, beside pgbench -S
# against the same PostgreSQL at the same concurrency.
#
#   tests/bench/pipeline.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]
#
# Starts a private stack (rate limits off), creates an organisation and a
# three-node pipeline, then, ROUNDS times (default 3; medians kept), runs
# wrk for DURATION seconds (default 5) with CONNECTIONS connections
# (default 32) against the pipeline, and pgbench -S -M prepared (select
# only, prepared statements) with as many clients against a scale-10
# pgbench database in the warehouse. Prints both, and the ratio.
# Goal (issue 3): the API at least 30% of pgbench's transactions per
# second. A figure, not a test: nothing here passes or fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" != --inside ]; then
    "$top/scripts/install-deps" --bench
    [ -x "$top/fcgi-app/sluice-api" ] || "$top/scripts/dev" build
    export abs_srcdir=$top abs_builddir=$top
    export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
    export SLUICE_RATE_WS=off SLUICE_WS_CONN_PER_IP=off
    export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info}
    export SLUICE_API_WORKERS=${SLUICE_API_WORKERS:-0}
    export SLUICE_NGINX_WORKERS=${SLUICE_NGINX_WORKERS:-1}
    exec "$top/tests/integration/with-stack" "$0" --inside "${1:-5}" "${2:-32}" "${3:-3}"
fi
duration=$2
conns=$3
rounds=$4
base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
threads=2

# One wrk run: prints "requests/s p50 p99".
run() {
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@" 2>&1 |
        tee -a "$SLUICE_TEST_VAR/log/wrk.log" |
        awk '/^Requests\/sec:/ { r = $2 } /^ +50%/ { p50 = $2 }
             /^ +99%/ { p99 = $2 } END { print r, p50, p99 }'
}
median() { sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }
json() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

# An organisation, its admin, and a pipeline to read.
user=bench_$$
curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"Bench $$\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}" | json access_token)
[ -n "$token" ] || { echo "bench: could not log in" >&2; exit 1; }
id=$(curl -fsS "$base/api/v1/pipelines" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"name": "Bench pipeline",
      "config": {"nodes": [
        {"id": "read", "type": "extractor", "module": "csv", "config": {"path": "in.csv"}},
        {"id": "clean", "type": "transformer", "module": "cleaner", "config": {"remove_duplicates": true, "columns": ["email"]}},
        {"id": "write", "type": "loader", "module": "postgres", "config": {"table": "customers"}}],
      "edges": [{"source": "read", "target": "clean"}, {"source": "clean", "target": "write"}]},
      "schedule": "0 2 * * *", "tags": ["bench"]}' | json pipeline_id)
[ -n "$id" ] || { echo "bench: could not create the pipeline" >&2; exit 1; }
url=$base/api/v1/pipelines/$id
curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$url"

# pgbench's tables, in the warehouse database, as its owner.
wh=$SLUICE_TEST_WH_DB_URL
pg() { printf '%s' "$wh" | sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p"; }
export PGHOST=$(pg host) PGPORT=$(pg port) PGUSER=$(pg user) PGDATABASE=$(pg dbname)
export PGPASSFILE=$(pg passfile)
pgbench -i -q -s 10 >"$SLUICE_TEST_VAR/log/pgbench-init.log" 2>&1
pgbench_run() {
    pgbench -S -M prepared -n -c "$conns" -j "$threads" -T "$duration" 2>&1 |
        tee -a "$SLUICE_TEST_VAR/log/pgbench.log" |
        awk '/^tps = / { print $3 }'
}

# Warm every worker's connections and prepared statements.
wrk -t1 -c"$conns" -d2s -H "Authorization: Bearer $token" "$url" >/dev/null

echo "wrk: $threads threads, $conns connections, ${duration}s a run; pgbench -S -M prepared" \
    "-c $conns -j $threads; median of $rounds rounds; $(nproc) CPUs; sluice-api workers:" \
    "$(pgrep -c -P "$(cat "$SLUICE_TEST_VAR/run/api.pid")"); nginx workers: $SLUICE_NGINX_WORKERS"
: >"$SLUICE_TEST_VAR/get.runs"
: >"$SLUICE_TEST_VAR/pgbench.runs"
for _ in $(seq "$rounds"); do
    run -H "Authorization: Bearer $token" "$url" >>"$SLUICE_TEST_VAR/get.runs"
    pgbench_run >>"$SLUICE_TEST_VAR/pgbench.runs"
done
read -r get_rps get_p50 get_p99 < <(median <"$SLUICE_TEST_VAR/get.runs")
tps=$(median <"$SLUICE_TEST_VAR/pgbench.runs")

printf '%-34s %12s %20s\n' "target" "per second" "latency p50 / p99"
printf '%-34s %12.0f %20s\n' "GET /api/v1/pipelines/{id}" "$get_rps" "$get_p50 / $get_p99"
printf '%-34s %12.0f\n' "pgbench -S (select only, prepared)" "$tps"
awk -v g="$get_rps" -v t="$tps" 'BEGIN {
    printf "GET pipeline / pgbench -S: %5.1f%%   (goal >= 30%%)\n", 100 * g / t
}'
