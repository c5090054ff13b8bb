#!/usr/bin/env bash
# The recordings job: call recordings through their life cycle with
# cdr-tier, one run a day:
#   scan    inventory of the tier directories (size, call date, WAV format)
#   plan    one action per recording by the policy's age rules (resample to
#           A-law, move to the cold tier, archive a call day, expire)
#   apply   the plan, with a write-ahead journal: a crash or kill -9 is
#           finished by the next run, nothing lost or duplicated
#   cost    a rescan priced by the policy's tiers (what storage costs now)
#
#   recordings.sh -p POLICY [OPTION]... TIERDIR...
#     -p, --policy FILE     the cdr-tier policy (see share/policies/tier-example.json);
#                           its directories are relative to -C
#     -C, --directory DIR   run in DIR (default: the current directory)
#     -r, --runs DIR        where each run keeps its files (default: tier-runs,
#                           relative to -C)
#     --now YYYY-MM-DD      the day ages are counted to (default: today, UTC)
#     -n, --dry-run         plan and print what apply would do; change nothing
#   TIERDIR: the tier directories to scan, e.g. recordings/hot recordings/cold
#   (the tier of each is its last component, as in the policy); one that
#   does not exist yet (the cold tier before the first move) is left out.
#   Environment: CDR_BIN (the tools; default: PATH).
#
# Each run gets RUNS/YYYYMMDDTHHMMSSZ/ (.1, .2 for more in a second) with inventory.ndjson, plan.ndjson,
# journal, applied.ndjson (one result per action), inventory.after.ndjson,
# cost.csv and DONE when all succeeded (a dry run: RUNS/...-dry-run/ with the
# plan and applied.ndjson).  A run left without DONE (crash, kill, full disk)
# has its plan applied again, with its own journal, before the next scan:
# every step of cdr-tier apply can be repeated.  Messages go to stderr, one
# line a step: recordings.cron sends them to a log.  Exit status: 0 done;
# otherwise that of the first step that failed (1 failed actions or refused
# plan lines, 2 usage, 3 I/O), so that cron mail and monitoring see it.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "recordings.sh: $1" >&2; exit "${2:-2}"; }

policy='' dir=. runs=tier-runs now='' dry_run=0
tiers=()
while [ $# -gt 0 ]; do
	case $1 in
	-p|--policy) policy=${2?}; shift ;;
	-C|--directory) dir=${2?}; shift ;;
	-r|--runs) runs=${2?}; shift ;;
	--now) now=${2?}; shift ;;
	-n|--dry-run) dry_run=1 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; tiers+=("$@"); break ;;
	-?*) usage >&2; exit 2 ;;
	*) tiers+=("$1") ;;
	esac
	shift
done
[ -n "$policy" ] || die "-p POLICY is required"
[ ${#tiers[@]} -gt 0 ] || die "no tier directories to scan"
# The policy and CDR_BIN as given, before the cd.
policy=$(cd "$(dirname "$policy")" 2>/dev/null && pwd)/$(basename "$policy") ||
	die "$policy: no such directory" 3
[ -f "$policy" ] || die "$policy: no such file" 3
if [ -n "${CDR_BIN:-}" ]; then
	PATH=$(cd "$CDR_BIN" && pwd):$PATH
fi
command -v cdr-tier >/dev/null || die "cdr-tier not found (set CDR_BIN)" 3
cd "$dir" || die "$dir: cannot change to it" 3

step() { echo "recordings.sh: $(date -u +%FT%TZ) $*" >&2; }

mkdir -p "$runs" || die "cannot make $runs" 3
plan_args=(-p "$policy")
[ -n "$now" ] && plan_args+=(--now "$now")

# existing: the tier directories that exist (the cold one appears with the
# first move).
existing() {
	local t
	for t in "${tiers[@]}"; do
		[ -d "$t" ] && printf '%s\n' "$t"
	done
	return 0
}

if [ "$dry_run" -eq 1 ]; then
	run=$runs/$(date -u +%Y%m%dT%H%M%SZ)-dry-run
	mkdir -p "$run"
	mapfile -t scan < <(existing)
	[ ${#scan[@]} -gt 0 ] || die "none of ${tiers[*]} is a directory (in $PWD)" 3
	step "scan ${scan[*]} (dry run)"
	cdr-tier scan -q -f -o "$run/inventory.ndjson" "${scan[@]}"
	cdr-tier plan "${plan_args[@]}" -f -o "$run/plan.ndjson" "$run/inventory.ndjson"
	cdr-tier apply --dry-run "$run/plan.ndjson" > "$run/applied.ndjson"
	touch "$run/DONE"
	step "dry run done: $run/applied.ndjson"
	exit 0
fi

# Finish what an interrupted run started, oldest first.
for old in "$runs"/*/; do
	old=${old%/}
	[ -f "$old/plan.ndjson" ] && [ ! -e "$old/DONE" ] || continue
	case $old in *-dry-run) continue ;; esac
	step "finishing the interrupted run $old"
	cdr-tier apply -j "$old/journal" "$old/plan.ndjson" >> "$old/applied.ndjson"
	touch "$old/DONE"
done

run=$runs/$(date -u +%Y%m%dT%H%M%SZ)
i=1
while ! mkdir "$run" 2>/dev/null; do
	[ -d "$runs" ] && [ $i -lt 100 ] || die "cannot make $run" 3
	run=${run%.*}.$i
	i=$((i + 1))
done

mapfile -t scan < <(existing)
[ ${#scan[@]} -gt 0 ] || die "none of ${tiers[*]} is a directory (in $PWD)" 3

step "scan ${scan[*]}"
cdr-tier scan -o "$run/inventory.ndjson" "${scan[@]}"

step "plan ($policy${now:+, now $now})"
cdr-tier plan "${plan_args[@]}" -o "$run/plan.ndjson" "$run/inventory.ndjson"
for a in keep resample move archive expire; do
	printf '%s %s, ' "$(grep -c "\"action\":\"$a\"" "$run/plan.ndjson" || true)" "$a"
done | sed 's/, $//;s/^/recordings.sh:   planned: /' >&2
echo >&2

step "apply (journal $run/journal)"
cdr-tier apply -j "$run/journal" "$run/plan.ndjson" > "$run/applied.ndjson"

step "cost of what the tiers hold now"
mapfile -t scan < <(existing)
cdr-tier scan -q -o "$run/inventory.after.ndjson" "${scan[@]}"
cdr-tier cost --inventory "$run/inventory.after.ndjson" -p "$policy" \
	--format csv > "$run/cost.csv"

touch "$run/DONE"
step "done: $run"
