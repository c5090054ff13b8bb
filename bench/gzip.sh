#!/usr/bin/env bash
# cdr-tocsv's gzip output against the compressors people pipe CSV into:
# `gzip -6`, `gzip -1` and `pigz` with 1 and 2 threads, on the same
# generated NDJSON in the same run.  The job is NDJSON in, one CSV.gz
# file out: cdr-tocsv -z (libdeflate, -j compression threads) against
# `cdr-tocsv | COMPRESSOR`.  Every output is decompressed and checked
# byte for byte against cdr-tocsv's plain CSV, so all rows do the same
# work.  The compressors alone on that CSV are timed too, to show what
# the pipe adds.  A measurement, not a test: exit status 0 unless
# something broke.
#
# Environment:
#   BENCH_RUNS           timed runs per command (default 3); the median counts
#   BENCH_RECORDS        records to generate (default 1000000)
#   BENCH_INPUT          an existing cdr-gen calls NDJSON file instead
#   BENCH_GZIP_RESULTS   the report (default bench/out/gzip.md)
#   CDR_BIN              the built tools (default build/bin)
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
RUNS=${BENCH_RUNS:-3}
RECORDS=${BENCH_RECORDS:-1000000}
RESULTS=${BENCH_GZIP_RESULTS:-$ROOT/bench/out/gzip.md}
DATA=$ROOT/bench/data
OUT=$ROOT/bench/out/gzip

die() {
	echo "bench/gzip: $*" >&2
	exit 1
}

case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $RECORDS in '' | *[!0-9]*) die "BENCH_RECORDS must be an integer" ;; esac

# ---- peers ----
need=
command -v gzip >/dev/null 2>&1 || need="$need gzip"
command -v pigz >/dev/null 2>&1 || need="$need pigz"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench/gzip: installing$need" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >&2 || true
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $need >&2 ||
			die "could not install$need"
	else
		die "missing peers:$need (as root: apt-get install -y --no-install-recommends$need)"
	fi
fi

# ---- tools and data (the same file as bench/tocsv.sh) ----
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
		echo "bench/gzip: generating $big" >&2
		"$CDR_BIN/cdr-gen" calls -n "$RECORDS" --seed 1 >"$big.tmp" || die "cdr-gen failed"
		mv "$big.tmp" "$big"
	fi
fi
BYTES=$(stat -L -c %s "$big")
NREC=$(wc -l <"$big")

q() { printf '%q' "$1"; }
T="$(q "$TOCSV") -q"
IN=$(q "$big")
CSV=$OUT/plain.csv
# name | threads | gzip level | cdr-tocsv row it is compared with | command
names=() threads=() levels=() refs=() cmds=()
add() {
	names+=("$1") threads+=("$2") levels+=("$3") refs+=("$4") cmds+=("$5")
}
# Plain CSV first: it is the reference text and the compressors' input.
add "cdr-tocsv (no gzip)" 1 - - "$T $IN > $(q "$CSV")"
for j in 1 2; do
	add "cdr-tocsv -z -j $j" "$j" 6 - "$T -z -j $j $IN > $(q "$OUT/tocsv-j$j.csv.gz")"
	add "cdr-tocsv -z -j $j --gzip-level 1" "$j" 1 - "$T -z -j $j --gzip-level 1 $IN > $(q "$OUT/tocsv-j$j-l1.csv.gz")"
done
add "cdr-tocsv | gzip -6" 1 6 "cdr-tocsv -z -j 1" "$T $IN | gzip -6 > $(q "$OUT/gzip6.csv.gz")"
add "cdr-tocsv | gzip -1" 1 1 "cdr-tocsv -z -j 1 --gzip-level 1" "$T $IN | gzip -1 > $(q "$OUT/gzip1.csv.gz")"
add "cdr-tocsv | pigz -p 1" 1 6 "cdr-tocsv -z -j 1" "$T $IN | pigz -p 1 > $(q "$OUT/pigz1.csv.gz")"
add "cdr-tocsv | pigz -p 2" 2 6 "cdr-tocsv -z -j 2" "$T $IN | pigz -p 2 > $(q "$OUT/pigz2.csv.gz")"
add "cdr-tocsv | pigz -1 -p 2" 2 1 "cdr-tocsv -z -j 2 --gzip-level 1" "$T $IN | pigz -1 -p 2 > $(q "$OUT/pigz2-l1.csv.gz")"
# The compressors alone on cdr-tocsv's CSV: what each adds.
add "gzip -6 < CSV" 1 6 "" "gzip -6 < $(q "$CSV") > $(q "$OUT/alone-gzip6.csv.gz")"
add "gzip -1 < CSV" 1 1 "" "gzip -1 < $(q "$CSV") > $(q "$OUT/alone-gzip1.csv.gz")"
add "pigz -p 1 < CSV" 1 6 "" "pigz -p 1 < $(q "$CSV") > $(q "$OUT/alone-pigz1.csv.gz")"
add "pigz -p 2 < CSV" 2 6 "" "pigz -p 2 < $(q "$CSV") > $(q "$OUT/alone-pigz2.csv.gz")"
out_of() { sed -n 's/.*> \(.*\)$/\1/p' <<<"$1"; }

cat "$big" >/dev/null	# warm the page cache
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A MED MIN MAX RSS CPU SIZE SAME
for i in "${!names[@]}"; do
	n=${names[$i]}
	echo "bench/gzip: $n ($RUNS runs)" >&2
	: >"$OUT/times"
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M %U %S' -o "$OUT/time1" bash -o pipefail -c "${cmds[$i]}" ||
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

# ---- the same work: every file decompresses to cdr-tocsv's CSV ----
echo "bench/gzip: checking that every output decompresses to the same CSV" >&2
[ "$(($(wc -l <"$CSV") - 1))" = "$NREC" ] || die "cdr-tocsv wrote $(wc -l <"$CSV") lines for $NREC records"
ref=$(sha256sum <"$CSV")
for i in "${!names[@]}"; do
	n=${names[$i]}
	f=$(out_of "${cmds[$i]}")
	f=$(eval "echo $f")
	SIZE[$n]=$(stat -c %s "$f")
	if [ "$f" = "$CSV" ]; then
		SAME[$n]=reference
		continue
	fi
	got=$(gzip -dc "$f" | sha256sum) || die "$n: $f is not valid gzip"
	[ "$got" = "$ref" ] || die "$n: $f does not decompress to cdr-tocsv's CSV"
	SAME[$n]="equal"
done

# ---- report ----
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }
CSV_BYTES=${SIZE["cdr-tocsv (no gzip)"]}
{
	echo "# gzip output: cdr-tocsv against gzip and pigz"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
	echo "- input: \`$GEN_CMD\`: $NREC records, $(calc %.1f "$BYTES / 1e6") MB NDJSON ($(calc %.0f "$BYTES / $NREC") bytes a record);" \
	    "cdr-tocsv's CSV (default columns, meta as JSON text) is $(calc %.1f "$CSV_BYTES / 1e6") MB"
	echo "- peers: gzip $(ver gzip), pigz $(ver pigz); cdr-tocsv compresses 1 MiB blocks into gzip members with libdeflate $(ver libdeflate-dev) on -j threads"
	echo "- method: each command $RUNS times in a row, median wall time, CPU time (user + system of all threads and processes) and peak RSS (the largest) from \`/usr/bin/time -f '%e %M %U %S'\` around \`bash -o pipefail -c COMMAND\`;" \
	    "for a pipe the RSS is that of its largest process. MB/s and records/s are of the NDJSON input (for the compressor-alone rows: of the CSV, and records are CSV rows)."
	echo "- every .gz file decompresses (\`gzip -dc\`) to exactly cdr-tocsv's plain CSV (sha256)"
	echo
	echo "| command | compressor threads | level | median s | min s | max s | CPU s | MB/s | records/s | peak RSS MiB | output MB | vs cdr-tocsv | output |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for i in "${!names[@]}"; do
		n=${names[$i]} ref=${refs[$i]}
		in_bytes=$BYTES
		[ -n "$ref" ] || in_bytes=$CSV_BYTES
		if [ "$ref" = - ] || [ -z "$ref" ]; then
			ratio=-
		else
			ratio="$(calc %.2fx "${MED[$n]} / ${MED[$ref]}"), CPU $(calc %.2fx "${CPU[$n]} / ${CPU[$ref]}")"
		fi
		printf '| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.1f | %s | %s |\n' "${n//|/\\|}" \
			"${threads[$i]}" "${levels[$i]}" "${MED[$n]}" "${MIN[$n]}" "${MAX[$n]}" "${CPU[$n]}" \
			"$(calc %f "$in_bytes / 1e6 / ${MED[$n]}")" "$(calc %f "$NREC / ${MED[$n]}")" \
			"$(calc %f "${RSS[$n]} / 1024")" "$(calc %f "${SIZE[$n]} / 1e6")" "$ratio" "${SAME[$n]}"
	done
	echo
	echo "\"vs cdr-tocsv\": the pipe's median wall time (and CPU time) over that of cdr-tocsv -z with the same level and"
	echo "compressor threads (above 1, cdr-tocsv is faster). A pipe runs cdr-tocsv and the"
	echo "compressor as two processes, so even the 1-thread compressors use up to 2 cores."
	echo
	echo "Commands:"
	echo
	for i in "${!names[@]}"; do
		echo "    ${cmds[$i]//$ROOT\//}"
	done
} >"$RESULTS"
cat "$RESULTS"
