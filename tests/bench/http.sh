#!/usr/bin/env bash
# http.sh: throughput of the API through nginx, beside nginx alone.
#
#   tests/bench/http.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]
#
# Starts a private stack (rate limits off, as a benchmark needs), then runs
# wrk for DURATION seconds (default 5) with CONNECTIONS connections
# (default 32) against three URLs, in turn, ROUNDS times (default 3; the
# median of each is kept, since a shared machine is noisy):
#
#   /_nginx/ok       nginx answers by itself: the baseline
#   /health          the API, no database
#   /api/v1/auth/me  the API, a bearer token checked against PostgreSQL
#
# and prints requests per second of each and the two ratios to the
# baseline. Goals (issue 2): /health >= 50%, /auth/me >= 25%.
# A figure, not a test: nothing here passes or fails.
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

# The run with the median throughput of several: "requests/s p50 p99".
median() { sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }

# A user to call /auth/me as.
user=bench_$$
curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"Bench\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "bench: could not log in" >&2; exit 1; }
curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/auth/me"

# Warm every worker's connections and prepared statements.
wrk -t1 -c"$conns" -d2s -H "Authorization: Bearer $token" "$base/api/v1/auth/me" >/dev/null

echo "wrk: $threads threads, $conns connections, ${duration}s a run, median of" \
    "$rounds rounds; $(nproc) CPUs; sluice-api workers:" \
    "$(pgrep -c -P "$(cat "$SLUICE_TEST_VAR/run/api.pid")"); nginx workers:" \
    "$SLUICE_NGINX_WORKERS; log level: $SLUICE_LOG_LEVEL"
: >"$SLUICE_TEST_VAR/nginx.runs"
: >"$SLUICE_TEST_VAR/health.runs"
: >"$SLUICE_TEST_VAR/me.runs"
for _ in $(seq "$rounds"); do
    run "$base/_nginx/ok" >>"$SLUICE_TEST_VAR/nginx.runs"
    run "$base/health" >>"$SLUICE_TEST_VAR/health.runs"
    run -H "Authorization: Bearer $token" "$base/api/v1/auth/me" >>"$SLUICE_TEST_VAR/me.runs"
done
read -r nginx_rps nginx_p50 nginx_p99 < <(median <"$SLUICE_TEST_VAR/nginx.runs")
read -r health_rps health_p50 health_p99 < <(median <"$SLUICE_TEST_VAR/health.runs")
read -r me_rps me_p50 me_p99 < <(median <"$SLUICE_TEST_VAR/me.runs")

printf '%-22s %12s %24s\n' "target" "requests/s" "latency p50 / p99"
printf '%-22s %12.0f %24s\n' "nginx alone" "$nginx_rps" "$nginx_p50 / $nginx_p99"
printf '%-22s %12.0f %24s\n' "GET /health" "$health_rps" "$health_p50 / $health_p99"
printf '%-22s %12.0f %24s\n' "GET /api/v1/auth/me" "$me_rps" "$me_p50 / $me_p99"
awk -v n="$nginx_rps" -v h="$health_rps" -v m="$me_rps" 'BEGIN {
    printf "/health  / nginx alone: %5.1f%%   (goal >= 50%%)\n", 100 * h / n
    printf "/auth/me / nginx alone: %5.1f%%   (goal >= 25%%)\n", 100 * m / n
}'
