#!/usr/bin/env bash
# cdr-tocsv against the tools people would use instead, on the same
# generated NDJSON in the same run: DuckDB (@duckdb/node-api, COPY (SELECT
# ...) TO ... (FORMAT CSV[, COMPRESSION GZIP]) with 1 and 2 threads),
# `jq -r @csv` and `mlr --ijson --ocsv cut`.  Every output is checked equal
# to cdr-tocsv's after normalising (timestamp spelling, JSON text, Miller's
# "null"), so the comparison is of the same work.  A measurement, not a
# test: the bars are printed PASS/FAIL and the exit status is 0 unless
# something broke.
#
# Environment:
#   BENCH_RUNS            timed runs per command (default 3); the median counts
#   BENCH_RECORDS         records to generate (default 1000000)
#   BENCH_INPUT           an existing cdr-gen calls NDJSON file instead
#   BENCH_TOCSV_RESULTS   the report (default bench/out/tocsv.md)
#   BENCH_SKIP            space-separated names of commands to leave out
#   CDR_BIN               the built tools (default build/bin)
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
RUNS=${BENCH_RUNS:-3}
RECORDS=${BENCH_RECORDS:-1000000}
RESULTS=${BENCH_TOCSV_RESULTS:-$ROOT/bench/out/tocsv.md}
DATA=$ROOT/bench/data
OUT=$ROOT/bench/out/tocsv
SKIP=" ${BENCH_SKIP:-} "

# The bars of the cdr-tocsv issue.
BAR_MLR=20	# mlr / cdr-tocsv, at least
BAR_JQ=10	# jq @csv / cdr-tocsv, at least

die() {
	echo "bench/tocsv: $*" >&2
	exit 1
}

case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $RECORDS in '' | *[!0-9]*) die "BENCH_RECORDS must be an integer" ;; esac

# ---- peers ----
need=
command -v jq >/dev/null 2>&1 || need="$need jq"
command -v mlr >/dev/null 2>&1 || need="$need miller"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v python3 >/dev/null 2>&1 || need="$need python3"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench/tocsv: installing$need" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >&2 || true
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $need >&2 ||
			die "could not install$need"
	else
		die "missing peers:$need (as root: apt-get install -y --no-install-recommends$need)"
	fi
fi
DUCK=$ROOT/bench/node_modules/@duckdb/node-api
if [ ! -d "$DUCK" ]; then
	echo "bench/tocsv: installing @duckdb/node-api into bench/node_modules" >&2
	npm install --no-save --no-audit --no-fund --prefix "$ROOT/bench" @duckdb/node-api >&2 ||
		die "npm could not install @duckdb/node-api"
fi
DUCK_VERSION=$(jq -r .version "$DUCK/package.json")

# ---- tools and data ----
make --no-print-directory "${CDR_BIN#"$ROOT"/}/cdr-tocsv" "${CDR_BIN#"$ROOT"/}/cdr-gen" >&2 ||
	die "building cdr-tocsv and cdr-gen failed"
TOCSV=$CDR_BIN/cdr-tocsv
mkdir -p "$DATA" "$OUT"
if [ -n "${BENCH_INPUT:-}" ]; then
	[ -r "$BENCH_INPUT" ] || die "BENCH_INPUT: cannot read $BENCH_INPUT"
	big=$BENCH_INPUT
	GEN_CMD="(given file $BENCH_INPUT)"
else
	big=$DATA/calls-$RECORDS.ndjson
	GEN_CMD="cdr-gen calls -n $RECORDS --seed 1"
	if [ ! -s "$big" ] || [ "$CDR_BIN/cdr-gen" -nt "$big" ]; then
		echo "bench/tocsv: generating $big" >&2
		"$CDR_BIN/cdr-gen" calls -n "$RECORDS" --seed 1 >"$big.tmp" || die "cdr-gen failed"
		mv "$big.tmp" "$big"
	fi
fi
BYTES=$(stat -L -c %s "$big")
NREC=$(wc -l <"$big")

# The same 17 columns for everyone: typed times and integers, meta as JSON.
COLS='call_id,tenant_id,call_type,start_time:timestamp,answer_time:timestamp,end_time:timestamp,duration_s:integer,billsec:integer,agent_id,queue_id,caller,callee,status,disposition,hangup_cause:integer,recording_key,meta:json'
NAMES=$(sed 's/:[a-z]*//g' <<<"$COLS")
SCALARS=${NAMES%,meta}
JQ_FILTER="[$(sed 's/\([a-z_]*\)/.\1/g; s/\.meta$/(.meta|tojson)/' <<<"$NAMES")] | @csv"
DUCK_COLS=$(awk -v RS=, -v ORS= 'BEGIN { print "{" } {
	sub(/\n$/, ""); n = split($0, a, ":")
	t = n < 2 ? "VARCHAR" : a[2] == "timestamp" ? "TIMESTAMP" : a[2] == "integer" ? "BIGINT" : "JSON"
	printf "%s%s:\047%s\047", (NR > 1 ? ", " : ""), a[1], t } END { print "}" }' <<<"$COLS")

cat >"$OUT/duck.mjs" <<EOF
import { DuckDBInstance } from '$DUCK/lib/index.js';
const [,, input, output, threads, gzip] = process.argv;
const inst = await DuckDBInstance.create(':memory:', { threads: threads });
const con = await inst.connect();
await con.run(\`SET threads = \${Number(threads)}\`);
await con.run(\`COPY (SELECT * FROM read_json('\${input}', format='newline_delimited',
    columns=$DUCK_COLS)) TO '\${output}' (FORMAT CSV, HEADER\${gzip === '1' ? ', COMPRESSION GZIP' : ''})\`);
EOF

# name | command | output to check | header | columns compared | quirks
names=() cmds=() outs=()
add() {
	case $SKIP in *" $1 "*) return ;; esac
	names+=("$1") cmds+=("$2") outs+=("$3")
}
q() { printf '%q' "$1"; }
add "cdr-tocsv" "$(q "$TOCSV") -q -f -c $(q "$COLS") -o $(q "$OUT/tocsv.csv") $(q "$big")" "$OUT/tocsv.csv"
add "cdr-tocsv stdout" "$(q "$TOCSV") -q -c $(q "$COLS") $(q "$big") > $(q "$OUT/tocsv-stdout.csv")" "$OUT/tocsv-stdout.csv"
add "cdr-tocsv gzip split 2 -j 2" "$(q "$TOCSV") -q -f -j 2 -c $(q "$COLS") --split 2 -o $(q "$OUT/tocsv-part") $(q "$big")" "$OUT/tocsv-part.0000.csv.gz $OUT/tocsv-part.0001.csv.gz"
add "cdr-tocsv gzip split 2 -j 1" "$(q "$TOCSV") -q -f -j 1 -c $(q "$COLS") --split 2 -o $(q "$OUT/tocsv-part1") $(q "$big")" "$OUT/tocsv-part1.0000.csv.gz $OUT/tocsv-part1.0001.csv.gz"
add "duckdb 1 thread" "node $(q "$OUT/duck.mjs") $(q "$big") $(q "$OUT/duck1.csv") 1 0" "$OUT/duck1.csv"
add "duckdb 2 threads" "node $(q "$OUT/duck.mjs") $(q "$big") $(q "$OUT/duck2.csv") 2 0" "$OUT/duck2.csv"
add "duckdb gzip 2 threads" "node $(q "$OUT/duck.mjs") $(q "$big") $(q "$OUT/duck2.csv.gz") 2 1" "$OUT/duck2.csv.gz"
add "duckdb gzip 1 thread" "node $(q "$OUT/duck.mjs") $(q "$big") $(q "$OUT/duck1.csv.gz") 1 1" "$OUT/duck1.csv.gz"
add "jq @csv" "jq -r $(q "$JQ_FILTER") $(q "$big") > $(q "$OUT/jq.csv")" "$OUT/jq.csv"
add "mlr cut" "mlr --ijson --ocsv cut -o -f $(q "$SCALARS") $(q "$big") > $(q "$OUT/mlr.csv")" "$OUT/mlr.csv"

# ---- the same work: every output normalised equal to cdr-tocsv's ----
cat >"$OUT/normalise.py" <<'EOF'
# normalise.py NCOLS HEADER(0|1) MLR(0|1) FILE...: a digest of the rows of
# CSV files (gzip ones decompressed, all members), each cell in one
# spelling: times "YYYY-MM-DD HH:MM:SS[.f]" without trailing zeros, the
# JSON column as canonical JSON (numbers as doubles: jq 1.6 writes 4.0 as 4), Miller's "null" as empty.
import csv, gzip, hashlib, json, re, sys
ncols, header, mlr = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
t = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?Z?$")
csv.field_size_limit(1 << 30)
h, rows = hashlib.sha256(), []
def norm(c, i):
    if mlr and c == "null":
        return ""
    if i == 16 and c:
        return json.dumps(json.loads(c, parse_int=float), sort_keys=True, separators=(",", ":"))
    m = t.match(c)
    if m:
        f = (m.group(3) or "").rstrip("0")
        return m.group(1) + " " + m.group(2) + ("." + f if f else "")
    return c
n = 0
for path in sys.argv[4:]:
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        if header:
            next(r, None)
        for row in r:
            rows.append("\x1f".join(norm(c, i) for i, c in enumerate(row[:ncols])))
            n += 1
# parts hold the rows in another order: sort
for line in sorted(rows):
    h.update(line.encode())
    h.update(b"\n")
print(n, h.hexdigest())
EOF

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A MED MIN MAX RSS CPU
for i in "${!names[@]}"; do
	n=${names[$i]}
	echo "bench/tocsv: $n ($RUNS runs)" >&2
	: >"$OUT/times"
	for r in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M %U %S' -o "$OUT/time1" bash -c "${cmds[$i]}" ||
			die "$n failed: ${cmds[$i]}"
		tail -n 1 "$OUT/time1" >>"$OUT/times"
	done
	read -r med mn mx rss < <(sort -g "$OUT/times" | awk '{ v[NR] = $1; if ($2 > r) r = $2 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR], r }')
	MED[$n]=$med MIN[$n]=$mn MAX[$n]=$mx RSS[$n]=$rss
	CPU[$n]=$(awk '{ print $3 + $4 }' "$OUT/times" | sort -g | awk '{ v[NR] = $1 } END {
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench/tocsv: checking that every output holds the same rows" >&2
# shellcheck disable=SC2086
read -r ref_n ref17 < <(python3 "$OUT/normalise.py" 17 1 0 "$OUT/tocsv.csv")
# shellcheck disable=SC2086
read -r _ ref16 < <(python3 "$OUT/normalise.py" 16 1 0 "$OUT/tocsv.csv")
[ "$ref_n" = "$NREC" ] || die "cdr-tocsv wrote $ref_n rows of $NREC records"
declare -A SAME
for i in "${!names[@]}"; do
	n=${names[$i]}
	[ "$n" = cdr-tocsv ] && { SAME[$n]=reference; continue; }
	ncols=17 hdr=1 mlr=0 ref=$ref17
	case $n in
	"jq @csv") hdr=0 ;;
	"mlr cut") ncols=16 mlr=1 ref=$ref16 ;;
	esac
	# shellcheck disable=SC2086
	read -r got_n got < <(python3 "$OUT/normalise.py" $ncols $hdr $mlr ${outs[$i]})
	[ "$got_n" = "$NREC" ] && [ "$got" = "$ref" ] ||
		die "$n: its output differs from cdr-tocsv's ($got_n rows)"
	SAME[$n]="equal ($ncols columns)"
done

# ---- report ----
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
ours=${MED[cdr-tocsv]}
ours_gz=${MED["cdr-tocsv gzip split 2 -j 2"]:-}
# Each row against the cdr-tocsv run doing the same job with as many threads.
declare -A REF=(
	["duckdb 1 thread"]=cdr-tocsv ["duckdb 2 threads"]=cdr-tocsv
	["duckdb gzip 1 thread"]="cdr-tocsv gzip split 2 -j 1"
	["duckdb gzip 2 threads"]="cdr-tocsv gzip split 2 -j 2"
	["jq @csv"]=cdr-tocsv ["mlr cut"]=cdr-tocsv ["cdr-tocsv stdout"]=cdr-tocsv
)
vs() {	# vs NAME: "2.8x, CPU 3.1x (cdr-tocsv ...)" or "-"
	local r=${REF[$1]:-}
	if [ -n "$r" ] && [ -n "${MED[$r]:-}" ]; then
		echo "$(calc %.1f "${MED[$1]} / ${MED[$r]}")x, CPU $(calc %.1f "${CPU[$1]} / ${CPU[$r]}")x ($r)"
	else
		echo -
	fi
}
cell() {	# cell NAME: the median, or "not run"
	if [ -n "${MED[$1]:-}" ]; then printf '%.2f s' "${MED[$1]}"; else echo "not run"; fi
}
ratio() {	# ratio PEER OURS: wall time, and CPU time
	if [ -n "${MED[$1]:-}" ] && [ -n "${MED[$2]:-}" ]; then
		echo "$(calc %.1fx "${MED[$1]} / ${MED[$2]}") | $(calc %.1fx "${CPU[$1]} / ${CPU[$2]}")"
	else
		echo "- | -"
	fi
}
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
{
	echo "# cdr-tocsv benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
	echo "- load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
	echo "- input: $GEN_CMD: $NREC records, $(calc '%.1f' "$BYTES / 1e6") MB NDJSON ($(calc %.0f "$BYTES / $NREC") bytes a record)"
	echo "- method: each command $RUNS times in a row, median wall time (/usr/bin/time), peak RSS the largest;" \
	    "CPU s is the median user + system time of all its threads and processes, which other work on the machine disturbs less than wall time"
	echo "- peers: DuckDB $DUCK_VERSION (@duckdb/node-api), $(jq --version), $(mlr --version)"
	echo "- columns: $COLS (Miller: the 16 before meta, which it cannot write as JSON text)"
	echo
	echo "| command | median s | min s | max s | CPU s | MB/s | records/s | peak RSS MiB | time / cdr-tocsv's (same job, same threads) | output |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for n in "${names[@]}"; do
		printf '| %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %s | %s |\n' "$n" \
			"${MED[$n]}" "${MIN[$n]}" "${MAX[$n]}" "${CPU[$n]}" \
			"$(calc '%f' "$BYTES / 1e6 / ${MED[$n]}")" "$(calc '%f' "$NREC / ${MED[$n]}")" \
			"$(calc '%f' "${RSS[$n]} / 1024")" "$(vs "$n")" "${SAME[$n]}"
	done
	echo
	echo "## cdr-tocsv and DuckDB with 1 and 2 threads"
	echo
	echo "DuckDB runs with \`SET threads\` = 1 and 2 (and the same instance option); cdr-tocsv's"
	echo "\`-j\` sets its compression threads, and plain CSV output has none (one thread in both columns)."
	echo "DuckDB writes one .csv.gz file at its default level, cdr-tocsv two (--split 2) at level 6."
	echo
	echo "| job | threads | cdr-tocsv | DuckDB | DuckDB / cdr-tocsv, wall | CPU |"
	echo "|---|---:|---:|---:|---:|---:|"
	echo "| NDJSON to CSV | 1 | $(cell cdr-tocsv) | $(cell "duckdb 1 thread") | $(ratio "duckdb 1 thread" cdr-tocsv) |"
	echo "| NDJSON to CSV | 2 | $(cell cdr-tocsv) | $(cell "duckdb 2 threads") | $(ratio "duckdb 2 threads" cdr-tocsv) |"
	echo "| NDJSON to CSV.gz | 1 | $(cell "cdr-tocsv gzip split 2 -j 1") | $(cell "duckdb gzip 1 thread") | $(ratio "duckdb gzip 1 thread" "cdr-tocsv gzip split 2 -j 1") |"
	echo "| NDJSON to CSV.gz | 2 | $(cell "cdr-tocsv gzip split 2 -j 2") | $(cell "duckdb gzip 2 threads") | $(ratio "duckdb gzip 2 threads" "cdr-tocsv gzip split 2 -j 2") |"
	echo
	echo "## Bars"
	echo
	[ -n "${MED["duckdb 1 thread"]:-}" ] &&
		echo "- $(verdict "$ours < ${MED["duckdb 1 thread"]}"): CSV faster than DuckDB with 1 thread ($ours s vs ${MED["duckdb 1 thread"]} s)"
	[ -n "${MED["mlr cut"]:-}" ] &&
		echo "- $(verdict "${MED["mlr cut"]} / $ours >= $BAR_MLR"): at least ${BAR_MLR}x Miller ($(calc '%.1f' "${MED["mlr cut"]} / $ours")x)"
	[ -n "${MED["jq @csv"]:-}" ] &&
		echo "- $(verdict "${MED["jq @csv"]} / $ours >= $BAR_JQ"): at least ${BAR_JQ}x jq @csv ($(calc '%.1f' "${MED["jq @csv"]} / $ours")x)"
	[ -n "$ours_gz" ] && [ -n "${MED["duckdb gzip 2 threads"]:-}" ] &&
		echo "- $(verdict "$ours_gz < ${MED["duckdb gzip 2 threads"]}"): gzip split in 2 files faster than DuckDB gzip with 2 threads ($ours_gz s vs ${MED["duckdb gzip 2 threads"]} s)"
	echo
	echo "cdr-tocsv -o fsyncs the file before renaming it into place; 'cdr-tocsv stdout' is the same run"
	echo "writing to a shell redirection, as the peers do. gzip sizes: cdr-tocsv $(cat "$OUT"/tocsv-part.000?.csv.gz 2>/dev/null | wc -c) bytes (libdeflate level 6, 1 MiB members),"
	echo "DuckDB $(stat -c %s "$OUT/duck2.csv.gz" 2>/dev/null || echo '?') bytes."
	echo
	echo "Commands:"
	echo
	for i in "${!names[@]}"; do
		echo "    ${cmds[$i]//$ROOT\//}"
	done
} >"$RESULTS"
cat "$RESULTS"
