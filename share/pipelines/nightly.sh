#!/usr/bin/env bash
# The nightly batch: a day of raw call NDJSON (any compression) through
#   cdr-validate   schema check, UTC timestamps, de-duplication by call_id,
#                  rejects to a dead-letter file with reasons
#   cdr-partition  a tenant/day tree of the valid records, with a manifest
#   cdr-tocsv      warehouse CSV split in gzip parts + a Redshift COPY manifest
#   cdr-rollup     hourly, daily, weekly and monthly rollups per tenant (one
#                  pass of mergeable partials, then one merge per grain)
#
#   nightly.sh -d OUTDIR [OPTION]... FILE...
#     -d, --directory DIR   where everything goes (created; re-runs replace)
#     --tz ZONE             zone of the tree's dates and the calendar rollups (UTC)
#     --split N             CSV parts (default 4; a multiple of your slices)
#     --dialect NAME        cdr-tocsv dialect (default redshift)
#     --url-prefix URL      what the COPY manifest puts before each part
#                           (default s3://cdr-warehouse/calls/)
#     --max-error-rate R    share of rejected records tolerated (default 1%)
#   Environment: CDR_BIN (the tools; default: PATH).
#
# Output under DIR: valid.ndjson, rejected.ndjson (dead letters),
# validate.stats.json, by-tenant/TENANT/YYYY/MM/DD/calls.ndjson with
# by-tenant.manifest.ndjson, csv/calls.NNNN.csv.gz with csv/manifest.json,
# rollups/{hourly,daily,weekly,monthly}.ndjson, and DONE when all succeeded.
# Every output is committed atomically by the tools.  Messages (one line a
# step, with the tools' counts) go to stderr: the crontab in nightly.cron
# sends them to a log.  Exit status: 0 done; otherwise the status of the
# first step that failed (1 too many rejects, 2 usage, 3 I/O), so cron mail
# and monitoring see it.  See nightly.cron for the crontab.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "nightly.sh: $1" >&2; exit "${2:-2}"; }

out='' tz=UTC split=4 dialect=redshift url_prefix=s3://cdr-warehouse/calls/
max_error_rate=1%
inputs=()
while [ $# -gt 0 ]; do
	case $1 in
	-d|--directory) out=${2?}; shift ;;
	--tz) tz=${2?}; shift ;;
	--split) split=${2?}; shift ;;
	--dialect) dialect=${2?}; shift ;;
	--url-prefix) url_prefix=${2?}; shift ;;
	--max-error-rate) max_error_rate=${2?}; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; inputs+=("$@"); break ;;
	-?*) usage >&2; exit 2 ;;
	*) inputs+=("$1") ;;
	esac
	shift
done
[ -n "$out" ] || die "-d DIR is required"
[ ${#inputs[@]} -gt 0 ] || die "no input files"

if [ -n "${CDR_BIN:-}" ]; then
	PATH=$CDR_BIN:$PATH
fi
for t in cdr-validate cdr-partition cdr-tocsv cdr-rollup; do
	command -v "$t" >/dev/null || die "$t not found (set CDR_BIN)" 3
done

step() { echo "nightly.sh: $(date -u +%FT%TZ) $*" >&2; }

mkdir -p "$out/csv" "$out/rollups" || die "cannot make $out" 3
rm -f "$out/DONE"

step "validate ${inputs[*]}"
cdr-validate -f -s call --normalize --dedupe call_id \
	--dead-letter "$out/rejected.ndjson" --stats "$out/validate.stats.json" \
	--max-error-rate "$max_error_rate" -o "$out/valid.ndjson" "${inputs[@]}"

step "partition by tenant and day ($tz)"
cdr-partition -f --by '{tenant_id}/{start_time:%Y/%m/%d}/calls.ndjson' \
	--tz "$tz" -d "$out/by-tenant" -o "$out/by-tenant.manifest.ndjson" \
	"$out/valid.ndjson"

step "warehouse CSV ($dialect, $split parts)"
cdr-tocsv -f --dialect "$dialect" --split "$split" -o "$out/csv/calls" \
	--manifest "$out/csv/manifest.json" --url-prefix "$url_prefix" \
	"$out/valid.ndjson"

step "rollups (hourly, daily, weekly, monthly; $tz)"
aggs='count,sum(duration_s),sum(billsec),asr,acd,p95(duration_s),agents'
cdr-rollup -f --partial --every 1h,1d,1w,1mo --tz "$tz" \
	--by tenant_id,call_type --agg "$aggs" \
	-o "$out/rollups/partial.ndjson" "$out/valid.ndjson"
for g in hourly:1h daily:1d weekly:1w monthly:1mo; do
	cdr-rollup -q -f --merge --grain "${g#*:}" \
		-o "$out/rollups/${g%%:*}.ndjson" "$out/rollups/partial.ndjson"
done

touch "$out/DONE"
step "done: $out"
