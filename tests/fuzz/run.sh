#!/usr/bin/env bash
# run.sh: builds tests/fuzz/fuzz_input with clang's libFuzzer and the
# address and undefined-behaviour sanitizers, and runs it.
#
#   tests/fuzz/run.sh [SECONDS]     (default 60)
#
# Needs clang (Debian's clang-14 and libclang-rt-14-dev). The corpus is
# kept in tests/fuzz/corpus/ (ignored by git); crashes are written to
# tests/fuzz/crash-*. Not part of make check.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
out=$top/tests/fuzz/fuzz_input.bin
mkdir -p "$top/tests/fuzz/corpus"
[ -f "$top/config.h" ] || { echo "run ./configure first" >&2; exit 1; }
clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
    -I"$top" -iquote "$top/lib" -iquote "$top/fcgi-app" \
    $(pkg-config --cflags jansson libpq libnats libjwt openssl fcgi) \
    "$top/tests/fuzz/fuzz_input.c" \
    $(ls "$top"/fcgi-app/*.c | grep -v '/main\.c$') "$top"/lib/*.c \
    $(pkg-config --libs jansson libpq libnats libjwt openssl fcgi) \
    -o "$out"
cd "$top/tests/fuzz"
"$out" -max_total_time="$secs" -max_len=4096 -timeout=10 corpus
