#!/bin/sh
# cdr-tier benchmark (standalone):
#  1. plan over a synthetic inventory of N recordings (default 1000000);
#  2. apply (a move between tiers: copy, fsync, verify, remove) of M
#     generated one-minute recordings against `cp -r` + sync of the same
#     files in the same run.
# usage: bench/tier.sh [N] [M]    (run from the top of the repository)
set -eu
N=${1:-1000000}
M=${2:-200}
BIN=${CDR_BIN:-$PWD/build/bin}
W=$(mktemp -d "${TMPDIR:-/tmp}/tier-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
export LC_ALL=C

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | sed 's/^\./0./'; }

cat > "$W/policy.json" <<JSON
{ "tiers": { "hot": { "dir": "$W/hot" }, "cold": { "dir": "$W/cold" } },
  "rules": { "resample_after_days": 30, "move_after_days": 90,
             "move_to": "cold", "expire_after_days": 2190 } }
JSON

awk -v n="$N" 'BEGIN {
	for (i = 0; i < n; i++) {
		d = i % 2000; y = 2020 + int(d / 365); doy = d % 365;
		m = 1 + int(doy / 31); if (m > 12) m = 12; dd = 1 + doy % 28;
		date = sprintf("%04d-%02d-%02d", y, m, dd);
		rel = sprintf("connect/i%d/CallRecordings/%04d/%02d/%02d/c%08d_UTC.wav", i % 50, y, m, dd, i);
		printf "{\"path\":\"hot/%s\",\"root\":\"hot\",\"rel\":\"%s\",\"tier\":\"hot\",\"size\":160044,\"mtime\":\"%sT00:00:00Z\",\"call_date\":\"%s\",\"format\":\"pcm16\"}\n", rel, rel, date, date
	}
}' > "$W/inv.ndjson"
t0=$(now)
"$BIN/cdr-tier" plan -p "$W/policy.json" --now 2026-01-01 "$W/inv.ndjson" > "$W/plan.ndjson"
t1=$(now)
echo "plan: $N records in $(secs "$t0" "$t1") s ($(wc -l < "$W/plan.ndjson") actions)"

"$BIN/cdr-gen" wav -n "$M" --duration 60s -d "$W/hot" --seed 1 > /dev/null
bytes=$(du -sb "$W/hot" | cut -f1)
sync
t0=$(now)
cp -r "$W/hot" "$W/cpcopy"
sync
t1=$(now)
echo "cp -r + sync: $bytes bytes in $(secs "$t0" "$t1") s"
"$BIN/cdr-tier" scan "$W/hot" > "$W/inv2.ndjson"
"$BIN/cdr-tier" plan -p "$W/policy.json" --now 2030-01-01 "$W/inv2.ndjson" \
    > "$W/plan2.ndjson"
t0=$(now)
"$BIN/cdr-tier" apply -q -j "$W/journal" "$W/plan2.ndjson" > /dev/null
t1=$(now)
echo "cdr-tier apply (copy, fsync, verify, remove): $bytes bytes in $(secs "$t0" "$t1") s"
