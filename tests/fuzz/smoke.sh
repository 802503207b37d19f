#!/bin/sh
# smoke.sh: make check's ten-second run of the fuzz target (run.sh), from
# the source tree or a build tree of its own (make distcheck).
#
# It fails when the target does not build, when the fuzzer finds a crash,
# a leak or undefined behaviour, and when clang is missing though
# configure found it (SLUICE_FUZZ_CC, from Makefile.am). It is skipped,
# saying so, only when configure was told --disable-fuzz.
if [ -z "${SLUICE_FUZZ_CC:-}" ]; then
    echo "smoke.sh: the fuzz smoke is off (./configure --disable-fuzz)"
    exit 77
fi
FUZZ_CC=$SLUICE_FUZZ_CC
export FUZZ_CC
exec bash "${abs_srcdir:?run through make check}/tests/fuzz/run.sh" 10
