#!/usr/bin/env bash
# cdr-rollup against the tools people would use instead, on the same
# NDJSON: 1M CDRs grouped by tenant, call type and hour with count, sum,
# min and max of duration_s.  Peers: DuckDB (node, read_json with 1 and
# 2 threads), Miller stats1, jq reduce, and sqlite3 GROUP BY timed twice:
# the query alone on a database already loaded (import excluded) and the
# load of the NDJSON plus the query in one process (import included).
# Each command runs BENCH_RUNS times (median reported); every output is
# checked equal after normalising to sorted CSV
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
#   BENCH_SKIP     space-separated peers to leave out: miller jq sqlite duckdb
#   BENCH_SKIP_MILLER=1   the same as BENCH_SKIP=miller (it takes ~40 s a run)
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
SKIP=" ${BENCH_SKIP:-} "
[ -z "${BENCH_SKIP_MILLER:-}" ] || SKIP="$SKIP miller "
skipped() { case $SKIP in *" $1 "*) return 0 ;; esac; return 1; }

die() {
	echo "bench/rollup: $*" >&2
	exit 1
}

case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $RECORDS in '' | *[!0-9]*) die "BENCH_RECORDS must be an integer" ;; esac
mkdir -p "$DATA" "$OUT"

# ---- peers ----
need=
skipped miller || command -v mlr >/dev/null 2>&1 || need="$need miller"
skipped jq || command -v jq >/dev/null 2>&1 || need="$need jq"
skipped sqlite || command -v sqlite3 >/dev/null 2>&1 || need="$need sqlite3"
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
	GEN_CMD="(given file $BENCH_INPUT)"
else
	INPUT=$DATA/rollup-calls-$RECORDS.ndjson
	GEN_CMD="cdr-gen calls -n $RECORDS --seed 1 --error-rate 0"
	if [ ! -s "$INPUT" ] || [ "$CDR_BIN/cdr-gen" -nt "$INPUT" ]; then
		echo "bench/rollup: generating $RECORDS calls" >&2
		"$CDR_BIN/cdr-gen" calls -n "$RECORDS" --seed 1 --error-rate 0 -f -o "$INPUT"
	fi
fi
SMALL=$OUT/rollup-small.ndjson
head -n $((RECORDS / 10)) "$INPUT" >"$SMALL"
BYTES=$(stat -c %s "$INPUT")
LINES=$(wc -l <"$INPUT")

# ---- the programs ----
DUCK_JS=$OUT/rollup-duckdb.mjs
cat >"$DUCK_JS" <<'EOF'
// DuckDB with THREADS threads: the same group-by, written as sorted CSV.
import { DuckDBInstance } from '@duckdb/node-api';
// READER "auto": read_json_auto, the schema detected; else read_json with
// the four columns given.
const [input, output, threads, reader] = process.argv.slice(2);
const from = reader === 'auto' ? `read_json_auto('${input}')`
  : `read_json('${input}', format = 'newline_delimited',
       columns = {tenant_id: 'VARCHAR', call_type: 'VARCHAR',
                  start_time: 'VARCHAR', duration_s: 'BIGINT'})`;
const db = await DuckDBInstance.create(':memory:', { threads: threads });
const con = await db.connect();
await con.run(`SET threads = ${Number(threads)}`);
await con.run("SET TimeZone = 'UTC'");
await con.run(`COPY (
  SELECT tenant_id, call_type,
         strftime(date_trunc('hour', start_time::TIMESTAMPTZ), '%Y-%m-%dT%H') AS hour,
         count(*) AS count, sum(duration_s) AS sum,
         min(duration_s) AS min, max(duration_s) AS max
  FROM ${from}
  GROUP BY ALL ORDER BY ALL) TO '${output}' (HEADER false)`);
EOF

# jq: one reduce over all records; the state is an object keyed by
# tenant, type and hour (start_time is UTC "YYYY-MM-DDTHH:..." here).
JQ_PROG=$OUT/rollup.jq
cat >"$JQ_PROG" <<'EOF'
reduce inputs as $r ({};
  ($r.tenant_id + "\u001f" + $r.call_type + "\u001f" + $r.start_time[0:13]) as $k
  | $r.duration_s as $d
  | .[$k] |= (if . == null then [1, $d, $d, $d]
              else [.[0] + 1, .[1] + $d, ([.[2], $d] | min), ([.[3], $d] | max)] end))
| to_entries[] | (.key | split("\u001f")) + (.value | map(tostring)) | join(",")
EOF

# sqlite3: load each NDJSON line as text (ascii mode: no quote handling),
# keep the four typed columns, then GROUP BY.  Journal and sync off: the
# fastest load sqlite3 offers.
SQL_IMPORT=$OUT/rollup-import.sql
SQL_QUERY=$OUT/rollup-query.sql
SQLITE_DB=$OUT/rollup.sqlite
cat >"$SQL_IMPORT" <<EOF
.output /dev/null
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
.output stdout
CREATE TABLE raw(j TEXT);
.mode ascii
.separator "\\037" "\\n"
.import $INPUT raw
CREATE TABLE calls AS SELECT j ->> 'tenant_id' AS tenant_id, j ->> 'call_type' AS call_type,
    j ->> 'start_time' AS start_time, j ->> 'duration_s' AS duration_s FROM raw;
DROP TABLE raw;
EOF
cat >"$SQL_QUERY" <<'EOF'
.mode csv
.headers off
SELECT tenant_id, call_type, substr(start_time, 1, 13) AS hour, count(*), sum(duration_s),
    min(duration_s), max(duration_s)
FROM calls GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
EOF

q() { printf '%q' "$1"; }
AGG='count,sum(duration_s),min(duration_s),max(duration_s)'
# name | label | command (bash -c) | output | normaliser
names=() labels=() cmds=() outs=() norms=()
add() {
	names+=("$1") labels+=("$2") cmds+=("$3") outs+=("$OUT/rollup-$1.out") norms+=("$4")
}
add rollup "cdr-rollup" \
	"$(q "$CDR_BIN/cdr-rollup") -q -O csv --every 1h --by tenant_id,call_type --agg $(q "$AGG") $(q "$INPUT") > $(q "$OUT/rollup-rollup.out")" \
	rollup
if ! skipped duckdb; then
	DUCK_VERSION=$(cd "$NODE_DIR" && node -e "import('@duckdb/node-api').then(m => console.log(m.version()))" 2>/dev/null || true)
	for rd in columns auto; do
		for t in 1 2; do
			nm=duckdb$t
			[ $rd = columns ] || nm=duckdb-auto$t
			add "$nm" "DuckDB $DUCK_VERSION $([ $rd = auto ] && echo read_json_auto || echo 'read_json, 4 columns given'), $t thread$([ $t = 1 ] || echo s)" \
				"NODE_PATH=$(q "$NODE_DIR/node_modules") node $(q "$DUCK_JS") $(q "$INPUT") $(q "$OUT/rollup-$nm.out") $t $rd" \
				sort
		done
	done
fi
if ! skipped sqlite; then
	# The query-only run reads the database the import run left: keep this order.
	add sqlite-all "sqlite3 $(sqlite3 -version | cut -d' ' -f1) import + GROUP BY" \
		"rm -f $(q "$SQLITE_DB") && cat $(q "$SQL_IMPORT") $(q "$SQL_QUERY") | sqlite3 -bail $(q "$SQLITE_DB") > $(q "$OUT/rollup-sqlite-all.out")" \
		crlf
	add sqlite-query "sqlite3 GROUP BY, import excluded" \
		"sqlite3 -bail $(q "$SQLITE_DB") < $(q "$SQL_QUERY") > $(q "$OUT/rollup-sqlite-query.out")" \
		crlf
fi
if ! skipped miller; then
	add miller "Miller $(mlr --version | cut -d' ' -f2) stats1" \
		"mlr --ijsonl --ocsv --headerless-csv-output put '\$hour = substr(\$start_time, 0, 12)' then stats1 -a count,sum,min,max -f duration_s -g tenant_id,call_type,hour $(q "$INPUT") > $(q "$OUT/rollup-miller.out")" \
		sort
fi
if ! skipped jq; then
	add jq "$(jq --version) reduce" \
		"jq -n -r -f $(q "$JQ_PROG") $(q "$INPUT") > $(q "$OUT/rollup-jq.out")" \
		sort
fi

# Normalised: tenant,type,hour,count,sum,min,max sorted.
normalise() {	# normalise KIND FILE
	case $1 in
	rollup) tail -n +2 "$2" | awk -F, -v OFS=, '{ print $4, $5, substr($1, 1, 13), $6, $7, $8, $9 }' | sort ;;
	crlf) tr -d '\r' <"$2" | sort ;;
	sort) sort "$2" ;;
	esac
}

cat "$INPUT" >/dev/null	# warm the page cache
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A MED MIN MAX RSS CPU
for i in "${!names[@]}"; do
	n=${names[$i]}
	times=() cpus=() rss=0
	for ((r = 0; r < RUNS; r++)); do
		/usr/bin/time -f '%e %M %U %S' -o "$OUT/rollup-time" bash -c "${cmds[$i]}" ||
			die "$n failed: ${cmds[$i]}"
		read -r t m u sy < <(tail -n 1 "$OUT/rollup-time")
		times+=("$t")
		cpus+=("$(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }')")
		[ "$m" -le "$rss" ] || rss=$m
	done
	read -r med mn mx < <(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }')
	MED[$n]=$med MIN[$n]=$mn MAX[$n]=$mx RSS[$n]=$rss
	CPU[$n]=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{ v[NR] = $1 } END {
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	echo "bench/rollup: $n: ${times[*]} s (median $med s, peak RSS $rss KiB)" >&2
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- same results ----
normalise rollup "$OUT/rollup-rollup.out" >"$OUT/rollup-rollup.norm"
for i in "${!names[@]}"; do
	n=${names[$i]}
	[ "$n" = rollup ] && continue
	normalise "${norms[$i]}" "${outs[$i]}" >"$OUT/rollup-$n.norm"
	cmp -s "$OUT/rollup-rollup.norm" "$OUT/rollup-$n.norm" ||
		die "cdr-rollup and $n differ: diff $OUT/rollup-rollup.norm $OUT/rollup-$n.norm"
done
NGROUPS=$(wc -l <"$OUT/rollup-rollup.norm")
[ "$(awk -F, '{ n += $4 } END { print n }' "$OUT/rollup-rollup.norm")" -eq "$LINES" ] ||
	die "counts do not add up to the $LINES records"

# ---- memory: groups, not input ----
"$CDR_BIN/cdr-rollup" -q --every 1h --by tenant_id,call_type --agg "$AGG" \
    --stats "$OUT/rollup-stats.json" "$INPUT" >/dev/null
PER_GROUP=$(jq '.state_bytes / .groups | floor' "$OUT/rollup-stats.json")
/usr/bin/time -f '%M' -o "$OUT/rollup-time" "$CDR_BIN/cdr-rollup" -q --every 1h \
    --by tenant_id,call_type --agg "$AGG" "$SMALL" >/dev/null
RSS_SMALL=$(tail -n 1 "$OUT/rollup-time")
NGROUPS_SMALL=$("$CDR_BIN/cdr-rollup" -q --every 1h --by tenant_id,call_type "$SMALL" | wc -l)
# A million groups: one per call.
"$CDR_BIN/cdr-rollup" -q --by call_id --agg "$AGG" \
    --stats "$OUT/rollup-stats-1m.json" "$INPUT" >/dev/null
PER_GROUP_1M=$(jq '.state_bytes / .groups | floor' "$OUT/rollup-stats-1m.json")

calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
ours=${MED[rollup]}
{
	echo "# cdr-rollup benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
	echo "- input: \`$GEN_CMD\`: $LINES records, $(calc %.1f "$BYTES / 1e6") MB NDJSON ($(calc %.0f "$BYTES / $LINES") bytes a record);" \
	    "$NGROUPS groups (tenant, call type, hour)"
	echo "- method: each command $RUNS times in a row, whole processes, median wall time, CPU time (user + system of all threads and processes; other work on the machine disturbs it less) and peak RSS (the largest) from \`/usr/bin/time -f '%e %M %U %S'\`;" \
	    "MB/s and records/s are of the NDJSON input (for the query-only sqlite3 row: of the NDJSON its table was loaded from)"
	echo "- cdr-rollup has no threads; DuckDB is given 1 and 2 (\`SET threads\` and the instance option)"
	echo
	echo "| command | median s | min s | max s | CPU s | MB/s | records/s | peak RSS MiB | peer / cdr-rollup | CPU: peer / cdr-rollup | output |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for i in "${!names[@]}"; do
		n=${names[$i]}
		printf '| %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %s | %s | %s |\n' "${labels[$i]}" \
			"${MED[$n]}" "${MIN[$n]}" "${MAX[$n]}" "${CPU[$n]}" \
			"$(calc %f "$BYTES / 1e6 / ${MED[$n]}")" "$(calc %f "$LINES / ${MED[$n]}")" \
			"$(calc %f "${RSS[$n]} / 1024")" \
			"$([ "$n" = rollup ] && echo - || calc %.1fx "${MED[$n]} / $ours")" \
			"$([ "$n" = rollup ] && echo - || calc %.1fx "${CPU[$n]} / ${CPU[rollup]}")" \
			"$([ "$n" = rollup ] && echo reference || echo equal)"
	done
	echo
	echo "\"peer / cdr-rollup\" is the peer's median time over cdr-rollup's: above 1, cdr-rollup is faster."
	echo
	echo "## Bars"
	echo
	[ -z "${MED[duckdb1]:-}" ] ||
		echo "- $(verdict "$ours < ${MED[duckdb1]}"): faster than DuckDB with 1 thread: $(calc %.1f "${MED[duckdb1]} / $ours")x (2 threads: $(calc %.1f "${MED[duckdb2]} / $ours")x; read_json_auto: $(calc %.1f "${MED[duckdb-auto1]} / $ours")x and $(calc %.1f "${MED[duckdb-auto2]} / $ours")x)"
	[ -z "${MED[miller]:-}" ] ||
		echo "- $(verdict "${MED[miller]} >= 10 * $ours"): at least 10x faster than Miller stats1: $(calc %.1f "${MED[miller]} / $ours")x"
	echo "- memory follows groups, not input: peak RSS $((RSS_SMALL / 1024)) MiB on $((LINES / 10)) records" \
	    "($NGROUPS_SMALL groups), $((RSS[rollup] / 1024)) MiB on $LINES ($NGROUPS groups);" \
	    "state $PER_GROUP bytes per group; $PER_GROUP_1M bytes per group with one group per call ($LINES groups)"
	echo "- outputs equal after normalising (sorted CSV tenant, type, hour, count, sum, min, max)"
	echo
	echo "Commands (the DuckDB script is written by bench/rollup.sh; the jq and SQL files follow):"
	echo
	for i in "${!cmds[@]}"; do
		echo "    ${cmds[$i]//$ROOT\//}"
	done
	echo
	echo "bench/out/rollup.jq:"
	echo
	sed 's/^/    /' "$JQ_PROG"
	echo
	echo "bench/out/rollup-import.sql and bench/out/rollup-query.sql:"
	echo
	cat "$SQL_IMPORT" "$SQL_QUERY" | sed "s|$ROOT/||; s/^/    /"
} | tee "$RESULTS"
