#!/usr/bin/env bash
# Memcheck over a representative pipeline on small data: every tool runs
# alone under `valgrind --leak-check=full --error-exitcode=99`, the stages
# joined by files.  cdr-gen (calls, agent-states, orgs, wav) -> cdr-validate
# (schema, dedupe, --where, dead letters; then --replay) -> cdr-partition (a
# path template; hash shards gzipped by 2 threads) -> cdr-tocsv (--split 2,
# gzip, manifest, 2 jobs) -> cdr-rollup (1h,1d with percentiles and
# distinct counts; the streaming 5 s windows with watermark and dimension
# join of share/pipelines/realtime.sh) ; cdr-resample of 2 WAVs ; cdr-tier
# scan, plan, apply and cost on a generated tree.
#
# Writes bench/out/valgrind/STEP.log (valgrind's report) and
# bench/out/valgrind.md (a table: exit status, errors, bytes lost), and
# exits 1 when any step has a memcheck error or a definite leak, or exits
# with a status it should not.  Suppressions: bench/valgrind.supp.
#
# Environment:
#   CDR_BIN     the tools to check (default: built with -O1 -g into VG_BUILD)
#   VG_BUILD    build directory (default ${TMPDIR:-/tmp}/cdrpipe-vgbuild)
#   VG_RECORDS  records of the calls and agent-state inputs (default 2000)
#   VG_OUT      logs and report (default bench/out/valgrind)
set -uo pipefail
export LC_ALL=C TZ=UTC

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
export CDR_SHARE=${CDR_SHARE:-$ROOT/share}
RECORDS=${VG_RECORDS:-2000}
OUT=${VG_OUT:-$ROOT/bench/out/valgrind}
REPORT=$OUT.md
SUPP=$ROOT/bench/valgrind.supp

die() {
	echo "bench/valgrind: $*" >&2
	exit 2
}

command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
case $RECORDS in '' | *[!0-9]* | 0) die "VG_RECORDS must be a positive integer" ;; esac
if [ -z "${CDR_BIN:-}" ]; then
	VG_BUILD=${VG_BUILD:-${TMPDIR:-/tmp}/cdrpipe-vgbuild}
	make -s B="$VG_BUILD" CFLAGS='-O1 -g' >&2 || die "build failed"
	CDR_BIN=$VG_BUILD/bin
fi
for t in gen validate partition tocsv rollup resample tier; do
	[ -x "$CDR_BIN/cdr-$t" ] || die "$CDR_BIN/cdr-$t not found"
done
rm -rf "$OUT"
mkdir -p "$OUT" || die "cannot create $OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cdr-valgrind.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || die "cannot enter $WORK"

VG=(valgrind --tool=memcheck --leak-check=full --error-exitcode=99
	--suppressions="$SUPP" --num-callers=30)
bad=0
{
	echo "Memcheck over every tool, $(date -u '+%Y-%m-%d %H:%M UTC'); $(valgrind --version)."
	echo
	echo "| step | exit | errors | definitely lost, bytes | indirectly lost | possibly lost | still reachable | suppressed errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$REPORT"
: > "$OUT/commands.txt"

# leak KIND LOG: bytes of that kind, 0 when valgrind said all was freed.
leak() {
	local n
	n=$(sed -n "s/.*$1: \([0-9,]*\) bytes.*/\1/p" "$2" | tail -n 1 | tr -d ,)
	echo "${n:-0}"
}

# The words of a command as a shell would read them back.
quote() {
	local w out=
	for w in "$@"; do
		case $w in
		'' | *[!A-Za-z0-9_./:=,@%+-]*) w="'${w//\'/\'\\\'\'}'" ;;
		esac
		out="$out${out:+ }$w"
	done
	printf '%s\n' "$out"
}

# step NAME OKSTATUS COMMAND...: run COMMAND (a cdrpipe tool) under memcheck;
# OKSTATUS is the exit status the tool should have (e.g. 1 for records it
# rejects by design).
step() {
	local name=$1 ok=$2 rc log errors def ind pos reach supp mark=
	shift 2
	log=$OUT/$name.log
	quote "${@/#$CDR_BIN\//}" >> "$OUT/commands.txt"
	"${VG[@]}" --log-file="$log" "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr"
	rc=$?
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -n 1 | tr -d ,)
	supp=$(sed -n 's/.*ERROR SUMMARY: .*suppressed: \([0-9,]*\) from.*/\1/p' "$log" | tail -n 1 | tr -d ,)
	def=$(leak "definitely lost" "$log")
	ind=$(leak "indirectly lost" "$log")
	pos=$(leak "possibly lost" "$log")
	reach=$(leak "still reachable" "$log")
	if [ "$rc" -ne "$ok" ] || [ "${errors:-1}" -ne 0 ] || [ "$def" -ne 0 ] || [ "$ind" -ne 0 ]; then
		mark=" FAIL"
		bad=1
	fi
	echo "| $name | $rc | ${errors:-?} | $def | $ind | $pos | $reach | ${supp:-0} |$mark" >> "$REPORT"
	echo "bench/valgrind: $name: exit $rc, errors ${errors:-?}, definitely lost $def bytes$mark" >&2
}

G=$CDR_BIN/cdr-gen
step gen-calls 0 "$G" calls -n "$RECORDS" --seed 1 --error-rate 1% \
	--duplicate-rate 1% --truth truth.ndjson -o calls.ndjson
step gen-agent-states 0 "$G" agent-states -n "$RECORDS" --seed 2 -o agents.ndjson
step gen-calls-csv 0 "$G" calls -n "$RECORDS" --seed 5 -O csv --error-rate 1% -o calls.csv
step gen-orgs 0 "$G" orgs -o orgs.ndjson
step gen-wav 0 "$G" wav -n 2 --duration 3s --seed 3 -d wav
mkdir -p tree
step gen-wav-tree 0 "$G" wav -n 6 --min-duration 1s --max-duration 4s --seed 4 -d tree/hot

step validate 0 "$CDR_BIN/cdr-validate" -s call --dedupe call_id \
	--dead-letter dead.ndjson --duplicates dups.ndjson --max-error-rate 5% \
	--where '.duration_s >= 0' --stats validate.json -o valid.ndjson calls.ndjson
step validate-state-1 0 "$CDR_BIN/cdr-validate" -q -s call --dedupe call_id \
	--horizon 7d --state dedupe.state --max-error-rate 5% --normalize \
	-o state-1.ndjson calls.ndjson
step validate-state-2 0 "$CDR_BIN/cdr-validate" -q -s call --dedupe call_id \
	--horizon 7d --state dedupe.state --max-error-rate 5% \
	--rule '.billsec <= .duration_s' -o state-2.ndjson calls.ndjson
step validate-replay 0 "$CDR_BIN/cdr-validate" --replay -o replay.ndjson dead.ndjson
step validate-csv 0 "$CDR_BIN/cdr-validate" -q -i csv --dedupe call_id \
	--max-error-rate 5% --dead-letter dead-csv.ndjson -o valid-csv.ndjson calls.csv

step partition 0 "$CDR_BIN/cdr-partition" \
	--by '{tenant_id}/{start_time:%Y/%m/%d}/calls.ndjson' -d parts \
	--dead-letter partition-dead.ndjson -o partition.manifest valid.ndjson
step partition-hash-gzip 0 "$CDR_BIN/cdr-partition" --by-hash tenant_id -n 4 \
	-z --threads 2 --no-fsync -d shards -o shards.manifest valid.ndjson

step partition-bad 0 "$CDR_BIN/cdr-partition" --by-hash call_id -n 3 \
	--max-errors 1000 --dead-letter partition-raw-dead.ndjson -d rawshards \
	-o rawshards.manifest calls.ndjson
step partition-csv 0 "$CDR_BIN/cdr-partition" --by '{call_type}.csv' -O csv \
	--max-records 300 -d csvparts -o csvparts.manifest valid.ndjson

mkdir -p csv
step tocsv 0 "$CDR_BIN/cdr-tocsv" --split 2 -j 2 -o csv/calls \
	--manifest csv/manifest.json --url-prefix s3://bucket/calls/ \
	--stats tocsv.json valid.ndjson
# The raw input, malformed records included: the error paths.
step tocsv-bad 0 "$CDR_BIN/cdr-tocsv" -q --max-error-rate 5% \
	--dead-letter tocsv-dead.ndjson -o raw.csv.gz calls.ndjson
step tocsv-jq 0 "$CDR_BIN/cdr-tocsv" -d clickhouse \
	-c 'call_id,tenant_id,start_time:timestamptz,duration_s:integer,codec=meta.codec' \
	--jq 'tags:json=.meta.tags' -o jq.csv valid.ndjson

step rollup 0 "$CDR_BIN/cdr-rollup" --every 1h,1d --by tenant_id \
	--agg 'count,sum(duration_s),avg(duration_s),p95(duration_s),distinct(caller),asr,acd' \
	--stats rollup.json -o rollup.ndjson valid.ndjson
step rollup-bad 0 "$CDR_BIN/cdr-rollup" -q --every 15m --by tenant_id,call_type \
	--agg 'count,median(duration_s),max(billsec)' --where '.billsec >= 0' \
	--max-error-rate 5% \
	--dead-letter rollup-dead.ndjson -O csv -o rollup-raw.csv calls.ndjson
step rollup-csv 0 "$CDR_BIN/cdr-rollup" -q -i csv --every 1w --by tenant_id \
	--agg 'count,long=count_if(.duration_s > 60),p99(duration_s)' --max-error-rate 5% \
	-o rollup-csv.ndjson calls.csv
step rollup-partial 0 "$CDR_BIN/cdr-rollup" --every 1d --by tenant_id \
	--agg 'count,p90(duration_s),distinct(caller)' --partial -o partial.ndjson valid.ndjson
step rollup-merge 0 "$CDR_BIN/cdr-rollup" --merge -o merged.ndjson partial.ndjson
# Late agent-state events go to the dead letters; they are not errors.
step rollup-stream 0 "$CDR_BIN/cdr-rollup" --every 5s --watermark 4s \
	--idle-flush 5s --time EventTime --by OrgID --dim orgs.ndjson --on OrgID \
	--dim-version Version --dim-fields OrgName,Region \
	--agg 'events=count,agents(AgentId),max_handle(HandleTime),max_wait(WaitingTime)' \
	--dead-letter late.ndjson -o windows.ndjson agents.ndjson

# cdr-gen wav lists the files it wrote as NDJSON with a "path" field.
step resample 0 "$CDR_BIN/cdr-resample" --min-age 0 -j 2 -d resampled \
	--base wav --from-list "$OUT/gen-wav.stdout"
mapfile -t wavs < <(find wav -name '*.wav' -type f | sort)
# A truncated recording and a file that is no WAV: failures, exit status 1.
mkdir -p broken
head -c 20000 "${wavs[0]}" > broken/truncated.wav
printf 'RIFF\0\0\0\0WAVEjunk' > broken/junk.wav
step resample-bad 1 "$CDR_BIN/cdr-resample" --min-age 0 -j 2 -d resampled-bad \
	--dead-letter resample-dead.ndjson broken/truncated.wav broken/junk.wav "${wavs[1]}"
step resample-truncated 0 "$CDR_BIN/cdr-resample" --min-age 0 --allow-truncated \
	-o truncated-alaw.wav broken/truncated.wav
step resample-rate 0 "$CDR_BIN/cdr-resample" --min-age 0 -j 1 -e ulaw -c keep \
	-r 16000 -d resampled16k "${wavs[@]}"

cat > policy.json <<'EOF'
{
  "tiers": { "hot": { "dir": "tree/hot" }, "cold": { "dir": "tree/cold" } },
  "rules": { "resample_after_days": 30, "move_after_days": 90,
             "move_to": "cold", "archive_after_days": 365,
             "archive_dir": "tree/archive", "archive_compression": "zstd",
             "expire_after_days": 2190 }
}
EOF
step tier-scan 0 "$CDR_BIN/cdr-tier" scan -o inventory.ndjson tree/hot
# Days on which the recordings are old enough to be moved to cold, then
# to be packed into archives.
day0=$(sed -n 's/.*"call_date":"\([0-9-]*\)".*/\1/p' inventory.ndjson | sort | head -n 1)
step tier-plan 0 "$CDR_BIN/cdr-tier" plan -p policy.json \
	--now "$(date -u -d "$day0 + 100 days" +%F)" -o plan.ndjson inventory.ndjson
step tier-apply 0 "$CDR_BIN/cdr-tier" apply -q -j journal plan.ndjson
step tier-scan-cold 0 "$CDR_BIN/cdr-tier" scan -o inventory-cold.ndjson tree/cold
step tier-plan-archive 0 "$CDR_BIN/cdr-tier" plan -p policy.json \
	--now "$(date -u -d "$day0 + 400 days" +%F)" -o plan-archive.ndjson inventory-cold.ndjson
step tier-apply-archive 0 "$CDR_BIN/cdr-tier" apply -q -j journal-archive plan-archive.ndjson
archive=$(find tree/archive -type f | sort | head -n 1)
step tier-restore 0 "$CDR_BIN/cdr-tier" restore -a "$archive" -C restored
step tier-cost 0 "$CDR_BIN/cdr-tier" cost --format csv

sed -i "s|$WORK/||g; s|$ROOT/||g" "$OUT/commands.txt"
cat "$REPORT"
exit "$bad"
