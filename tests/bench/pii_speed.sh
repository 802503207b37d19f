#!/bin/sh
# pii_speed.sh: the PII engine's analysis speed on one core, beside
# `grep -E -c` with equivalent patterns (e-mail, phone, card, SSN, IPv4)
# over the same file in the same run. The engine also validates (Luhn,
# SSN ranges, octets, IBAN mod-97, Bitcoin checksums...), scores with
# context and finds eleven more entity types; grep only matches.
#
#   tests/bench/pii_speed.sh [MB] [CPU] [dense|mixed]
#
# Run from the build tree. Defaults: a 100 MB corpus of the texts of
# tests/bench/pii_corpus.py (copies of 200000 lines), CPU 0 (taskset),
# "dense": every line a sentence with personal data or a look-alike (one
# finding per 60 bytes); "mixed": each such sentence among ordinary prose
# (one finding per 200 bytes or so). grep runs under LC_ALL=C (bytes;
# what the engine scans) and, for reference, under C.UTF-8.
set -eu
mb=${1:-100}
cpu=${2:-0}
kind=${3:-dense}
case $kind in
dense) gen= ;;
mixed) gen=--mixed ;;
*) echo "pii_speed.sh: dense or mixed, not $kind" >&2; exit 2 ;;
esac
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

make -s tests/bench/pii_bench >/dev/null
python3 "$srcdir/tests/bench/pii_corpus.py" 200000 7 --text $gen >"$tmp/part.txt"
: >"$tmp/corpus.txt"
while [ "$(wc -c <"$tmp/corpus.txt")" -lt $((mb * 1000000)) ]; do
    cat "$tmp/part.txt" >>"$tmp/corpus.txt"
done
head -c $((mb * 1000000)) "$tmp/corpus.txt" >"$tmp/c.txt"
mv "$tmp/c.txt" "$tmp/corpus.txt"
bytes=$(wc -c <"$tmp/corpus.txt")
echo "corpus: $bytes bytes ($kind), CPU $cpu"

email='[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}'
phone='\+?[0-9]{0,3}[ -]?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}'
card='[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{1,4}'
ssn='[0-9]{3}-[0-9]{2}-[0-9]{4}'
ip='([0-9]{1,3}\.){3}[0-9]{1,3}'
pattern="$email|$phone|$card|$ssn|$ip"

# MB/s per second of CPU time (user + system), so that other work on a
# shared core does not count; wall-clock figures are printed beside.
cat "$tmp/corpus.txt" >/dev/null # warm the page cache
engine=$(taskset -c "$cpu" ./tests/bench/pii_bench speed "$tmp/corpus.txt")
echo "$engine"
engine_mbps=$(echo "$engine" | sed -n 's/.*: \([0-9.]*\) MB\/s of CPU.*/\1/p')

for loc in C C.UTF-8; do
    LC_ALL=$loc /usr/bin/time -f "%e %U %S" -o "$tmp/time" \
        taskset -c "$cpu" grep -E -c "$pattern" "$tmp/corpus.txt" >"$tmp/n"
    read -r wall user sys <"$tmp/time"
    g=$(echo "$bytes $user $sys" | awk '{printf "%.1f", $1 / 1e6 / ($2 + $3)}')
    w=$(echo "$bytes $wall" | awk '{printf "%.1f", $1 / 1e6 / $2}')
    echo "grep -E -c (LC_ALL=$loc): $(cat "$tmp/n") lines, $g MB/s of CPU time ($w MB/s wall)"
    [ "$loc" = C ] && grep_c=$g
done
echo "$engine_mbps $grep_c" |
    awk '{printf "engine / grep (LC_ALL=C), CPU time: %.0f %%\n", 100 * $1 / $2}'
