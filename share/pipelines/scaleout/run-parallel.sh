#!/usr/bin/env bash
# Scale-out on GNU parallel: hash partition, one worker per shard (locally
# with -j, or across hosts with --sshlogin), then one merge.
#   run-parallel.sh -n 8 -o hourly.ndjson day.ndjson.gz -- --every 1h --by tenant_id
# Run with --help for the options.  Needs GNU parallel (Debian package
# "parallel", not the moreutils one).  With --sshlogin the work directory
# (-w) and the tools (CDR_BIN) must be at the same paths on every host.
# --halt now,fail=1: the first failed shard stops the others and the run;
# the worker runs with pipefail, so a failure anywhere in its pipeline counts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SCALEOUT_ENGINE="GNU parallel"
# shellcheck source=lib.sh
source "$here/lib.sh"
scaleout_parse "$@"
command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q '^GNU parallel' ||
	scaleout_die "GNU parallel is not installed (Debian package: parallel)" 3
scaleout_prepare

par=(--halt now,fail=1 --joblog "$workdir/logs/parallel.joblog"
	--results "$workdir/logs/shards")
[ -n "$jobs" ] && par+=(-j "$jobs")
for l in ${sshlogins[@]+"${sshlogins[@]}"}; do
	par+=(--sshlogin "$l")
done

# The worker script and the work directory are given as absolute paths; the
# shard number is the only thing parallel substitutes.
if ! parallel "${par[@]}" "$here/worker.sh" "$workdir" {} \
    ::: $(seq 0 $((shards - 1))) </dev/null; then
	echo "${0##*/}: a shard failed; no merge (logs in $workdir/logs)" >&2
	exit 1
fi
if ! "$here/merge.sh" "$workdir" 2> "$workdir/logs/merge.log"; then
	cat "$workdir/logs/merge.log" >&2
	echo "${0##*/}: the merge failed (work directory $workdir)" >&2
	exit 1
fi
scaleout_cleanup
