#!/usr/bin/env bash
# login.sh: what a password login costs at each scrypt cost (issue 10).
#
# For each cost in COSTS (default "15 17": the old default and OWASP's
# N=2^17 that Sluice uses now), brings up a private stack with
# password_cost set to it, registers a user, and times N sequential
# POST /auth/login calls through nginx (curl's time_total). Prints p50, p95
# and the mean per cost, and the ratio of each median to the first's.
#
#   tests/bench/login.sh [N] [COSTS]
#
# A figure, not a test: nothing here passes or fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-30}
costs=${2:-15 17}
if [ "${1:-}" = --inside ]; then
    n=$2
    base=http://$SLUICE_TEST_BIND:$SLUICE_TEST_HTTP_PORT
    user=login_$$
    curl -fsS -o /dev/null "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"Bench-Pass-1\"}"
    for _ in $(seq "$n"); do
        curl -fsS -o /dev/null -w '%{time_total}\n' "$base/api/v1/auth/login" \
            -H 'Content-Type: application/json' \
            -d "{\"username\":\"$user\",\"password\":\"Bench-Pass-1\"}"
    done
    exit 0
fi
[ -x "$top/fcgi-app/sluice-api" ] || "$top/scripts/dev" build
export abs_srcdir=$top abs_builddir=$top
export SLUICE_RATE_ANON=off SLUICE_RATE_AUTH=off SLUICE_RATE_CRED_IP=off
export SLUICE_RATE_WS=off SLUICE_WS_CONN_PER_IP=off
export SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn}
first=
for cost in $costs; do
    out=$(mktemp)
    SLUICE_PASSWORD_COST=$cost "$top/tests/integration/with-stack" "$0" --inside "$n" >"$out"
    read -r p50 p95 mean < <(sort -n "$out" | awk '{ v[NR] = $1; s += $1 }
        END { i50 = int((NR + 1) / 2); i95 = int(NR * 0.95 + 0.999);
              printf "%.3f %.3f %.3f\n", v[i50], v[i95], s / NR }')
    rm -f "$out"
    first=${first:-$p50}
    printf 'login: cost %s (N=2^%s, r=8, p=1): %s logins, p50 %s s, p95 %s s, mean %s s, p50 ratio to cost %s: %s\n' \
        "$cost" "$cost" "$n" "$p50" "$p95" "$mean" "${costs%% *}" \
        "$(awk -v a="$p50" -v b="$first" 'BEGIN { printf "%.2f", a / b }')"
done
