#!/usr/bin/env bash
# The real-time desk: agent-state events into 5-second tumbling windows per
# organisation, joined with the organisation dimension (latest Version of
# each OrgID), written as NDJSON as soon as the watermark closes a window.
#
#   realtime.sh --orgs ORGS [OPTION]... [FILE]...
#     --orgs FILE             organisation dimension (cdr-gen orgs), NDJSON or CSV
#     -o, --output FILE       append the windows to FILE (default: stdout)
#     --late FILE             late and rejected events, with reasons (default:
#                             late-UTCTIME-PID.ndjson beside --output, a new
#                             file each run so that a restart keeps the old)
#     --follow FILE           read FILE as it grows (tail -F, from its end),
#                             instead of FILEs or stdin
#     --every GRAIN           window size (default 5s)
#     --watermark DURATION    out-of-orderness bound (default 4s)
#     --allowed-lateness D    re-emit windows for records this late (default 0)
#     --idle-flush DURATION   close windows of a quiet stream (default 5s)
#     --stats FILE            the counts as JSON at the end
#   Environment: CDR_BIN (the tools; default: PATH).
#
# A late record is never lost: it goes to the --late file (cdr-rollup's dead
# letter, replayable with cdr-validate --replay).  Exit status: that of
# cdr-rollup (0, also when records were late; 1 rejected records beyond its
# error budget, 2 usage, 3 I/O), or of tail.  It is a
# long-running job: realtime.cron restarts it every minute unless it is
# already running (flock).
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "realtime.sh: $1" >&2; exit "${2:-2}"; }

orgs='' output='' late='' follow='' every=5s watermark=4s lateness='' idle=5s stats=''
inputs=()
while [ $# -gt 0 ]; do
	case $1 in
	--orgs) orgs=${2?}; shift ;;
	-o|--output) output=${2?}; shift ;;
	--late) late=${2?}; shift ;;
	--follow) follow=${2?}; shift ;;
	--every) every=${2?}; shift ;;
	--watermark) watermark=${2?}; shift ;;
	--allowed-lateness) lateness=${2?}; shift ;;
	--idle-flush) idle=${2?}; shift ;;
	--stats) stats=${2?}; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; inputs+=("$@"); break ;;
	-?*) usage >&2; exit 2 ;;
	*) inputs+=("$1") ;;
	esac
	shift
done
[ -n "$orgs" ] || die "--orgs FILE is required"
[ -z "$follow" ] || [ ${#inputs[@]} -eq 0 ] || die "--follow and FILEs exclude each other"
if [ -z "$late" ] && [ -n "$output" ]; then
	late=$(dirname "$output")/late-$(date -u +%Y%m%dT%H%M%SZ)-$$.ndjson
fi
if [ -n "${CDR_BIN:-}" ]; then
	PATH=$CDR_BIN:$PATH
fi
command -v cdr-rollup >/dev/null || die "cdr-rollup not found (set CDR_BIN)" 3

args=(--every "$every" --watermark "$watermark" --idle-flush "$idle"
	--time EventTime --by OrgID
	--dim "$orgs" --on OrgID --dim-version Version --dim-fields OrgName,Region
	--agg 'events=count,agents(AgentId),max_handle(HandleTime),max_wait(WaitingTime)')
[ -n "$lateness" ] && args+=(--allowed-lateness "$lateness")
[ -n "$late" ] && args+=(--dead-letter "$late")
[ -n "$stats" ] && args+=(--stats "$stats")

run() {
	if [ -n "$output" ]; then
		cdr-rollup "${args[@]}" "$@" >> "$output"
	else
		cdr-rollup "${args[@]}" "$@"
	fi
}

if [ -n "$follow" ]; then
	# From the end of the file: a restart does not count old events twice.
	tail -n 0 -F "$follow" | run -
else
	run "${inputs[@]}"
fi
