#!/usr/bin/env bash
# make demo: a day of synthetic data for a few tenants through the tools
# that exist, then through the nightly, real-time and recordings pipelines
# of share/pipelines, printing where each output is.
#   CDR_BIN       directory of the built tools (default: build/bin)
#   CDR_DEMO_DIR  where to write (default: build/demo)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${CDR_BIN:-$top/build/bin}
out=${CDR_DEMO_DIR:-$top/build/demo}
export CDR_SHARE=${CDR_SHARE:-$top/share}
PATH=$bin:$PATH

has() { [ -x "$bin/$1" ]; }
say() { printf '%s\n' "$*"; }

rm -rf "$out"
mkdir -p "$out/raw"

say "== generating one day for 5 tenants (seed 7) in $out/raw"
cdr-gen calls -n 20000 --tenants 5 --error-rate 1% --seed 7 \
	--truth "$out/raw/calls.truth.ndjson" -o "$out/raw/calls.ndjson"
cdr-gen sms -n 5000 --tenants 5 --seed 7 -o "$out/raw/sms.ndjson"
cdr-gen agent-states -n 5000 --tenants 5 --seed 7 -o "$out/raw/agent-states.ndjson"
cdr-gen orgs --tenants 5 --seed 7 -o "$out/raw/orgs.ndjson"
cdr-gen wav -n 3 --duration 10s --seed 7 -d "$out/raw/recordings" > "$out/raw/recordings.ndjson"
wc -l "$out"/raw/*.ndjson | sed 's/^/   /'

if has cdr-validate; then
	say "== validating calls against the 'call' schema"
	cdr-validate -s call --normalize --dedupe call_id \
		--dead-letter "$out/calls.rejected.ndjson" \
		--stats "$out/calls.stats.json" --max-error-rate 5% \
		-o "$out/calls.valid.ndjson" "$out/raw/calls.ndjson"
	say "   valid:    $out/calls.valid.ndjson"
	say "   rejected: $out/calls.rejected.ndjson ($(wc -l < "$out/calls.rejected.ndjson") records, reasons in $out/calls.stats.json)"
fi

if has cdr-partition && has cdr-validate; then
	say "== partitioning valid calls by tenant and day"
	cdr-partition --by '{tenant_id}/{start_time:%Y/%m/%d}/calls.ndjson' \
		-d "$out/by-tenant" "$out/calls.valid.ndjson" > "$out/by-tenant.manifest.ndjson"
	say "   tree:     $out/by-tenant ($(find "$out/by-tenant" -type f | wc -l) files, manifest $out/by-tenant.manifest.ndjson)"
fi

if has cdr-tocsv && has cdr-validate; then
	say "== warehouse CSV, split in 2 gzip files with a COPY manifest"
	mkdir -p "$out/csv"
	cdr-tocsv --dialect postgres --split 2 -o "$out/csv/calls" \
		--manifest "$out/csv/calls.manifest.json" --url-prefix s3://demo-bucket/calls/ \
		"$out/calls.valid.ndjson"
	say "   files:    $(ls "$out"/csv | tr '\n' ' ')"
fi

if has cdr-rollup && has cdr-validate; then
	say "== hourly and daily rollups per tenant (America/New_York calendar)"
	cdr-rollup --every 1h,1d --tz America/New_York --by tenant_id \
		--agg 'calls=count,asr,acd,talk=sum(billsec),p95_wait=p95(duration_s)' \
		-o "$out/calls.rollup.ndjson" "$out/calls.valid.ndjson"
	say "   rollups:  $out/calls.rollup.ndjson ($(wc -l < "$out/calls.rollup.ndjson") rows)"
	say "== 5-second agent windows joined with the organisation dimension"
	cdr-rollup --every 5s --time EventTime --by OrgID,OrgName,WorkMode \
		--dim "$out/raw/orgs.ndjson" --on OrgID --dim-version Version \
		--agg 'events=count,agents=distinct(AgentId),max_wait=max(WaitingTime)' \
		-o "$out/agents.5s.ndjson" "$out/raw/agent-states.ndjson"
	say "   windows:  $out/agents.5s.ndjson ($(wc -l < "$out/agents.5s.ndjson") rows)"
fi

if has cdr-resample; then
	say "== recordings to 8 kHz mono A-law, in place"
	cdr-resample --in-place -q "$out"/raw/recordings/connect/*/CallRecordings/*/*/*/*.wav > "$out/recordings.resampled.ndjson"
	say "   results:  $out/recordings.resampled.ndjson"
fi

if has cdr-validate && has cdr-partition && has cdr-tocsv && has cdr-rollup; then
	say "== the nightly batch (share/pipelines/nightly.sh) over the same day"
	CDR_BIN=$bin "$here/nightly.sh" -d "$out/nightly" --split 2 --max-error-rate 5% \
		--url-prefix s3://demo-bucket/nightly/ "$out/raw/calls.ndjson" 2> "$out/nightly.log"
	say "   batch:    $out/nightly (DONE, CSV parts, rollups/*.ndjson; log $out/nightly.log)"
fi

if has cdr-rollup; then
	say "== the real-time desk (share/pipelines/realtime.sh) over the agent states"
	mkdir -p "$out/desk"
	CDR_BIN=$bin "$here/realtime.sh" --orgs "$out/raw/orgs.ndjson" \
		-o "$out/desk/windows.ndjson" --late "$out/desk/late.ndjson" \
		--stats "$out/desk/stats.json" "$out/raw/agent-states.ndjson"
	say "   windows:  $out/desk/windows.ndjson ($(wc -l < "$out/desk/windows.ndjson") rows, late events in $out/desk/late.ndjson)"
fi

if has cdr-tier && has cdr-resample; then
	say "== the recordings job (share/pipelines/recordings.sh): two years of recordings, tier-example policy"
	lc=$out/lifecycle
	mkdir -p "$lc"
	cdr-gen wav -n 40 --duration 5s --start 2024-11-23T00:00:00Z --days 730 --seed 7 \
		-d "$lc/recordings/hot" > "$lc/recordings.ndjson"
	CDR_BIN=$bin "$here/recordings.sh" -C "$lc" -p "$here/../policies/tier-example.json" \
		--now 2026-11-23 recordings/hot recordings/cold 2> "$lc/recordings.log"
	say "   runs:     $lc/tier-runs (plan, results, cost.csv; log $lc/recordings.log)"
	say "   tiers:    $(find "$lc/recordings/hot" -name '*.wav' | wc -l) hot, $(find "$lc/recordings/cold" -name '*.wav' | wc -l) cold, $(find "$lc/recordings/archive" -name '*.tar.zst' | wc -l) day archives"
fi

say "== done: outputs are in $out"
