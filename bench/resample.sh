#!/usr/bin/env bash
# cdr-resample --in-place against one ffmpeg process per file and one sox
# process per file, on the same generated call recordings, in the same run.
# Standalone (not part of bench/run); a measurement, not a test: the bars
# are printed as PASS/FAIL and the exit status is 0 unless something broke.
#
# The work: N one-minute 8 kHz stereo 16-bit WAV files (cdr-gen wav) to
# 8 kHz mono A-law, in place.  Every run starts from a fresh copy of the
# files (the copy is not timed; the page cache is warm for every tool
# alike).  The peers do what a contact-centre script does, one process per
# file, writing a temporary file and renaming it over the original:
#   ffmpeg -i F -ac 1 -ar 8000 -c:a pcm_alaw -fflags +bitexact T && mv T F
#   sox -D F -e a-law -b 8 -c 1 -r 8000 T && mv T F
# cdr-resample also fsyncs every file and its directory; the peers do not.
#
# Before the numbers count, the outputs are checked: every file converted
# by cdr-resample must hold exactly the A-law samples ffmpeg wrote for it,
# and sox's files the same number of samples (sox rounds differently,
# see the man page; the share of samples that differ is reported).
#
# Environment:
#   BENCH_FILES    recordings (default 200)
#   BENCH_RUNS     timed runs per command (default 3); the median is reported
#   BENCH_JOBS     cdr-resample -j (default: the tool's own, twice the CPUs)
#   BENCH_RESULTS  also write the report here (default bench/out/resample.md)
#   CDR_BIN        directory of the built tools (default build/bin)
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
CDR_BIN=${CDR_BIN:-$ROOT/build/bin}
FILES=${BENCH_FILES:-200}
RUNS=${BENCH_RUNS:-3}
JOBS=${BENCH_JOBS:-$((2 * $(nproc)))}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/out/resample.md}
DATA=$ROOT/bench/data/resample
BAR_FFMPEG=20
BAR_SOX=3

die() {
	echo "bench: $*" >&2
	exit 1
}

case $FILES$RUNS$JOBS in *[!0-9]*) die "BENCH_FILES, BENCH_RUNS and BENCH_JOBS must be integers" ;; esac
[ "$RUNS" -gt 0 ] && [ "$FILES" -gt 0 ] || die "BENCH_FILES and BENCH_RUNS must be positive"
for p in ffmpeg sox python3; do
	command -v $p >/dev/null 2>&1 ||
		die "missing $p (as root: apt-get install -y --no-install-recommends ffmpeg sox python3)"
done
[ -x "$CDR_BIN/cdr-resample" ] && [ -x "$CDR_BIN/cdr-gen" ] ||
	die "build first: make build/bin/cdr-resample build/bin/cdr-gen"

# ---- data: generated once, regenerated when cdr-gen is newer ----
MASTER=$DATA/master-$FILES
if [ ! -d "$MASTER" ] || [ "$CDR_BIN/cdr-gen" -nt "$MASTER" ]; then
	echo "bench: generating $FILES one-minute recordings" >&2
	rm -rf "$MASTER" "$MASTER.tmp"
	mkdir -p "$MASTER.tmp"
	"$CDR_BIN/cdr-gen" wav -n "$FILES" --duration 60s -d "$MASTER.tmp" --seed 1 >/dev/null
	mv "$MASTER.tmp" "$MASTER"
fi
WORK=$(mktemp -d "$DATA/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
INPUT_BYTES=$(find "$MASTER" -type f -name '*.wav' -printf '%s\n' | awk '{s += $1} END {print s}')
NFOUND=$(find "$MASTER" -type f -name '*.wav' | wc -l)
[ "$NFOUND" -eq "$FILES" ] || die "$MASTER holds $NFOUND recordings, not $FILES"

fresh() {
	rm -rf "$WORK/run"
	cp -a "$MASTER" "$WORK/run"
	find "$WORK/run" -type f -name '*.wav' -print | sort >"$WORK/list"
	sync -f "$WORK/run" 2>/dev/null || sync
}

now() {
	date +%s.%N
}

# calc EXPR FORMAT: arithmetic on decimals.
calc() {
	awk "BEGIN {printf \"$2\", $1}"
}

# The list is made before the clock starts (and before any temporary
# file exists); every command reads it the same way.
run_cdr() {
	"$CDR_BIN/cdr-resample" -q --in-place -j "$JOBS" --from-list -i lines \
		"$WORK/list" >/dev/null
}

run_ffmpeg() {
	while IFS= read -r f; do
		ffmpeg -nostdin -v error -y -i "$f" -ac 1 -ar 8000 -c:a pcm_alaw \
			-fflags +bitexact "$f.tmp.wav" && mv "$f.tmp.wav" "$f"
	done <"$WORK/list"
}

run_sox() {
	while IFS= read -r f; do
		sox -D "$f" -e a-law -b 8 -c 1 -r 8000 "$f.tmp.wav" && mv "$f.tmp.wav" "$f"
	done <"$WORK/list"
}

# The same commands, $(nproc) at a time: for reference, not for the bars.
run_ffmpeg_par() {
	xargs -d '\n' -n 1 -P "$(nproc)" sh -c 'ffmpeg -nostdin -v error -y -i "$1" \
		-ac 1 -ar 8000 -c:a pcm_alaw -fflags +bitexact "$1.tmp.wav" &&
		mv "$1.tmp.wav" "$1"' sh <"$WORK/list"
}

run_sox_par() {
	xargs -d '\n' -n 1 -P "$(nproc)" sh -c 'sox -D "$1" -e a-law -b 8 -c 1 \
		-r 8000 "$1.tmp.wav" && mv "$1.tmp.wav" "$1"' sh <"$WORK/list"
}

# The data chunk of every WAV file below a directory, by relative path.
extract() {
	python3 - "$1" "$2" <<'EOF'
import os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
for d, _, names in os.walk(src):
    for n in names:
        p = os.path.join(d, n)
        b = open(p, 'rb').read()
        off, data, fmt = 12, None, None
        while off + 8 <= len(b):
            cid, size = b[off:off + 4], struct.unpack('<I', b[off + 4:off + 8])[0]
            if cid == b'fmt ':
                fmt = struct.unpack('<HHI', b[off + 8:off + 16])
            if cid == b'data':
                data = b[off + 8:off + 8 + size]
                break
            off += 8 + size + (size & 1)
        if fmt != (6, 1, 8000) or data is None:
            sys.exit('%s: not 8 kHz mono A-law: %r' % (p, fmt))
        out = os.path.join(dst, os.path.relpath(p, src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        open(out, 'wb').write(data)
EOF
}

declare -A TIMES
measure() {
	local name=$1 i t0 t1
	TIMES[$name]=
	for ((i = 1; i <= RUNS; i++)); do
		fresh
		t0=$(now)
		"run_$name"
		t1=$(now)
		TIMES[$name]+="$(calc "$t1 - $t0" %.3f) "
		if [ "$i" -eq 1 ]; then
			extract "$WORK/run" "$WORK/samples-$name"
		fi
	done
}

median() {
	printf '%s\n' $1 | sort -g | awk '{a[NR] = $1} END {printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

echo "bench: $FILES recordings, $RUNS runs each" >&2
echo "bench: cdr-resample -j $JOBS" >&2
measure cdr
echo "bench: ffmpeg, one process per file" >&2
measure ffmpeg
echo "bench: sox, one process per file" >&2
measure sox
echo "bench: the same, $(nproc) processes at a time" >&2
measure ffmpeg_par
measure sox_par

# ---- the same work? ----
if ! diff -r -q "$WORK/samples-ffmpeg" "$WORK/samples-cdr" >/dev/null; then
	diff -r -q "$WORK/samples-ffmpeg" "$WORK/samples-cdr" | head -n 5 >&2
	die "cdr-resample's samples differ from ffmpeg's"
fi
diff -r -q "$WORK/samples-ffmpeg" "$WORK/samples-ffmpeg_par" >/dev/null &&
	diff -r -q "$WORK/samples-sox" "$WORK/samples-sox_par" >/dev/null ||
	die "the parallel peer runs wrote other samples than the sequential ones"
SOX_DIFF=$(python3 - "$WORK/samples-cdr" "$WORK/samples-sox" <<'EOF'
import os, sys
a, b = sys.argv[1], sys.argv[2]
n = d = 0
for dirpath, _, names in os.walk(a):
    for name in names:
        p = os.path.join(dirpath, name)
        x = open(p, 'rb').read()
        y = open(os.path.join(b, os.path.relpath(p, a)), 'rb').read()
        if len(x) != len(y):
            sys.exit('%s: %d samples from cdr-resample, %d from sox' % (name, len(x), len(y)))
        n += len(x)
        d += sum(1 for i, j in zip(x, y) if i != j)
print('%.1f' % (100.0 * d / n))
EOF
) || die "sox did not do the same work"

T_CDR=$(median "${TIMES[cdr]}")
T_FF=$(median "${TIMES[ffmpeg]}")
T_SOX=$(median "${TIMES[sox]}")
T_FFP=$(median "${TIMES[ffmpeg_par]}")
T_SOXP=$(median "${TIMES[sox_par]}")
MB=$(calc "$INPUT_BYTES / 1000000" %.1f)
R_FF=$(calc "$T_FF / $T_CDR" %.1f)
R_SOX=$(calc "$T_SOX / $T_CDR" %.1f)
pass() { awk "BEGIN {print ($1 >= $2) ? \"PASS\" : \"FAIL\"}"; }

report() {
	cat <<EOF
# cdr-resample benchmark

$FILES one-minute 8 kHz stereo 16-bit recordings (cdr-gen wav --seed 1,
$MB MB) to 8 kHz mono A-law in place; median of $RUNS runs;
$(nproc) CPUs; $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3); $(sox --version 2>&1 | sed 's/.*SoX //').

| command | wall s | files/s | MB/s | runs |
|---|---|---|---|---|
| cdr-resample --in-place -j $JOBS | $T_CDR | $(calc "$FILES / $T_CDR" %.0f) | $(calc "$MB / $T_CDR" %.0f) | ${TIMES[cdr]}|
| ffmpeg, one process per file | $T_FF | $(calc "$FILES / $T_FF" %.1f) | $(calc "$MB / $T_FF" %.1f) | ${TIMES[ffmpeg]}|
| sox, one process per file | $T_SOX | $(calc "$FILES / $T_SOX" %.1f) | $(calc "$MB / $T_SOX" %.1f) | ${TIMES[sox]}|
| ffmpeg per file, $(nproc) at a time (xargs -P) | $T_FFP | $(calc "$FILES / $T_FFP" %.1f) | $(calc "$MB / $T_FFP" %.1f) | ${TIMES[ffmpeg_par]}|
| sox per file, $(nproc) at a time (xargs -P) | $T_SOXP | $(calc "$FILES / $T_SOXP" %.1f) | $(calc "$MB / $T_SOXP" %.1f) | ${TIMES[sox_par]}|

Samples: cdr-resample equal to ffmpeg's in every file; sox differs in
$SOX_DIFF% of samples (its own rounding), same sample counts.

- $(pass "$R_FF" $BAR_FFMPEG) throughput vs ffmpeg per file: ${R_FF}x (bar ${BAR_FFMPEG}x)
- $(pass "$R_SOX" $BAR_SOX) throughput vs sox per file: ${R_SOX}x (bar ${BAR_SOX}x)
- for reference, against the peers run $(nproc) at a time: ffmpeg $(calc "$T_FFP / $T_CDR" %.1f)x, sox $(calc "$T_SOXP / $T_CDR" %.1f)x
EOF
}

mkdir -p "$(dirname "$RESULTS")"
report | tee "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
