#!/usr/bin/env bash
# Soak test of the real-time pipeline: `cdr-gen agent-states --rate N`
# (1% malformed, 1% repeated) into cdr-validate -s agent-state (dedupe on
# AgentId,EventTime over a 5-minute horizon) into share/pipelines/realtime.sh
# (cdr-rollup, 5 s windows, 4 s watermark, joined with `cdr-gen orgs`), for
# SOAK_SECONDS.  Every SOAK_SAMPLE seconds it logs VmRSS and VmHWM of every
# process and the lines written so far to bench/out/soak-UTCTIME/soak.tsv.
# At the end (or on SIGINT, SIGTERM, SIGHUP) it stops cdr-gen, lets the
# pipeline drain, and prints a summary (also summary.txt beside the log):
# records in and out, dead letters, and per process the RSS after the
# warm-up, at the end, the maximum and the least-squares slope in KiB an
# hour.  Not part of make check.
#
# Exit status: 0 when every check passes, 1 when one fails, 2 on a bad
# setting.  The checks:
#   - RSS: for every process, end - start (after the warm-up) is at most
#     SOAK_MAX_GROWTH percent of start, or SOAK_SLACK_KIB if that is larger
#     (a few pages come and go in any process);
#   - conservation: cdr-validate read = written + rejected + duplicates +
#     filtered; cdr-rollup read = cdr-validate written = rollup written +
#     rejected (late); dead-letter, duplicate and late files hold as many
#     lines as the --stats files count; windows written = rows counted;
#   - exit statuses 0 (late records are not errors: they are counted and
#     in the late file);
#   - the pipeline drained within SOAK_DRAIN seconds of cdr-gen stopping.
# An interrupted run is checked like a finished one, over what it ran.
#
# Environment:
#   SOAK_SECONDS     how long cdr-gen runs (default 10800, 3 hours)
#   SOAK_RATE        records a second (default 2000)
#   SOAK_SAMPLE      seconds between samples (default 60)
#   SOAK_WARMUP      seconds before the RSS baseline (default 600, at most
#                    a quarter of SOAK_SECONDS)
#   SOAK_MAX_GROWTH  percent of RSS growth allowed after the warm-up (10)
#   SOAK_SLACK_KIB   growth always allowed, KiB (default 512)
#   SOAK_DRAIN       seconds allowed for the pipeline to finish (default 120)
#   SOAK_OUT         directory for the log (default bench/out/soak-UTCTIME)
#   SOAK_KEEP=1      keep the data files (windows, dead letters; they are
#                    in a temporary directory, removed at the end)
#   CDR_BIN          directory of the built tools (default build/bin)
#   CDR_SHARE        schemas (default share/)
# Example: nice -n 10 env SOAK_SECONDS=4500 SOAK_RATE=1000 bench/soak.sh
set -uo pipefail
export LC_ALL=C TZ=UTC

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
export CDR_SHARE=${CDR_SHARE:-$ROOT/share}
DURATION=${SOAK_SECONDS:-10800}
RATE=${SOAK_RATE:-2000}
SAMPLE=${SOAK_SAMPLE:-60}
WARMUP=${SOAK_WARMUP:-600}
GROWTH=${SOAK_MAX_GROWTH:-10}
SLACK=${SOAK_SLACK_KIB:-512}
DRAIN=${SOAK_DRAIN:-120}

die() {
	echo "bench/soak: $*" >&2
	exit 2
}

for v in DURATION RATE SAMPLE WARMUP GROWTH SLACK DRAIN; do
	case ${!v} in '' | *[!0-9]*) die "$v must be a non-negative integer" ;; esac
done
[ "$DURATION" -gt 0 ] && [ "$RATE" -gt 0 ] && [ "$SAMPLE" -gt 0 ] ||
	die "SOAK_SECONDS, SOAK_RATE and SOAK_SAMPLE must be positive"
[ "$WARMUP" -le $((DURATION / 4)) ] || WARMUP=$((DURATION / 4))
for t in cdr-gen cdr-validate cdr-rollup; do
	[ -x "$CDR_BIN/$t" ] || die "$CDR_BIN/$t not found (set CDR_BIN)"
done

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${SOAK_OUT:-$ROOT/bench/out/soak-$STAMP}
mkdir -p "$OUT" || die "cannot create $OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cdr-soak.XXXXXX") || die "mktemp failed"
LOG=$OUT/soak.tsv

NAMES=(cdr-gen cdr-validate realtime.sh cdr-rollup)
PIDS=()
GROUPS_=()
stop=
stop_sig=

# Each background job is its own process group (set -m): a terminal's ^C
# reaches only this script, which stops cdr-gen and lets the rest drain.
set -m

kill_all() {
	local g
	for g in "${GROUPS_[@]}"; do
		kill -TERM -- "-$g" 2>/dev/null
	done
	sleep 1
	for g in "${GROUPS_[@]}"; do
		kill -KILL -- "-$g" 2>/dev/null
	done
	GROUPS_=()
}

cleanup() {
	kill_all
	if [ -n "${SOAK_KEEP:-}" ]; then
		echo "bench/soak: data kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
on_signal() {
	stop=1
	stop_sig=$1
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# "VmRSS VmHWM" in KiB, or "NA NA" once the process is gone.
mem() {
	local rss=NA hwm=NA k v _
	if [ -n "$1" ] && [ -r "/proc/$1/status" ]; then
		while read -r k v _; do
			case $k in
			VmRSS:) rss=$v ;;
			VmHWM:) hwm=$v ;;
			esac
		done < "/proc/$1/status" 2>/dev/null
	fi
	echo "$rss $hwm"
}

# User + system CPU seconds of a live process, kept for the summary.
CPU=()
cpu() {
	local s fields
	s=$(cat "/proc/$2/stat" 2>/dev/null) || return 0
	# Fields after the ")" that closes the command name: utime is the 12th.
	read -r -a fields <<< "${s##*) }"
	CPU[$1]=$(awk -v u="${fields[11]}" -v s="${fields[12]}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f", (u + s) / hz }')
}

# Lines of FILE; until a tool commits FILE, those of its temporary file
# (.FILE.tmp.XXXXXX, as far as the tool has flushed it).
lines() {
	local f=$1 t
	if [ ! -f "$f" ]; then
		for t in "${f%/*}/.${f##*/}.tmp."*; do
			[ -f "$t" ] && f=$t
		done
	fi
	if [ -f "$f" ]; then
		wc -l < "$f" | tr -d ' '
	else
		echo 0
	fi
}

# cdr-validate's bytes read so far, from /proc/PID/io.
bytes_in() {
	local k v
	if [ -r "/proc/$1/io" ]; then
		while read -r k v; do
			[ "$k" = rchar: ] && { echo "$v"; return; }
		done < "/proc/$1/io" 2>/dev/null
	fi
	echo NA
}

sample() {
	local i row
	row=$1
	for i in "${!NAMES[@]}"; do
		row="$row	$(mem "${PIDS[$i]:-}" | tr ' ' '\t')"
		[ -z "${PIDS[$i]:-}" ] || cpu "$i" "${PIDS[$i]}"
	done
	row="$row	$(bytes_in "${PIDS[1]}")	$(lines "$WORK/windows.ndjson")"
	row="$row	$(lines "$WORK/dead.ndjson")	$(lines "$WORK/duplicates.ndjson")"
	row="$row	$(lines "$WORK/late.ndjson")"
	echo "$row" >> "$LOG"
}

# A number from a flat JSON stats file.
jnum() {
	[ -f "$1" ] || { echo NA; return; }
	grep -o "\"$2\":[0-9]*" "$1" | head -n 1 | cut -d: -f2
}

running() {
	kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# ---- the pipeline ----
"$CDR_BIN/cdr-gen" orgs -o "$WORK/orgs.ndjson" || die "cdr-gen orgs failed"
mkfifo "$WORK/gen.fifo" "$WORK/valid.fifo" "$WORK/tick.fifo" || die "mkfifo failed"
# Waiting is a read that times out on a FIFO nobody writes: no process to
# leave behind, and a signal is seen within a second.
exec {tick}<> "$WORK/tick.fifo"

GEN_CMD=("$CDR_BIN/cdr-gen" agent-states --rate "$RATE" --error-rate 1%
	--duplicate-rate 1%)
VALIDATE_CMD=("$CDR_BIN/cdr-validate" -s agent-state --dedupe 'AgentId,EventTime'
	--horizon 5m --max-error-rate 5% --dead-letter "$WORK/dead.ndjson"
	--duplicates "$WORK/duplicates.ndjson" --stats "$OUT/validate.json")
REALTIME_CMD=("$ROOT/share/pipelines/realtime.sh" --orgs "$WORK/orgs.ndjson"
	-o "$WORK/windows.ndjson" --late "$WORK/late.ndjson"
	--stats "$OUT/rollup.json")
rm -f "$OUT/validate.json" "$OUT/rollup.json"

"${GEN_CMD[@]}" > "$WORK/gen.fifo" 2> "$OUT/cdr-gen.err" &
PIDS[0]=$!
GROUPS_+=("$!")
"${VALIDATE_CMD[@]}" < "$WORK/gen.fifo" > "$WORK/valid.fifo" 2> "$OUT/cdr-validate.err" &
PIDS[1]=$!
GROUPS_+=("$!")
CDR_BIN=$CDR_BIN bash "${REALTIME_CMD[@]}" < "$WORK/valid.fifo" 2> "$OUT/realtime.err" &
PIDS[2]=$!
GROUPS_+=("$!")
T0=$EPOCHSECONDS
START_UTC=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

for _ in $(seq 50); do
	PIDS[3]=$(pgrep -P "${PIDS[2]}" -x cdr-rollup | head -n 1)
	[ -z "${PIDS[3]}" ] || break
	sleep 0.2
done
[ -n "${PIDS[3]}" ] || echo "bench/soak: cdr-rollup not found under realtime.sh" >&2

{
	printf 'seconds'
	for n in "${NAMES[@]}"; do printf '\t%s_rss_kib\t%s_hwm_kib' "$n" "$n"; done
	printf '\tbytes_in\twindows_out\tdead_letters\tduplicates\tlate\n'
} > "$LOG"

{
	echo "# $START_UTC"
	echo "${GEN_CMD[*]} |"
	echo "${VALIDATE_CMD[*]} |"
	echo "CDR_BIN=$CDR_BIN ${REALTIME_CMD[*]}"
} | sed "s|$WORK|\$WORK|g; s|$ROOT/||g" > "$OUT/commands.txt"
echo "bench/soak: ${DURATION}s at $RATE records/s, sampling every ${SAMPLE}s into $LOG" >&2

next=$SAMPLE
while [ -z "$stop" ]; do
	now=$((EPOCHSECONDS - T0))
	[ "$now" -lt "$DURATION" ] || break
	if [ "$now" -ge "$next" ]; then
		running "${PIDS[0]}" && running "${PIDS[1]}" && running "${PIDS[2]}" || {
			echo "bench/soak: a process of the pipeline ended early" >&2
			break
		}
		sample "$now"
		next=$((next + SAMPLE))
		continue
	fi
	read -r -t 1 -u "$tick" _
done
ran=$((EPOCHSECONDS - T0))
[ "$(tail -n 1 "$LOG" | cut -f1)" = "$ran" ] || sample "$ran"

# ---- drain: cdr-gen ends after the line it is writing, the rest follow ----
kill -TERM "${PIDS[0]}" 2>/dev/null
drained=yes
deadline=$((EPOCHSECONDS + DRAIN))
while running "${PIDS[1]}" || running "${PIDS[2]}"; do
	if [ "$EPOCHSECONDS" -ge "$deadline" ]; then
		drained=no
		kill_all
		break
	fi
	read -r -t 0.5 -u "$tick" _
done
RC=()
for i in 0 1 2; do
	wait "${PIDS[$i]}" 2>/dev/null
	RC[$i]=$?
done
GROUPS_=()
trap - INT TERM HUP

# ---- summary ----
fail=()
summary=$OUT/summary.txt
{
	echo "soak: $START_UTC, ran ${ran}s of ${DURATION}s${stop_sig:+ (stopped by SIG$stop_sig)} at $RATE records/s"
	echo "log: ${LOG#"$ROOT"/}; samples every ${SAMPLE}s; warm-up ${WARMUP}s"
	v_read=$(jnum "$OUT/validate.json" read)
	v_written=$(jnum "$OUT/validate.json" written)
	v_rejected=$(jnum "$OUT/validate.json" rejected)
	v_dups=$(jnum "$OUT/validate.json" duplicates)
	v_filtered=$(jnum "$OUT/validate.json" filtered)
	v_blank=$(jnum "$OUT/validate.json" blank)
	r_read=$(jnum "$OUT/rollup.json" read)
	r_written=$(jnum "$OUT/rollup.json" written)
	r_rejected=$(jnum "$OUT/rollup.json" rejected)
	r_rows=$(jnum "$OUT/rollup.json" rows)
	n_dead=$(lines "$WORK/dead.ndjson")
	n_dups=$(lines "$WORK/duplicates.ndjson")
	n_late=$(lines "$WORK/late.ndjson")
	n_windows=$(lines "$WORK/windows.ndjson")
	echo "records in: $v_read (+ $v_blank blank lines); valid $v_written, dead letters $v_rejected, duplicates $v_dups, filtered $v_filtered"
	echo "cdr-rollup: read $r_read, aggregated $r_written, late $r_rejected; rows out $r_rows (file: $n_windows lines)"
	echo "files: dead letters $n_dead lines, duplicates $n_dups, late $n_late"
	echo "exit status: cdr-gen ${RC[0]}, cdr-validate ${RC[1]}, realtime.sh ${RC[2]}; drained: $drained"
} > "$summary"

check() {
	# check DESCRIPTION LEFT RIGHT: the two sides must be equal numbers.
	case "$2$3" in
	'' | *[!0-9]*) fail+=("$1: missing ($2 vs $3)") ;;
	*) [ "$2" -eq "$3" ] || fail+=("$1: $2 != $3") ;;
	esac
}
if [ -n "$v_read" ] && [ "$v_read" != NA ] && [ -n "$r_read" ] && [ "$r_read" != NA ]; then
	check "validate read = written + rejected + duplicates + filtered" \
		"$v_read" $((v_written + v_rejected + v_dups + v_filtered))
	check "rollup read = validate written" "$r_read" "$v_written"
	check "rollup read = aggregated + late" "$r_read" $((r_written + r_rejected))
	check "dead-letter file = validate rejected" "$n_dead" "$v_rejected"
	check "duplicates file = validate duplicates" "$n_dups" "$v_dups"
	check "late file = rollup rejected" "$n_late" "$r_rejected"
	check "windows file = rollup rows" "$n_windows" "$r_rows"
	[ "$v_read" -gt 0 ] || fail+=("no records read")
else
	fail+=("conservation: a --stats file is missing")
fi
[ "$drained" = yes ] || fail+=("the pipeline did not finish within ${DRAIN}s")
[ "${RC[0]}" -eq 0 ] || fail+=("cdr-gen exit status ${RC[0]}")
[ "${RC[1]}" -eq 0 ] || fail+=("cdr-validate exit status ${RC[1]}")
[ "${RC[2]}" -eq 0 ] || fail+=("realtime.sh exit status ${RC[2]}")

# Per process: start = first sample at or after the warm-up, end = last
# sample, max over all samples, slope by least squares after the warm-up.
rss_table=$(awk -F'\t' -v warm="$WARMUP" -v growth="$GROWTH" -v slack="$SLACK" \
	-v last=$((2 * ${#NAMES[@]})) '
NR == 1 {
	for (i = 2; i <= last; i += 2) {
		name[i] = $i
		sub(/_rss_kib$/, "", name[i])
	}
	next
}
{
	for (i = 2; i <= last; i += 2) {
		if ($i == "NA")
			continue
		if ($i + 0 > max[i])
			max[i] = $i + 0
		if ($(i + 1) != "NA" && $(i + 1) + 0 > hwm[i])
			hwm[i] = $(i + 1) + 0
		if ($1 + 0 < warm)
			continue
		if (!(i in start))
			start[i] = $i + 0
		end[i] = $i + 0
		x = $1 / 3600
		n[i]++; sx[i] += x; sy[i] += $i; sxx[i] += x * x; sxy[i] += x * $i
	}
}
END {
	printf "| process | RSS start KiB | RSS end KiB | RSS max KiB | VmHWM KiB | growth | slope KiB/h | samples |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|---:|\n"
	for (i = 2; i <= last; i += 2) {
		if (!(i in start)) {
			printf "| %s | NA | NA | %d | %d | NA | NA | 0 |\n", name[i], max[i], hwm[i]
			continue
		}
		d = n[i] * sxx[i] - sx[i] * sx[i]
		slope = n[i] > 1 && d > 0 ? (n[i] * sxy[i] - sx[i] * sy[i]) / d : 0
		slope = slope < 0 ? -int(-slope + 0.5) : int(slope + 0.5)
		g = end[i] - start[i]
		pct = start[i] > 0 ? 100 * g / start[i] : 0
		limit = start[i] * growth / 100
		if (limit < slack)
			limit = slack
		verdict = g > limit ? " FAIL" : ""
		printf "| %s | %d | %d | %d | %d | %+.1f%%%s | %+d | %d |\n", name[i], start[i], end[i], max[i], hwm[i], pct, verdict, slope, n[i]
	}
}' "$LOG")
{
	echo
	echo "$rss_table"
	echo
	printf 'CPU seconds:'
	for i in "${!NAMES[@]}"; do printf ' %s %s' "${NAMES[$i]}" "${CPU[$i]:-NA}"; done
	echo
} >> "$summary"
case $rss_table in *FAIL*) fail+=("RSS grew more than ${GROWTH}% (or ${SLACK} KiB) after the warm-up") ;; esac
case $rss_table in *"| NA |"*) echo "note: no samples after the warm-up for some process; RSS growth not checked" >> "$summary" ;; esac

if [ ${#fail[@]} -eq 0 ]; then
	echo "PASS" >> "$summary"
else
	printf 'FAIL: %s\n' "${fail[@]}" >> "$summary"
fi
cat "$summary"
[ ${#fail[@]} -eq 0 ]
