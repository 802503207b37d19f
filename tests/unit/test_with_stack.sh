#!/bin/sh
# test_with_stack.sh: where tests/integration/with-stack reserves its
# ports. The shared directory (/tmp/sluice-test-ports) lives in
# world-writable /tmp, so any local user may have made it first: as a
# symbolic link to a directory of the user running the tests, the harness
# must neither chmod the target (1777) nor write its reservations there,
# and fall back to a directory of its own.
#
# The harness runs here against a stub scripts/lib/stack.sh that starts
# nothing and records which directory the reservations went to.
set -u
src=${abs_srcdir:?run through make check}
work=$(mktemp -d /tmp/sluice-wstest.XXXXXX) || exit 99
trap 'rm -rf "$work" "$work.ports" "$work.ports.$(id -u)" "$work.link" \
    "$work.link.$(id -u)"' EXIT
fail=0
ko() { echo "FAIL: $*"; fail=1; }

mkdir -p "$work/src/scripts/lib" "$work/src/tests/integration" "$work/build"
cp "$src/tests/integration/with-stack" "$work/src/tests/integration/"
cat >"$work/src/scripts/lib/stack.sh" <<'STUB'
STACK_SERVICES=postgres
LOGDIR=$SLUICE_VAR
port_open() { return 1; }
random_secret() { echo secret; }
stack_defaults() { :; }
stack_down() { :; }
short_dir() { echo "$SLUICE_VAR.short"; }
# Records where the ports were reserved, and how many; starts nothing.
stack_up() {
    echo "$reserved $(ls "$reserved" | wc -l)" >"$WS_TEST_OUT"
    return 1
}
STUB

run() {
    rm -f "$work/out"
    SLUICE_TEST_PORTS=$1 WS_TEST_OUT=$work/out abs_srcdir=$work/src \
        abs_builddir=$work/build \
        bash "$work/src/tests/integration/with-stack" /bin/true \
        >"$work/log" 2>&1
    cat "$work/out" 2>/dev/null
}

# 1. A fresh path: made sticky and world-writable, and used.
got=$(run "$work.ports")
[ "$got" = "$work.ports 5" ] || ko "fresh directory: got '$got'"
[ "$(stat -c %a "$work.ports")" = 1777 ] ||
    ko "fresh directory: mode $(stat -c %a "$work.ports")"
[ -z "$(ls "$work.ports")" ] || ko "fresh directory: reservations left"

# 2. A symbolic link someone else planted, to a directory of ours.
mkdir "$work/victim"
chmod 755 "$work/victim"
ln -s "$work/victim" "$work.link"
got=$(run "$work.link")
[ "$(stat -c %a "$work/victim")" = 755 ] ||
    ko "symbolic link: its target became mode $(stat -c %a "$work/victim")"
[ "$got" = "$work.link.$(id -u) 5" ] ||
    ko "symbolic link: reservations went to '$got'"
[ "$(stat -c %a "$work.link.$(id -u)" 2>/dev/null)" = 700 ] ||
    ko "symbolic link: the fallback is not private"

# 3. A world-writable directory without the sticky bit: not trusted.
rm -rf "$work.ports" "$work.ports.$(id -u)"
mkdir "$work.ports"
chmod 777 "$work.ports"
got=$(run "$work.ports")
[ "$got" = "$work.ports.$(id -u) 5" ] ||
    ko "non-sticky directory: reservations went to '$got'"

[ $fail -eq 0 ] || cat "$work/log"
exit $fail
