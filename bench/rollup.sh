#!/usr/bin/env bash
# cdr-rollup against DuckDB (node, 1 thread) and Miller stats1 on the same
# NDJSON: 1M CDRs grouped by tenant, call type and hour with count, sum,
# min and max of duration_s.  Each command runs BENCH_RUNS times (median
# reported); the outputs are checked equal after normalising to sorted CSV
# "tenant_id,call_type,hour,count,sum,min,max".  Also: cdr-rollup's memory
# on 100k and 1M records (the groups are the same, so RSS should be) and
# its state bytes per group.  A measurement, not a test: the bars are
# printed as PASS/FAIL; the exit status is non-zero only when something
# broke (a peer missing, outputs differing).
#
# Environment:
#   BENCH_RUNS     timed runs per command (default 3)
#   BENCH_RECORDS  records to generate (default 1000000)
#   BENCH_INPUT    an existing cdr-gen calls NDJSON file to use instead
#   BENCH_ROLLUP_RESULTS  report file (default bench/out/rollup.md)
#   BENCH_SKIP_MILLER=1   leave Miller out (it takes ~30 s a run)
#   CDR_BIN        directory of the built tools (default build/bin)
set -euo pipefail
export LC_ALL=C TZ=UTC

cd "$(dirname "$0")/.."
ROOT=$PWD
CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
RUNS=${BENCH_RUNS:-3}
RECORDS=${BENCH_RECORDS:-1000000}
DATA=$ROOT/bench/data
OUT=$ROOT/bench/out
RESULTS=${BENCH_ROLLUP_RESULTS:-$OUT/rollup.md}
NODE_DIR=$ROOT/bench

die() {
	echo "bench/rollup: $*" >&2
	exit 1
}

case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $RECORDS in '' | *[!0-9]*) die "BENCH_RECORDS must be an integer" ;; esac
mkdir -p "$DATA" "$OUT"

# ---- peers ----
need=
[ -n "${BENCH_SKIP_MILLER:-}" ] || command -v mlr >/dev/null 2>&1 || need="$need miller"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
	[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 ||
		die "missing:$need (as root: apt-get install$need)"
	echo "bench/rollup: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2 || true
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need >&2 || die "could not install$need"
fi
if [ ! -d "$NODE_DIR/node_modules/@duckdb/node-api" ]; then
	echo "bench/rollup: installing @duckdb/node-api into bench/node_modules" >&2
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --no-save @duckdb/node-api >&2) ||
		die "could not install @duckdb/node-api"
fi

make -s "${CDR_BIN%/bin}/bin/cdr-rollup" "${CDR_BIN%/bin}/bin/cdr-gen" >&2 ||
	die "build failed"

# ---- data ----
if [ -n "${BENCH_INPUT:-}" ]; then
	INPUT=$BENCH_INPUT
else
	INPUT=$DATA/rollup-calls-$RECORDS.ndjson
	if [ ! -s "$INPUT" ] || [ "$CDR_BIN/cdr-gen" -nt "$INPUT" ]; then
		echo "bench/rollup: generating $RECORDS calls" >&2
		"$CDR_BIN/cdr-gen" calls -n "$RECORDS" --seed 1 --error-rate 0 -f -o "$INPUT"
	fi
fi
SMALL=$OUT/rollup-small.ndjson
head -n $((RECORDS / 10)) "$INPUT" >"$SMALL"
BYTES=$(stat -c %s "$INPUT")
LINES=$(wc -l <"$INPUT")

# ---- the three programs ----
DUCK_JS=$OUT/rollup-duckdb.mjs
cat >"$DUCK_JS" <<'EOF'
// DuckDB, one thread: the same group-by, written as sorted CSV.
import { DuckDBInstance } from '@duckdb/node-api';
const [input, output] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
await con.run(`COPY (
  SELECT tenant_id, call_type,
         strftime(date_trunc('hour', start_time::TIMESTAMPTZ), '%Y-%m-%dT%H') AS hour,
         count(*) AS count, sum(duration_s) AS sum,
         min(duration_s) AS min, max(duration_s) AS max
  FROM read_json('${input}', format = 'newline_delimited',
       columns = {tenant_id: 'VARCHAR', call_type: 'VARCHAR',
                  start_time: 'VARCHAR', duration_s: 'BIGINT'})
  GROUP BY ALL ORDER BY ALL) TO '${output}' (HEADER false)`);
EOF

run_miller() {
	mlr --ijsonl --ocsv --headerless-csv-output \
	    put '$hour = substr($start_time, 0, 12)' \
	    then stats1 -a count,sum,min,max -f duration_s -g tenant_id,call_type,hour "$1" >"$2"
}
run_rollup() {
	"$CDR_BIN/cdr-rollup" -q -O csv --every 1h --by tenant_id,call_type \
	    --agg 'count,sum(duration_s),min(duration_s),max(duration_s)' "$1" >"$2"
}
run_duckdb() {
	NODE_PATH=$NODE_DIR/node_modules node "$DUCK_JS" "$1" "$2"
}

export CDR_BIN NODE_DIR DUCK_JS
export -f run_rollup run_duckdb run_miller

# Normalised: tenant,type,hour,count,sum,min,max sorted.
norm_rollup() { tail -n +2 "$1" | awk -F, -v OFS=, '{ print $4, $5, substr($1, 1, 13), $6, $7, $8, $9 }' | sort; }
norm_duckdb() { sort "$1"; }
norm_miller() { sort "$1"; }

# time_runs NAME: runs run_NAME RUNS times on INPUT; sets MEDIAN, RSS.
time_runs() {
	local name=$1 i t rss times=() rsss=()
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M' -o "$OUT/rollup-time" \
		    bash -c 'run_$0 "$1" "$2"' "$name" "$INPUT" "$OUT/rollup-$name.out" ||
			die "$name failed"
		read -r t rss <"$OUT/rollup-time"
		times+=("$t")
		rsss+=("$rss")
	done
	MEDIAN=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	RSS=$(printf '%s\n' "${rsss[@]}" | sort -g | tail -n 1)
	echo "bench/rollup: $name: ${times[*]} s (median $MEDIAN s, peak RSS $RSS KiB)" >&2
}

cat "$INPUT" >/dev/null	# warm the page cache
time_runs rollup
T_ROLLUP=$MEDIAN RSS_ROLLUP=$RSS
time_runs duckdb
T_DUCK=$MEDIAN RSS_DUCK=$RSS
if [ -z "${BENCH_SKIP_MILLER:-}" ]; then
	time_runs miller
	T_MLR=$MEDIAN RSS_MLR=$RSS
fi

# ---- same results ----
norm_rollup "$OUT/rollup-rollup.out" >"$OUT/rollup-rollup.norm"
norm_duckdb "$OUT/rollup-duckdb.out" >"$OUT/rollup-duckdb.norm"
cmp -s "$OUT/rollup-rollup.norm" "$OUT/rollup-duckdb.norm" ||
	die "cdr-rollup and DuckDB differ: diff $OUT/rollup-rollup.norm $OUT/rollup-duckdb.norm"
if [ -z "${BENCH_SKIP_MILLER:-}" ]; then
	norm_miller "$OUT/rollup-miller.out" >"$OUT/rollup-miller.norm"
	cmp -s "$OUT/rollup-rollup.norm" "$OUT/rollup-miller.norm" ||
		die "cdr-rollup and Miller differ: diff $OUT/rollup-rollup.norm $OUT/rollup-miller.norm"
fi
NGROUPS=$(wc -l <"$OUT/rollup-rollup.norm")
[ "$(awk -F, '{ n += $4 } END { print n }' "$OUT/rollup-rollup.norm")" -eq "$LINES" ] ||
	die "counts do not add up to the $LINES records"

# ---- memory: groups, not input ----
"$CDR_BIN/cdr-rollup" -q --every 1h --by tenant_id,call_type \
    --agg 'count,sum(duration_s),min(duration_s),max(duration_s)' \
    --stats "$OUT/rollup-stats.json" "$INPUT" >/dev/null
PER_GROUP=$(jq '.state_bytes / .groups | floor' "$OUT/rollup-stats.json")
/usr/bin/time -f '%M' -o "$OUT/rollup-time" "$CDR_BIN/cdr-rollup" -q --every 1h \
    --by tenant_id,call_type --agg 'count,sum(duration_s),min(duration_s),max(duration_s)' \
    "$SMALL" >/dev/null
RSS_SMALL=$(cat "$OUT/rollup-time")
NGROUPS_SMALL=$("$CDR_BIN/cdr-rollup" -q --every 1h --by tenant_id,call_type "$SMALL" | wc -l)
# A million groups: one per call.
"$CDR_BIN/cdr-rollup" -q --by call_id --agg 'count,sum(duration_s),min(duration_s),max(duration_s)' \
    --stats "$OUT/rollup-stats-1m.json" "$INPUT" >/dev/null
PER_GROUP_1M=$(jq '.state_bytes / .groups | floor' "$OUT/rollup-stats-1m.json")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "PASS" : "FAIL") }'; }
R_DUCK=$(ratio "$T_DUCK" "$T_ROLLUP")
{
	echo "# cdr-rollup benchmark"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	    "$LINES records, $((BYTES / 1000000)) MB NDJSON, $NGROUPS groups (tenant, call type, hour)," \
	    "median of $RUNS runs, whole processes:"
	echo
	echo "| program | seconds | MB/s | peak RSS MiB |"
	echo "|---|---|---|---|"
	echo "| cdr-rollup | $T_ROLLUP | $(ratio "$((BYTES / 1000000))" "$T_ROLLUP") | $((RSS_ROLLUP / 1024)) |"
	echo "| DuckDB $(cd "$NODE_DIR" && node -e "import('@duckdb/node-api').then(m => console.log(m.version()))" 2>/dev/null || true) (node, 1 thread) | $T_DUCK | $(ratio "$((BYTES / 1000000))" "$T_DUCK") | $((RSS_DUCK / 1024)) |"
	if [ -z "${BENCH_SKIP_MILLER:-}" ]; then
		echo "| Miller $(mlr --version | cut -d' ' -f2) stats1 | $T_MLR | $(ratio "$((BYTES / 1000000))" "$T_MLR") | $((RSS_MLR / 1024)) |"
	fi
	echo
	echo "- $(verdict "$(awk -v a="$T_ROLLUP" -v b="$T_DUCK" 'BEGIN { print (a < b) }')"): faster than DuckDB (1 thread): ${R_DUCK}x"
	if [ -z "${BENCH_SKIP_MILLER:-}" ]; then
		R_MLR=$(ratio "$T_MLR" "$T_ROLLUP")
		echo "- $(verdict "$(awk -v a="$T_MLR" -v b="$T_ROLLUP" 'BEGIN { print (a >= 10 * b) }')"): at least 10x faster than Miller stats1: ${R_MLR}x"
	fi
	echo "- memory follows groups, not input: peak RSS $((RSS_SMALL / 1024)) MiB on $((LINES / 10)) records" \
	    "($NGROUPS_SMALL groups), $((RSS_ROLLUP / 1024)) MiB on $LINES ($NGROUPS groups);" \
	    "state $PER_GROUP bytes per group; $PER_GROUP_1M bytes per group with one group per call (1M groups)"
	echo "- outputs equal after normalising (sorted CSV tenant, type, hour, count, sum, min, max)"
} | tee "$RESULTS"
