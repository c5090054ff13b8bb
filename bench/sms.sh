#!/usr/bin/env bash
# The SMS campaign reports (issue 12): share/pipelines/sms-campaign.sh
# against PostgreSQL on the same events, in the same run.  PostgreSQL's time
# is loading the NDJSON events into a jsonb table (COPY) plus running the
# SQL joins of tests/fixtures/sms/oracle.sql (messages and campaign days);
# the pipeline's is one run over the NDJSON file, both reports written.
# Each side runs BENCH_RUNS times; the median is reported.  After timing,
# the two sides' reports are checked equal (as in tests/80-sms.bats).
# A measurement, not a test: the 10x bar is printed as PASS/FAIL; the exit
# status is non-zero only when something broke.
#
# Standalone (not run by `make bench`): bench/sms.sh
#
# Environment:
#   BENCH_EVENTS   events to generate, about (default 10000000)
#   BENCH_RUNS     timed runs a side (default 3)
#   BENCH_ZONE     time zone of the campaign days (default America/New_York)
#   BENCH_SMS_RESULTS  report file (default bench/out/sms.md)
#   CDR_BIN        directory of the built tools (default build/bin)
set -euo pipefail
export LC_ALL=C TZ=UTC

cd "$(dirname "$0")/.."
ROOT=$PWD
export CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
EVENTS=${BENCH_EVENTS:-10000000}
RUNS=${BENCH_RUNS:-3}
ZONE=${BENCH_ZONE:-America/New_York}
DATA=$ROOT/bench/data
OUT=$ROOT/bench/out
RESULTS=${BENCH_SMS_RESULTS:-$OUT/sms.md}
PIPE=$ROOT/share/pipelines/sms-campaign.sh
SQL=$ROOT/tests/fixtures/sms/oracle.sql

die() {
	echo "bench/sms: $*" >&2
	exit 1
}
say() {
	echo "bench/sms: $*" >&2
}

case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $EVENTS in '' | *[!0-9]* | 0) die "BENCH_EVENTS must be a positive integer" ;; esac
mkdir -p "$DATA" "$OUT"
make -s "$CDR_BIN/cdr-gen" "$CDR_BIN/cdr-validate" "$CDR_BIN/cdr-rollup" >&2 ||
	die "build failed"

# A throwaway server, as the tests start it (Unix socket only, fsync off).
# shellcheck source=tests/helpers/pg.bash disable=SC1091
. "$ROOT/tests/helpers/pg.bash"
pg_bindir >/dev/null || die "no PostgreSQL server (apt-get install postgresql)"
pg_start || die "could not start PostgreSQL"
trap pg_stop EXIT
export PGOPTIONS="-c client_min_messages=warning"
psql_q() {
	psql -X -q -v ON_ERROR_STOP=1 -A -t "$@"
}

# ---- data: cdr-gen sms gives 2.2 events a message ----
MESSAGES=$((EVENTS * 10 / 22))
INPUT=$DATA/sms-$MESSAGES.ndjson
if [ ! -s "$INPUT" ] || [ "$CDR_BIN/cdr-gen" -nt "$INPUT" ]; then
	say "generating $MESSAGES messages"
	"$CDR_BIN/cdr-gen" sms -n "$MESSAGES" --seed 1 -f -o "$INPUT"
fi
LINES=$(wc -l <"$INPUT")
BYTES=$(stat -c %s "$INPUT")

# ---- the two sides ----
now() { date +%s.%N; }
# Peak RSS: the largest of the pipeline's processes.
run_pipeline() {
	rm -rf "$OUT/sms-pipe"
	/usr/bin/time -f %M -o "$OUT/sms-pipe.rss" "$PIPE" -z "$ZONE" -d "$OUT/sms-pipe" "$INPUT"
}
# Prints the seconds of the load and of the queries.
run_postgres() {
	local t0 t1 t2
	psql_q -c "drop table if exists events" -c "create unlogged table events (j jsonb)"
	t0=$(now)
	psql_q -c "\\copy events from '$INPUT' with (format csv, quote e'\\x01', delimiter e'\\x02')"
	t1=$(now)
	psql_q -c "set work_mem = '256MB'" -v events=events -v zone="$ZONE" -f "$SQL"
	t2=$(now)
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc)"
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

: >"$OUT/sms-pipe.times"
: >"$OUT/sms-pg.times"
for i in $(seq "$RUNS"); do
	say "run $i/$RUNS: pipeline"
	t0=$(now)
	run_pipeline
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$OUT/sms-pipe.times"
	say "run $i/$RUNS: postgresql"
	t0=$(now)
	lq=$(run_postgres)
	t1=$(now)
	echo "$(echo "$t1 - $t0" | bc) $lq" >>"$OUT/sms-pg.times"
done

# ---- same reports? ----
say "checking the reports are equal"
load_json() {
	psql_q -c "drop table if exists $1" -c "create unlogged table $1 (j jsonb)" \
	    -c "\\copy $1 from '$2' with (format csv, quote e'\\x01', delimiter e'\\x02')"
}
render() {
	psql_q -c "set timezone = 'UTC'" -c "
	    select md5(string_agg(concat_ws('|', message_id, campaign_id, recipient,
	        sent_time, status, status_time, error_code, clicks, first_click,
	        last_click, engaged), E'\\n' order by message_id))
	    from ${1}messages" -c "
	    select campaign_id, window_start, window_end, sent, delivered, failed,
	        round(delivery_rate, 9), clickers, clicks, round(ctr, 9),
	        round(median_ttfc::numeric, 6)
	    from ${1}campaign_days order by campaign_id, window_start"
}
load_json messages_json "$OUT/sms-pipe/messages.ndjson"
load_json campaign_days_json "$OUT/sms-pipe/campaign-days.ndjson"
psql_q -f "$ROOT/tests/fixtures/sms/pipeline.sql"
render oracle_ >"$OUT/sms-pg.norm"
render got_ >"$OUT/sms-pipe.norm"
cmp -s "$OUT/sms-pg.norm" "$OUT/sms-pipe.norm" ||
	die "reports differ: diff $OUT/sms-pg.norm $OUT/sms-pipe.norm"
MSG_ROWS=$(wc -l <"$OUT/sms-pipe/messages.ndjson")
DAY_ROWS=$(wc -l <"$OUT/sms-pipe/campaign-days.ndjson")

# ---- report ----
pipe=$(median <"$OUT/sms-pipe.times")
pg=$(cut -d' ' -f1 "$OUT/sms-pg.times" | median)
pg_load=$(cut -d' ' -f2 "$OUT/sms-pg.times" | median)
pg_sql=$(cut -d' ' -f3 "$OUT/sms-pg.times" | median)
ratio=$(echo "scale=1; $pg / $pipe" | bc)
bar=FAIL
[ "$(echo "$ratio >= 10" | bc)" -eq 1 ] && bar=PASS
{
	echo "# SMS campaign reports: pipeline vs PostgreSQL"
	echo
	echo "$(date -u +%F) · $(nproc) cores · PostgreSQL $(psql_q -c 'show server_version') · $RUNS runs a side"
	echo "input: cdr-gen sms -n $MESSAGES --seed 1: $LINES events, $BYTES bytes;"
	echo "output: $MSG_ROWS message rows, $DAY_ROWS campaign-day rows ($ZONE), equal on both sides"
	echo
	echo "| side | median s | events/s | runs (s) |"
	echo "|---|---|---|---|"
	printf '| sms-campaign.sh | %.2f | %.0f | %s |\n' "$pipe" "$(echo "$LINES / $pipe" | bc)" \
	    "$(tr '\n' ' ' <"$OUT/sms-pipe.times")"
	printf '| PostgreSQL COPY + SQL | %.2f (load %.2f + SQL %.2f) | %.0f | %s |\n' \
	    "$pg" "$pg_load" "$pg_sql" "$(echo "$LINES / $pg" | bc)" \
	    "$(cut -d' ' -f1 "$OUT/sms-pg.times" | tr '\n' ' ')"
	echo
	echo "pipeline peak RSS (largest stage): $(cat "$OUT/sms-pipe.rss" 2>/dev/null || echo '?') KiB"
	echo
	echo "PostgreSQL / pipeline: ${ratio}x (bar: at least 10x): $bar"
} >"$RESULTS"
cat "$RESULTS"
