#!/usr/bin/env bash
# The merge step of a scale-out run: all shard partials into the result.
#   merge.sh WORKDIR
# Runs only when every shard succeeded (GNU parallel stops first; Slurm runs
# it with --dependency=afterok).  Refuses to merge when a partial is
# missing.  The result is written atomically (cdr-rollup -o), then
# WORKDIR/merge.ok marks success.
#SBATCH --job-name=cdr-merge
set -euo pipefail

work=${1:?usage: merge.sh WORKDIR}
# shellcheck source=/dev/null
source "$work/job.conf"

partials=()
for ((i = 0; i < shards; i++)); do
	p=$(printf '%s/partials/part-%05d.partial.ndjson' "$work" "$i")
	[ -f "$p" ] || { echo "merge.sh: $p: missing partial" >&2; exit 1; }
	partials+=("$p")
done
args=(-q --merge -o "$output")
[ "$force" -eq 1 ] && args+=(-f)
"$bin/cdr-rollup" "${args[@]}" "${partials[@]}"
touch "$work/merge.ok"
