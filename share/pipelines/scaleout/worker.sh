#!/usr/bin/env bash
# One shard of a scale-out run: cdr-validate | cdr-rollup --partial.
#   worker.sh WORKDIR [SHARD]
# SHARD is the shard number (default: $SLURM_ARRAY_TASK_ID, so that the file
# can be given to `sbatch --array` as it is).  Reads WORKDIR/job.conf (written
# by run-parallel.sh or run-slurm.sh) and WORKDIR/shards/part-NNNNN.ndjson;
# commits WORKDIR/partials/part-NNNNN.partial.ndjson only when both tools
# succeed, so that a failed shard leaves nothing a merge could pick up.
# Exit status: that of the first tool that failed (pipefail), else 0.
#SBATCH --job-name=cdr-shard
set -euo pipefail

work=${1:?usage: worker.sh WORKDIR [SHARD]}
shard=${2:-${SLURM_ARRAY_TASK_ID:?no SHARD and no SLURM_ARRAY_TASK_ID}}
# shellcheck source=/dev/null
source "$work/job.conf"

name=$(printf 'part-%05d' "$shard")
in=$work/shards/$name.ndjson
out=$work/partials/$name.partial.ndjson
[ -f "$in" ] || { echo "worker.sh: $in: no such shard" >&2; exit 3; }
rm -f "$out" "$out.part"
trap 'rm -f "$out.part"' EXIT

"$bin/cdr-validate" "${validate_args[@]}" \
    --dead-letter "$work/rejected/$name.ndjson" "$in" |
	"$bin/cdr-rollup" -q --partial "${rollup_args[@]}" -o "$out.part"
mv -f "$out.part" "$out"
