#!/usr/bin/env bash
# deliver.sh: signed webhook deliveries per second, with a hub SIGKILLed
# in the middle (issue 11's Delivery benchmark).
#
# Brings up a private stack, makes one organisation with one webhook to a
# local receiver (tests/bench/webhook_sink, one epoll loop, which checks
# both signatures of every request), and then, in MODE:
#
#   events  publishes N pipeline.completed events on the events stream
#           (JetStream, as the API and the runner do): the whole path,
#           event -> delivery row -> POST;
#   rows    inserts N delivery rows at once (the sender alone).
#
# When the receiver has half of them, the hub is SIGKILLed and started
# again. Prints: the rate before the kill, the rate after the restart
# (the new hub takes back at once the rows its dead predecessor held,
# sql/029; a pause of more than 2 s ends this phase, as a lease wait
# would), the overall rate from the first request to the last (the kill
# and the restart included), and the counts that must be
# zero: lost (events no request carried with valid signatures), events
# delivered under more than one webhook-id, bad signatures; duplicates
# under the same webhook-id (allowed: at least once) are counted apart.
#
#   tests/bench/deliver.sh [N] [MODE]      (default: 20000 events)
#
# A figure, not a test: nothing here passes or fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" = --inside ]; then
    n=$2 mode=$3
    sink=$top/tests/bench/webhook_sink
    work=$(mktemp -d)
    owner=$SLUICE_TEST_OWNER_DB_URL
    q() { psql -X -qAt -v ON_ERROR_STOP=1 "$owner" -c "$1"; }
    base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
    user=bench_$$
    curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\",\"organization_name\":\"Bench $$\"}"
    org=$(q "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.username = '$user' LIMIT 1")
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    secret=whsec_$(head -c 24 /dev/urandom | base64)
    wid=$(cat /proc/sys/kernel/random/uuid)
    sealed=$("$sink" seal "$SLUICE_TEST_VAR/secrets/secret_key" "$org/$wid" "$secret")
    q "INSERT INTO webhooks (id, tenant_id, url, events, secret) VALUES ('$wid', '$org', 'http://127.0.0.1:$port/hook', '{pipeline.execution.completed}', '$sealed')" >/dev/null
    "$sink" serve "$port" "$secret" "$work/got" &
    sink_pid=$!
    trap 'kill $sink_pid 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 50); do [ -f "$work/got.count" ] || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

    t0=$(date +%s%3N)
    if [ "$mode" = rows ]; then
        q "INSERT INTO deliveries (id, tenant_id, event_id, event_type, webhook_id, msg_id, body)
           SELECT gen_random_uuid(), '$org', e, 'pipeline.execution.completed', '$wid',
                  delivery_msg_id(e, '$wid'),
                  json_build_object('event_id', e, 'event_type', 'pipeline.execution.completed',
                      'timestamp', rfc3339(now()), 'organization_id', '$org',
                      'data', json_build_object('run_id', 'r' || i, 'status', 'completed'))::text
           FROM generate_series(1, $n) i, LATERAL (SELECT 'evt_rows_' || i AS e) x" >/dev/null
    else
        "$sink" publish "$SLUICE_TEST_NATS_URL" "$org" "$n" &
        pub_pid=$!
    fi
    killed=0 t_kill=0 t_restart=0 done_at=0 pub_pid=${pub_pid:-}
    deadline=$((SECONDS + 300))
    while [ $SECONDS -lt $deadline ]; do
        got=$(cat "$work/got.count" 2>/dev/null || true)
        case $got in '' | *[!0-9]*) got=0 ;; esac
        if [ "$killed" = 0 ] && [ "$got" -ge $((n / 2)) ]; then
            t_kill=$(date +%s%3N)
            kill -KILL "$(cat "$SLUICE_TEST_VAR/run/hub.pid")"
            "$SLUICE_TEST_STACKCTL" start hub >/dev/null 2>&1
            t_restart=$(date +%s%3N)
            killed=1
        fi
        if [ "$killed" = 1 ] && [ "$got" -ge "$n" ]; then
            ok=$(q "SELECT count(*) FROM deliveries WHERE webhook_id = '$wid' AND status = 'succeeded'")
            if [ "$ok" -ge "$n" ]; then done_at=$(date +%s%3N); break; fi
        fi
        sleep 0.1
    done
    if [ -n "$pub_pid" ] && ! wait "$pub_pid"; then
        echo "deliver: the publisher failed: these figures are not valid"
    fi
    wait_rows=$(q "SELECT count(*) FROM deliveries WHERE webhook_id = '$wid' AND status <> 'succeeded'")
    kill "$sink_pid"; wait "$sink_pid" || true
    sort -n "$work/got" | awk -v n="$n" -v t0="$t0" -v tk="$t_kill" -v tr="$t_restart" \
        -v mode="$mode" -v pending="$wait_rows" '
        { t[NR] = $1; id[NR] = $2; ev[NR] = $3; ok[NR] = $4 }
        END {
            first = t[1]; last = t[NR]
            for (i = 1; i <= NR; i++) {
                if (!ok[i]) bad++
                if (!(id[i] in seen)) { seen[id[i]] = 1; ids++ } else dup++
                if (ok[i] && !(ev[i] in evok)) { evok[ev[i]] = 1; events++ }
                k = ev[i] SUBSEP id[i]
                if (!(k in pair)) { pair[k] = 1; nid[ev[i]]++ }
                if (t[i] < tk) before++
            }
            for (e in nid) if (nid[e] > 1) twoids++
            # After the restart: up to the first pause of 2 s (rows
            # waiting for a lease to end, had they not been taken back).
            start2 = 0
            for (i = 1; i <= NR; i++) if (t[i] >= tr) { start2 = i; break }
            end2 = NR
            for (i = start2 + 1; start2 > 0 && i <= NR; i++)
                if (t[i] - t[i - 1] > 2000) { end2 = i - 1; break }
            after = start2 > 0 ? end2 - start2 + 1 : 0
            printf "deliver: mode %s, %d events, one webhook, hub SIGKILLed at %d received\n", mode, n, before
            printf "deliver: first request %.2f s after the start; last %.2f s\n", (first - t0) / 1000, (last - t0) / 1000
            if (tk > first) printf "deliver: before the kill: %d in %.2f s = %.0f/s\n", before, (tk - first) / 1000, before * 1000 / (tk - first)
            if (after > 0 && t[end2] > tr) printf "deliver: after the restart: %d in %.2f s = %.0f/s (then %d more after a pause of over 2 s)\n", after, (t[end2] - tr) / 1000, after * 1000 / (t[end2] - tr), NR - end2
            printf "deliver: overall, first to last request: %.0f/s (the kill and restart included)\n", NR * 1000 / (last - first)
            printf "deliver: requests %d; distinct webhook-ids %d; duplicates under the same id %d\n", NR, ids, dup + 0
            printf "deliver: lost %d; events under two or more webhook-ids %d; bad signatures %d; rows not succeeded %d\n", n - events, twoids + 0, bad + 0, pending
        }'
    exit 0
fi
n=${1:-20000}
mode=${2:-events}
[ -x "$top/ws-hub/sluice-hub" ] || "$top/scripts/dev" build
make -C "$top" -s tests/bench/webhook_sink >/dev/null
export abs_srcdir=$top abs_builddir=$top
export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn}
export SLUICE_PASSWORD_COST=${SLUICE_PASSWORD_COST:-10}
"$top/tests/integration/with-stack" "$0" --inside "$n" "$mode"
