#!/usr/bin/env bash
# fanout.sh: WebSocket fan-out of one sluice-hub (issue 11).
#
#   tests/bench/fanout.sh [SUBSCRIBERS] [RATE] [SECONDS]
#
# Starts a private stack (rate limits off, nginx on two workers), makes
# an organisation with 500 pipelines, then twice -- through nginx, then
# straight to the hub (restarted in between, so that each RSS figure
# starts from a fresh hub) -- opens SUBSCRIBERS (default 10000) sockets
# on /ws/pipeline/{id} spread over the 500 pipelines with
# tests/bench/wsload, prints the hub's RSS per idle subscriber, publishes
# RATE (default 1000) events a second for SECONDS (default 10), each for
# one pipeline and stamped with the time, and prints the publish-to-
# receive latency's p50/p99 over every frame delivered (RATE x
# SUBSCRIBERS/500 frames a second).
# Goals: p99 under 25 ms; at most 8 KB per idle subscriber. A figure, not
# a test.
set -euo pipefail
[ -z "${BENCH_TRACE:-}" ] || set -x

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" != --inside ]; then
    [ -x "$top/ws-hub/sluice-hub" ] || "$top/scripts/dev" build
    make -C "$top" -s tests/bench/wsload
    # nginx holds two descriptors per proxied socket, spread over two
    # workers; the machine allows 20000 per process.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 20000
    export abs_srcdir=$top abs_builddir=$top
    export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
    export SLUICE_RATE_WS=off SLUICE_WS_CONN_PER_IP=off
    # One organisation holds every subscriber here: no cap per organisation.
    export SLUICE_HUB_MAX_SUBSCRIBERS_PER_ORG=1000000
    export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn}
    export SLUICE_NGINX_WORKERS=2 SLUICE_NGINX_CONNECTIONS=12000
    exec "$top/tests/integration/with-stack" "$0" --inside "${1:-10000}" \
        "${2:-1000}" "${3:-10}"
fi
subs=$2
rate=$3
secs=$4
base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
wsload=$top/tests/bench/wsload
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
echo "ulimit -n: $(ulimit -n)"

user=fan_$$
curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"Fan $$\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}" | json '["access_token"]')
org=$(python3 -c "import base64, json, sys
p = sys.argv[1].split('.')[1]
print(json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))['org'])" "$token")
pids=$SLUICE_TEST_VAR/pipelines.txt
: >"$pids"
for i in $(seq 1 500); do
    curl -fsS "$base/api/v1/pipelines" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "{\"name\": \"Fan $i\",
          \"config\": {\"nodes\": [
            {\"id\": \"read\", \"type\": \"extractor\", \"module\": \"csv\", \"config\": {\"path\": \"in.csv\"}},
            {\"id\": \"write\", \"type\": \"loader\", \"module\": \"postgres\", \"config\": {\"table\": \"t\"}}],
          \"edges\": [{\"source\": \"read\", \"target\": \"write\"}]}}" |
        json '["pipeline_id"]' >>"$pids"
done
echo "organisation $org: $(wc -l <"$pids") pipelines"
nats=$SLUICE_TEST_NATS_URL
hubpid() { cat "$SLUICE_TEST_VAR/run/hub.pid"; }

echo "--- through nginx (2 workers): $wsload fanout $SLUICE_TEST_BIND $SLUICE_TEST_HTTP_PORT $subs ... $rate $secs"
"$wsload" fanout "$SLUICE_TEST_BIND" "$SLUICE_TEST_HTTP_PORT" "$subs" "$pids" \
    "$org" "$rate" "$secs" "$nats" token "$token" "$(hubpid)"

"$SLUICE_TEST_STACKCTL" stop hub >/dev/null 2>&1
"$SLUICE_TEST_STACKCTL" start hub >/dev/null 2>&1
sleep 1
echo "--- straight to the hub: $wsload fanout $SLUICE_TEST_BIND $SLUICE_HUB_PORT $subs ... $rate $secs"
"$wsload" fanout "$SLUICE_TEST_BIND" "$SLUICE_HUB_PORT" "$subs" "$pids" \
    "$org" "$rate" "$secs" "$nats" ticket "$SLUICE_TEST_VAR/secrets/hub_ticket_key" \
    "$(hubpid)"
