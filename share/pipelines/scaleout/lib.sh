# shellcheck shell=bash
# Shared by run-parallel.sh and run-slurm.sh (sourced, not run): option
# parsing, the hash partition step and the job description the workers read.
#
# The work directory is the only thing the driver, the shard workers and the
# merge share: it must be visible at the same path wherever they run (a
# shared file system for --sshlogin hosts or Slurm nodes).  It holds
#   job.conf                the worker and merge settings (bash, sourced)
#   shards/part-NNNNN.ndjson the hash shards (cdr-partition)
#   partials/part-NNNNN.partial.ndjson   one per shard (cdr-rollup --partial)
#   rejected/               dead letters of the partition and of each shard
#   logs/                   stderr of every step

scaleout_usage() {
	cat <<EOF
usage: ${0##*/} -n N -o OUTPUT [OPTION]... [FILE]... [-- ROLLUP-OPTION...]
Partitions the FILEs (or standard input) by the hash of --key into N shards,
runs cdr-validate | cdr-rollup --partial on every shard ($SCALEOUT_ENGINE),
then merges the partials into OUTPUT (cdr-rollup --merge, atomic).
Everything after -- goes to the per-shard cdr-rollup (--every, --by, --agg,
--tz, ...); the merge takes them from the partials.

  -n, --shards N          number of shards (1..65536)
  -o, --output FILE       the merged result
  -k, --key FIELD         shard key (default call_id)
  -s, --schema NAME|FILE  cdr-validate schema (default call)
      --dedupe KEYS       cdr-validate --dedupe (exact when KEYS include the
                          shard key: all copies of a record meet in one shard)
      --max-error-rate R  error budget of the partition and of each shard
  -w, --workdir DIR       work directory (default: a new one under \$TMPDIR,
                          removed after a successful run)
      --keep              keep the work directory
  -f, --force             replace an existing OUTPUT
EOF
	[ "$SCALEOUT_ENGINE" = "GNU parallel" ] && cat <<EOF
  -j, --jobs N            parallel jobs per host (parallel -j)
  -S, --sshlogin LOGIN    run shards on LOGIN (parallel --sshlogin:
                          [N/][user@]host, or N/ssh command ending in the
                          host, e.g. '4/ssh -p 2222 node1'); repeat the
                          option for several hosts; ':' is this host
EOF
	[ "$SCALEOUT_ENGINE" = "a Slurm job array" ] && cat <<EOF
  -p, --partition NAME    Slurm partition (sbatch -p)
      --sbatch-arg ARG    one more sbatch option (repeatable)
      --poll SECONDS      squeue polling interval (default 1)
EOF
	cat <<EOF
  -h, --help              this help

Environment: CDR_BIN (directory of the cdr-* tools; default: from PATH).
Exit status: 0 merged, 1 a shard or the merge failed (no OUTPUT written),
2 usage error, 3 partition or system error.
EOF
}

scaleout_die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit "${2:-3}"
}

# scaleout_parse "$@": sets shards output key schema dedupe max_error_rate
# workdir keep force inputs[] rollup_args[] and the engine options.
scaleout_parse() {
	shards='' output='' key=call_id schema=call dedupe='' max_error_rate=''
	workdir='' keep=0 force=0 jobs='' poll=1 slurm_partition=''
	inputs=() rollup_args=() sshlogins=() sbatch_args=()
	while [ $# -gt 0 ]; do
		case $1 in
		-n|--shards) shards=${2?}; shift ;;
		-o|--output) output=${2?}; shift ;;
		-k|--key) key=${2?}; shift ;;
		-s|--schema) schema=${2?}; shift ;;
		--dedupe) dedupe=${2?}; shift ;;
		--max-error-rate) max_error_rate=${2?}; shift ;;
		-w|--workdir) workdir=${2?}; shift ;;
		--keep) keep=1 ;;
		-f|--force) force=1 ;;
		-j|--jobs) jobs=${2?}; shift ;;
		-S|--sshlogin) sshlogins+=("${2?}"); shift ;;
		-p|--partition) slurm_partition=${2?}; shift ;;
		--sbatch-arg) sbatch_args+=("${2?}"); shift ;;
		--poll) poll=${2?}; shift ;;
		-h|--help) scaleout_usage; exit 0 ;;
		--) shift; rollup_args=("$@"); break ;;
		-) inputs+=("$1") ;;
		-*) scaleout_usage >&2; exit 2 ;;
		*) inputs+=("$1") ;;
		esac
		shift
	done
	[[ $shards =~ ^[1-9][0-9]*$ ]] && [ "$shards" -le 65536 ] ||
		scaleout_die "--shards must be 1..65536" 2
	[ -n "$output" ] || scaleout_die "--output is required" 2
	[ "$force" -eq 1 ] || [ ! -e "$output" ] ||
		scaleout_die "$output exists (use -f to replace it)" 2
	return 0
}

# scaleout_prepare: makes the work directory, writes job.conf and runs the
# hash partition.  Absolute paths only: workers may run elsewhere.
scaleout_prepare() {
	local bin
	if [ -n "${CDR_BIN:-}" ]; then
		bin=$(cd "$CDR_BIN" && pwd) || scaleout_die "CDR_BIN: no such directory"
	else
		bin=$(dirname "$(command -v cdr-rollup)") ||
			scaleout_die "cdr-rollup not found (set CDR_BIN)"
	fi
	[ -x "$bin/cdr-partition" ] && [ -x "$bin/cdr-validate" ] &&
		[ -x "$bin/cdr-rollup" ] || scaleout_die "no cdr tools in $bin"
	if [ -z "$workdir" ]; then
		workdir=$(mktemp -d "${TMPDIR:-/tmp}/cdr-scaleout.XXXXXX") ||
			scaleout_die "cannot make a work directory"
	fi
	mkdir -p "$workdir" && workdir=$(cd "$workdir" && pwd) ||
		scaleout_die "cannot make $workdir"
	rm -rf "$workdir/shards" "$workdir/partials" "$workdir/rejected" \
	    "$workdir/logs" "$workdir/merge.ok"
	mkdir -p "$workdir/shards" "$workdir/partials" "$workdir/rejected" \
	    "$workdir/logs" || scaleout_die "cannot write in $workdir"
	case $output in /*) ;; *) output=$PWD/$output ;; esac

	local validate_args=(-q -s "$schema")
	[ -n "$dedupe" ] && validate_args+=(--dedupe "$dedupe")
	[ -n "$max_error_rate" ] && validate_args+=(--max-error-rate "$max_error_rate")
	{
		echo "# written by ${0##*/} for the shard workers and the merge"
		declare -p bin shards output force
		declare -p validate_args rollup_args
		# Where the tools find their schemas, also on other hosts.
		if [ -n "${CDR_SHARE:-}" ]; then
			printf 'export CDR_SHARE=%q\n' "$(cd "$CDR_SHARE" && pwd)"
		fi
	} > "$workdir/job.conf" || scaleout_die "cannot write $workdir/job.conf"

	local part_args=(-q --by-hash "$key" --shards "$shards" -d "$workdir/shards"
		--dead-letter "$workdir/rejected/partition.ndjson"
		-o "$workdir/shards.manifest.ndjson")
	[ -n "$max_error_rate" ] && part_args+=(--max-error-rate "$max_error_rate")
	"$bin/cdr-partition" "${part_args[@]}" "${inputs[@]}" \
	    2> "$workdir/logs/partition.log" || {
		local st=$?
		cat "$workdir/logs/partition.log" >&2
		scaleout_die "cdr-partition failed (status $st); see $workdir" 3
	}
}

scaleout_cleanup() {
	[ "$keep" -eq 1 ] || rm -rf "$workdir"
}
