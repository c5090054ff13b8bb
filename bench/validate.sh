#!/usr/bin/env bash
# cdr-validate (schema "call", full checks) against jq doing the equivalent
# checks with select(...), on the same cdr-gen calls.  Both must keep
# the same records (compared by count and by the kept call_ids).  Median of
# BENCH_RUNS runs.  A measurement, not a test: the bar is printed as
# PASS/FAIL; the exit status is non-zero only when something broke.
#
# jq needs about 300 us a record for these checks, so the default input is
# 200,000 records (about 5 minutes of jq at 3 runs).
#
# Environment: BENCH_RUNS (3), BENCH_RECORDS (200000), CDR_BIN,
# BENCH_VALIDATE_RESULTS (report, default bench/out/validate.md).
set -euo pipefail
export LC_ALL=C TZ=UTC

cd "$(dirname "$0")/.."
ROOT=$PWD
CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
RUNS=${BENCH_RUNS:-3}
RECORDS=${BENCH_RECORDS:-200000}
OUT=$ROOT/bench/out
DATA=$ROOT/bench/data
RESULTS=${BENCH_VALIDATE_RESULTS:-$OUT/validate.md}
export CDR_SHARE=$ROOT/share
mkdir -p "$OUT" "$DATA"

die() { echo "bench/validate: $*" >&2; exit 1; }
command -v jq >/dev/null || die "jq is missing"

input=$DATA/validate-calls-$RECORDS.ndjson
if [ ! -s "$input" ] || [ "$CDR_BIN/cdr-gen" -nt "$input" ]; then
	"$CDR_BIN/cdr-gen" calls -n "$RECORDS" --seed 1 --error-rate 0.01 -f -o "$input"
fi
bytes=$(stat -c %s "$input")

# The checks of share/schemas/call.json, written as a jq filter.
read -r -d '' JQ <<'JQF' || true
def ts: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$");
def secs: sub("\\.[0-9]+"; "") | sub("Z$"; "Z") | fromdateiso8601;
def ms: (capture("\\.(?<f>[0-9]+)") // {f: "0"} | ("0." + .f | tonumber));
def t: secs + ms;
def int(lo; hi): type == "number" and . == floor and . >= lo and . <= hi;
def e164: type == "string" and test("^\\+[1-9][0-9]{1,14}$");
fromjson? // empty | select(
  (.call_id | type == "string" and test("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"))
  and (.tenant_id | type == "string" and length >= 1 and length <= 64)
  and (.call_type | IN("inbound", "outbound", "internal"))
  and (.start_time | ts) and (.end_time | ts)
  and (has("answer_time") and (.answer_time == null or (.answer_time | ts)))
  and (.duration_s | int(0; 86400)) and (.billsec | int(0; 86400))
  and has("agent_id") and (.agent_id == null or (.agent_id | type == "string"))
  and has("queue_id") and (.queue_id == null or (.queue_id | type == "string"))
  and (.caller | e164) and (.callee | e164)
  and (.status | IN("answered", "no_answer", "busy", "failed", "abandoned"))
  and has("disposition") and (.disposition == null or (.disposition | type == "string"))
  and (.hangup_cause | int(1; 127))
  and has("recording_key") and (.recording_key == null or (.recording_key | type == "string"))
  and (.meta | type == "object")
  and (.meta.region == null or (.meta.region | type == "string"))
  and (.meta.codec == null or (.meta.codec | IN("PCMU", "PCMA", "G722", "G729", "OPUS")))
  and (.meta.mos == null or (.meta.mos | type == "number" and . >= 1 and . <= 5))
  and (.meta.tags | type == "array")
  and ((.end_time | t) >= (.start_time | t))
  and (.answer_time == null or (((.answer_time | t) >= (.start_time | t)) and ((.end_time | t) >= (.answer_time | t))))
  and ((((.end_time | t) - (.start_time | t)) - .duration_s) | fabs <= 1)
  and (.billsec <= .duration_s)
)
JQF

time_it() {	# time_it NAME OUTFILE CMD...: prints the median seconds
	local name=$1 out=$2 i s t times=()
	shift 2
	for i in $(seq "$RUNS"); do
		s=$(date +%s.%N)
		"$@" > "$out" 2>/dev/null || true
		t=$(echo "$(date +%s.%N) - $s" | bc)
		times+=("$t")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
	echo "bench/validate: $name: ${times[*]}" >&2
}

v=$(time_it cdr-validate "$OUT/validate.cdr.ndjson" "$CDR_BIN/cdr-validate" -q -s call --max-error-rate 1 "$input")
# -R with fromjson?: jq stops at the first line that is not JSON otherwise.
j=$(time_it "jq select" "$OUT/validate.jq.ndjson" jq -cR "$JQ" "$input")

# Same work: jq cannot parse the lines that are not JSON; compare the ids kept.
jq -r .call_id "$OUT/validate.cdr.ndjson" | sort > "$OUT/validate.cdr.ids"
jq -r .call_id "$OUT/validate.jq.ndjson" | sort > "$OUT/validate.jq.ids"
kept_cdr=$(wc -l < "$OUT/validate.cdr.ids")
kept_jq=$(wc -l < "$OUT/validate.jq.ids")
same=$(comm -3 "$OUT/validate.cdr.ids" "$OUT/validate.jq.ids" | wc -l)
ratio=$(echo "scale=1; $j / $v" | bc)
bar=FAIL
[ "$(echo "$ratio >= 10" | bc)" -eq 1 ] && bar=PASS
{
	echo "## cdr-validate: full schema checks vs jq select"
	echo
	echo "Input: $RECORDS cdr-gen calls with 1% malformed ($bytes bytes); median of $RUNS runs."
	echo
	echo "| command | median s | MB/s | kept records |"
	echo "|---|---:|---:|---:|"
	printf '| cdr-validate -s call | %s | %.0f | %s |\n' "$v" "$(echo "$bytes / $v / 1000000" | bc -l)" "$kept_cdr"
	printf '| %s | %s | %.0f | %s |\n' "jq -cR 'fromjson? // empty \\| select(checks)'" "$j" "$(echo "$bytes / $j / 1000000" | bc -l)" "$kept_jq"
	echo
	echo "Kept call_ids differing between the two: $same (jq 1.6 reads invalid UTF-8 and NUL bytes that the strict reader rejects)."
	echo
	echo "- $bar cdr-validate vs jq: ${ratio}x (bar: at least 10x)"
	echo
	echo "The jq filter is in bench/validate.sh."
} > "$RESULTS"
cat "$RESULTS"
