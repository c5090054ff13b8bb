#!/usr/bin/env bash
# cdr-partition against Miller (mlr split, and Miller's tee by field) on the
# same 1M calls: 64 hash shards, and a tenant/day tree of 300 tenants.
# Prints the medians of RUNS runs and the speed-ups; checks that every run
# wrote every record.  Standalone: bench/run may call it.
#
# Environment: CDR_BIN (built tools, default build/bin), N (records,
# 1000000), TENANTS (300), DAYS (7), RUNS (3), WORK (scratch directory on
# the disk to measure, default a new one under ${TMPDIR:-/tmp}).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CDR_BIN=${CDR_BIN:-$here/../build/bin}
N=${N:-1000000}
TENANTS=${TENANTS:-300}
DAYS=${DAYS:-7}
RUNS=${RUNS:-3}
export LC_ALL=C TZ=UTC

die() { echo "bench/partition.sh: $*" >&2; exit 1; }

[ -x "$CDR_BIN/cdr-partition" ] || die "no $CDR_BIN/cdr-partition (run make)"
[ -x "$CDR_BIN/cdr-gen" ] || die "no $CDR_BIN/cdr-gen (run make)"
if ! command -v mlr >/dev/null 2>&1; then
	[ "$(id -u)" -eq 0 ] || die "Miller is missing: apt-get install miller"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q miller >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q miller >/dev/null; }
fi
command -v python3 >/dev/null || die "python3 is missing"

WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/cdr-partition-bench.XXXXXX")}
mkdir -p "$WORK"
cleanup() { rm -rf "$WORK"/out "$WORK"/calls.ndjson; rmdir "$WORK" 2>/dev/null || true; }
trap cleanup EXIT
cd "$WORK"

# Only valid records, so that every tool sees the same records and no
# rejects skew the counts (cdr-gen can emit broken UTF-8 even with
# --error-rate 0).
"$CDR_BIN/cdr-gen" calls -n "$N" --seed 42 --error-rate 0 --tenants "$TENANTS" \
    --agents $((TENANTS * 10)) --queues $((TENANTS * 2)) --campaigns $((TENANTS * 2)) \
    --days "$DAYS" |
	python3 -c '
import sys
for line in sys.stdin.buffer:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        continue
    sys.stdout.buffer.write(line)' > calls.ndjson
records=$(wc -l < calls.ndjson)
bytes=$(wc -c < calls.ndjson)

# time_cmd: seconds of wall time of "$@", output directory emptied first.
time_cmd() {
	local t0 t1
	rm -rf out && mkdir out && sync
	t0=$(date +%s.%N)
	"$@" > /dev/null 2> err || { cat err >&2; die "failed: $*"; }
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# count_out: records written under out/ (all files, plain or gzip).
count_out() {
	find out -type f ! -name '.*' -print0 | xargs -0 cat | wc -l
}

# median_of NAME CMD...: runs RUNS times, checks the record count, prints
# the median seconds.
median_of() {
	local name=$1 i t c
	shift
	: > times
	for i in $(seq "$RUNS"); do
		t=$(time_cmd "$@")
		c=$(count_out)
		[ "$c" -eq "$records" ] || die "$name wrote $c records, not $records"
		echo "$t" >> times
	done
	sort -g times | sed -n "$(( (RUNS + 1) / 2 ))p"
}

P=$CDR_BIN/cdr-partition
tree='{tenant_id}/{start_time:%Y-%m-%d}/calls.ndjson'

hash_cdr=$(median_of "cdr-partition hash" "$P" -q --by-hash call_id --shards 64 -d out/s calls.ndjson)
files_hash=$(find out -type f | wc -l)
hash_cdr_nosync=$(median_of "cdr-partition hash --no-fsync" "$P" -q --no-fsync --by-hash call_id --shards 64 -d out/s calls.ndjson)
hash_mlr=$(median_of "mlr split -m 64" mlr --ijsonl --ojsonl split -m 64 --prefix out/part calls.ndjson)
[ "$(find out -type f | wc -l)" -eq 64 ] || die "mlr split -m 64 did not write 64 files"

tree_cdr=$(median_of "cdr-partition tree" "$P" -q --by "$tree" -d out/t calls.ndjson)
files_tree=$(find out -type f | wc -l)
tree_cdr_nosync=$(median_of "cdr-partition tree --no-fsync" "$P" -q --no-fsync --by "$tree" -d out/t calls.ndjson)
tree_mlr_split=$(median_of "mlr split -g" mlr --ijsonl --ojsonl put '$day = substr($start_time, 0, 9)' \
    then split -g tenant_id,day --prefix out/split calls.ndjson)
files_mlr_tree=$(find out -type f | wc -l)
tree_mlr_tee=$(median_of "mlr tee" mlr --ijsonl --ojsonl put -q \
    'tee > "out/" . $tenant_id . "_" . substr($start_time, 0, 9) . ".jsonl", $*' calls.ndjson)

# The faster Miller way is the peer.
tree_mlr=$(printf '%s\n%s\n' "$tree_mlr_split" "$tree_mlr_tee" | sort -g | head -n 1)
[ "$files_tree" -eq "$files_mlr_tree" ] || die "tree: $files_tree files, Miller $files_mlr_tree"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b / a }'; }

cat <<EOF
cdr-partition benchmark: $records calls ($((bytes / 1000000)) MB NDJSON), $TENANTS tenants, $DAYS days, median of $RUNS, $(nproc) cores
Every run wrote all $records records.

64 hash shards ($files_hash files):
  cdr-partition --by-hash call_id --shards 64          $(printf '%7.2f' "$hash_cdr") s   (durable: syncfs before rename)
  cdr-partition ... --no-fsync                          $(printf '%7.2f' "$hash_cdr_nosync") s
  mlr split -m 64 (round robin, no fsync)               $(printf '%7.2f' "$hash_mlr") s
  speed-up: $(ratio "$hash_cdr" "$hash_mlr")x (durable), $(ratio "$hash_cdr_nosync" "$hash_mlr")x (--no-fsync)

tenant/day tree ($files_tree files):
  cdr-partition --by '$tree'   $(printf '%7.2f' "$tree_cdr") s
  cdr-partition ... --no-fsync                          $(printf '%7.2f' "$tree_cdr_nosync") s
  mlr put \$day then split -g tenant_id,day              $(printf '%7.2f' "$tree_mlr_split") s
  mlr put -q tee > by tenant and day                    $(printf '%7.2f' "$tree_mlr_tee") s
  speed-up over the faster Miller: $(ratio "$tree_cdr" "$tree_mlr")x (durable), $(ratio "$tree_cdr_nosync" "$tree_mlr")x (--no-fsync)
EOF
