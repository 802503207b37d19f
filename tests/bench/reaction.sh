#!/usr/bin/env bash
# reaction.sh: from POST .../execute to the first execution_update on a
# subscribed WebSocket (issue 11).
#
#   tests/bench/reaction.sh [RUNS]
#
# Starts a private stack (rate limits off), makes an organisation whose
# quotas allow the runs, and a csv -> postgres pipeline of three rows;
# tests/bench/wsload subscribes to /ws/pipeline/{id} through nginx, then
# RUNS times (default 200) starts a run and times the moment the socket
# shows the new run's first execution_update (its pipeline.queued,
# published by the API straight after its commit), waiting for each run's
# end before the next. Prints p50/p95. Goal: p95 under 25 ms. A figure,
# not a test.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" != --inside ]; then
    [ -x "$top/ws-hub/sluice-hub" ] || "$top/scripts/dev" build
    make -C "$top" -s tests/bench/wsload
    export abs_srcdir=$top abs_builddir=$top
    export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
    export SLUICE_RATE_WS=off SLUICE_WS_CONN_PER_IP=off
    export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn}
    exec "$top/tests/integration/with-stack" "$0" --inside "${1:-200}"
fi
runs=$2
base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

user=react_$$
curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"React $$\"}"
token=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}" | json '["access_token"]')
org=$(python3 -c "import base64, json, sys
p = sys.argv[1].split('.')[1]
print(json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))['org'])" "$token")
psql -q "$SLUICE_TEST_OWNER_DB_URL" -c "UPDATE tenant_subscriptions SET
    plan_code = 'SCALE', daily_runs_limit = 100000,
    monthly_runs_limit = 100000, concurrent_runs_limit = 100
    WHERE tenant_id = '$org'"
mkdir -p "$SLUICE_TEST_DATA_DIR/$org"
printf 'id,name\r\n1,Ada\r\n2,Grace\r\n3,Linus\r\n' >"$SLUICE_TEST_DATA_DIR/$org/in.csv"
pid=$(curl -fsS "$base/api/v1/pipelines" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"name": "Reaction",
      "config": {"nodes": [
        {"id": "read", "type": "extractor", "module": "csv", "config": {"path": "in.csv"}},
        {"id": "write", "type": "loader", "module": "postgres", "config": {"schema": "bronze", "table": "people"}}],
      "edges": [{"source": "read", "target": "write"}]}}' | json '["pipeline_id"]')
echo "--- $top/tests/bench/wsload reaction $SLUICE_TEST_BIND $SLUICE_TEST_HTTP_PORT TOKEN $pid $runs"
"$top/tests/bench/wsload" reaction "$SLUICE_TEST_BIND" "$SLUICE_TEST_HTTP_PORT" \
    "$token" "$pid" "$runs"
