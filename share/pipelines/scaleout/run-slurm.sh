#!/usr/bin/env bash
# Scale-out as a Slurm job array: hash partition here, one array task per
# shard (worker.sh), one merge job (merge.sh) that runs only if every task
# succeeded (--dependency=afterok, and --kill-on-invalid-dep=yes so that a
# failed shard cancels the merge instead of leaving it pending forever).
#   run-slurm.sh -n 64 -o hourly.ndjson day.ndjson.gz -- --every 1h --by tenant_id
# Run with --help for the options.  The work directory (-w) and the tools
# (CDR_BIN) must be at the same paths on the compute nodes.  Waits for the
# jobs by polling squeue (sbatch --wait polls slowly).  The exit status is 0
# only when the merge job committed its output (merge.sh marks merge.ok);
# sacct, where accounting is configured, adds the job states to the message.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SCALEOUT_ENGINE="a Slurm job array"
# shellcheck source=lib.sh
source "$here/lib.sh"
scaleout_parse "$@"
for c in sbatch squeue; do
	command -v "$c" >/dev/null ||
		scaleout_die "$c not found (Debian package: slurm-client)" 3
done
[[ $poll =~ ^[0-9]+(\.[0-9]+)?$ ]] || scaleout_die "--poll must be seconds" 2
scaleout_prepare

common=(--parsable --chdir="$workdir")
[ -n "$slurm_partition" ] && common+=(-p "$slurm_partition")
common+=(${sbatch_args[@]+"${sbatch_args[@]}"})

# The script files themselves are submitted (sbatch copies them), never
# stdin; --parsable prints "ID" or "ID;CLUSTER".
array_id=$(sbatch "${common[@]}" --job-name=cdr-shard \
    --array="0-$((shards - 1))" --output="$workdir/logs/shard-%a.log" \
    "$here/worker.sh" "$workdir" </dev/null) ||
	scaleout_die "sbatch of the shard array failed" 3
array_id=${array_id%%;*}
merge_id=$(sbatch "${common[@]}" --job-name=cdr-merge \
    --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
    --output="$workdir/logs/merge.log" \
    "$here/merge.sh" "$workdir" </dev/null) || {
	scancel "$array_id" 2>/dev/null || true
	scaleout_die "sbatch of the merge job failed" 3
}
merge_id=${merge_id%%;*}
echo "${0##*/}: shards job $array_id, merge job $merge_id, work directory $workdir" >&2

# Poll until neither job is known to the queue any more.  squeue failing
# (controller briefly unreachable) is retried; a job that left the queue
# makes squeue print nothing (or fail with "Invalid job id").
fails=0
while :; do
	if left=$(squeue -h -o %i -j "$array_id,$merge_id" 2>/dev/null); then
		fails=0
		[ -z "$left" ] && break
	else
		st=$?
		# Both ids purged from the controller: done.
		if squeue -h -j "$array_id,$merge_id" 2>&1 | grep -qi 'invalid job id'; then
			break
		fi
		fails=$((fails + 1))
		[ "$fails" -lt 60 ] || scaleout_die "squeue keeps failing (status $st)" 3
	fi
	sleep "$poll"
done

states=
if command -v sacct >/dev/null &&
    states=$(timeout 10 sacct -n -X -P -o JobID,State -j "$array_id,$merge_id" 2>/dev/null) &&
    [ -n "$states" ]; then
	states=$(echo "$states" | tr '\n' ' ')
fi
if [ -f "$workdir/merge.ok" ] && [ -f "$output" ]; then
	scaleout_cleanup
	exit 0
fi
echo "${0##*/}: a shard or the merge failed; no merge output${states:+ (sacct: $states)}" >&2
for f in "$workdir"/logs/shard-*.log "$workdir"/logs/merge.log; do
	[ -s "$f" ] && sed "s|^|${f##*/}: |" "$f" >&2
done
exit 1
