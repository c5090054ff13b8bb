#!/usr/bin/env bats
# make demo: the README's first command works and leaves what it says.

load helpers/common

@test "demo: runs every stage on generated data and conserves the calls" {
	run env CDR_DEMO_DIR="$BATS_TEST_TMPDIR/demo" "$BATS_TEST_DIRNAME/../share/pipelines/demo.sh"
	assert_success
	assert_output --partial '== done: outputs are in'
	local d=$BATS_TEST_TMPDIR/demo
	# every generated call is valid or rejected
	[ "$(jq -s 'length' "$d/calls.valid.ndjson")" -eq "$(jq -r .written "$d/calls.stats.json")" ]
	jq -e '.read == 20000 and .read == .written + .rejected + .duplicates' "$d/calls.stats.json"
	# the rejected ones are exactly those cdr-gen says it broke
	[ "$(wc -l < "$d/calls.rejected.ndjson")" -eq "$(wc -l < "$d/raw/calls.truth.ndjson")" ]
	# daily rollup rows add up to the valid calls
	[ "$(jq -s '[.[] | select(.grain == "1d") | .calls] | add' "$d/calls.rollup.ndjson")" -eq \
	  "$(jq -r .written "$d/calls.stats.json")" ]
	# the partition tree and the CSV parts hold every valid call
	[ "$(jq -s '[.[].records] | add' "$d/by-tenant.manifest.ndjson")" -eq "$(jq -r .written "$d/calls.stats.json")" ]
	[ "$(zcat "$d"/csv/calls.*.csv.gz | grep -vc '^call_id,')" -eq "$(jq -r .written "$d/calls.stats.json")" ]
	# recordings became A-law
	[ "$(jq -r .status "$d/recordings.resampled.ndjson" | sort -u)" = converted ]
}
