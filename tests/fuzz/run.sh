#!/usr/bin/env bash
# run.sh: builds tests/fuzz/fuzz_input with clang's libFuzzer and the
# address and undefined-behaviour sanitizers, and runs it.
#
#   tests/fuzz/run.sh [SECONDS]     (default 60)
#
# Needs clang with libFuzzer (Debian's clang-14 and libclang-rt-14-dev,
# which scripts/install-deps installs): $FUZZ_CC, else clang-14, else
# clang. Works from the source tree or from a build tree of its own
# (VPATH, make distcheck): the sources are read where this script is (but
# lib/pii_lists.c, which make generates into the build tree), and
# config.h, the binary (fuzz_input.bin), the corpus (corpus/) and any
# crash-* files are in tests/fuzz/ of $abs_builddir (make check sets it),
# else of the source tree. The seed inputs in tests/fuzz/seeds/ of the
# source tree are read, never written. Exits 0 when the time ran out with
# nothing found; non-zero when clang is missing, the build fails, or the
# fuzzer found a crash, a leak or undefined behaviour.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${abs_builddir:-$src}
secs=${1:-60}
out=$build/tests/fuzz
bin=$out/fuzz_input.bin

cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
    for c in clang-14 clang; do
        if command -v "$c" >/dev/null; then
            cc=$c
            break
        fi
    done
fi
if [ -z "$cc" ] || ! command -v "$cc" >/dev/null; then
    echo "run.sh: clang ('${cc:-clang-14}') was not found: install clang-14" \
        "and libclang-rt-14-dev (scripts/install-deps)" >&2
    exit 1
fi
[ -f "$build/config.h" ] || { echo "run.sh: run ./configure first" >&2; exit 1; }
# The PII word lists are generated into the build tree (make check does).
lists=$build/lib/pii_lists.c
if [ ! -f "$lists" ]; then
    echo "run.sh: run make lib/pii_lists.c first" >&2
    exit 1
fi
mkdir -p "$out/corpus"

# Everything but the daemons' main(): what the target reaches, and what
# that needs to link.
sources=("$src/tests/fuzz/fuzz_input.c" "$lists")
for f in "$src"/lib/*.c; do
    [ "$(basename "$f")" = pii_lists.c ] || sources+=("$f")
done
for f in "$src"/fcgi-app/*.c "$src"/runner/*.c; do
    [ "$(basename "$f")" = main.c ] || sources+=("$f")
done
# Built again only when a source or a header is newer than the binary.
if [ ! -x "$bin" ] || [ -n "$(find "$src/tests/fuzz" "$src/lib" \
    "$src/fcgi-app" "$src/runner" "$build/config.h" "$lists" -newer "$bin" \
    \( -name '*.[ch]' -o -name config.h \) -print -quit)" ]; then
    echo "run.sh: building $bin with $cc" >&2
    # shellcheck disable=SC2046 # pkg-config's flags are words
    "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -pthread \
        -I"$build" -iquote "$src/lib" -iquote "$src/fcgi-app" \
        -iquote "$src/runner" \
        $(pkg-config --cflags jansson libpq libnats libjwt openssl fcgi) \
        "${sources[@]}" \
        $(pkg-config --libs jansson libpq libnats libjwt openssl fcgi) \
        -o "$bin.tmp"
    mv "$bin.tmp" "$bin"
fi
cd "$out"
corpora=(corpus)
[ -d "$src/tests/fuzz/seeds" ] && corpora+=("$src/tests/fuzz/seeds")
exec "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 \
    -artifact_prefix="$out/" "${corpora[@]}"
