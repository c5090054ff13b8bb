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

@test "demo: runs the nightly, real-time and recordings pipelines, and every record and recording is accounted for" {
	local d=$BATS_TEST_TMPDIR/demo
	run env CDR_DEMO_DIR="$d" "$BATS_TEST_DIRNAME/../share/pipelines/demo.sh"
	assert_success
	assert_output --partial '== the nightly batch'
	assert_output --partial '== the real-time desk'
	assert_output --partial '== the recordings job'

	# nightly.sh: done, all 20000 calls read, the CSV parts and each
	# grain's rollup hold every valid call.
	local n=$d/nightly written
	[ -f "$n/DONE" ] || fail "nightly.sh did not finish"
	jq -e '.read == 20000 and .read == .written + .rejected + .duplicates' "$n/validate.stats.json"
	written=$(jq .written "$n/validate.stats.json")
	assert_equal "$(jq '.entries | length' "$n/csv/manifest.json")" 2
	assert_equal "$(zcat "$n"/csv/calls.*.csv.gz | grep -vc '^call_id,')" "$written"
	local g
	for g in hourly daily weekly monthly; do
		assert_equal "$(jq -s 'map(.count) | add' "$n/rollups/$g.ndjson")" "$written"
	done

	# realtime.sh: each agent event is in a window or in the late file.
	local events late
	events=$(jq -s 'map(.events) | add' "$d/desk/windows.ndjson")
	late=$(wc -l < "$d/desk/late.ndjson")
	assert_equal $((events + late)) 5000
	assert_equal "$(jq .read "$d/desk/stats.json")" 5000
	run jq -r 'select(.grain != "5s" or .OrgName == null) | .window_start' "$d/desk/windows.ndjson"
	assert_output ''

	# recordings.sh: one finished run whose every action is done.
	local lc=$d/lifecycle run
	run find "$lc/tier-runs" -mindepth 1 -maxdepth 1 -type d
	assert_equal "${#lines[@]}" 1
	run=${lines[0]}
	[ -f "$run/DONE" ] || fail "recordings.sh did not finish"
	assert_equal "$(jq -r .result "$run/applied.ndjson" | sort -u)" done
	assert_equal "$(wc -l < "$run/applied.ndjson")" \
	    "$(jq -r 'select(.action != "keep") | .path' "$run/plan.ndjson" | wc -l)"
	# Two years of 40 recordings under the example policy: some of each
	# action but expiry (after six years).
	for a in keep resample move archive; do
		run jq -r "select(.action == \"$a\") | .path" "$run/plan.ndjson"
		[ "${#lines[@]}" -gt 0 ] || fail "no $a in the plan"
	done
	# Every generated recording is still somewhere exactly once: in hot,
	# in cold, or a member of a day archive (listed by GNU tar, not by
	# cdr-tier).
	local keys
	keys=$( {
		(cd "$lc/recordings/hot" && find . -name '*.wav' | sed 's|^\./||')
		(cd "$lc/recordings/cold" && find . -name '*.wav' | sed 's|^\./||')
		for a in "$lc"/recordings/archive/*.tar.zst; do tar --zstd -tf "$a"; done
	} | sort)
	assert_equal "$keys" "$(jq -r .key "$lc/recordings.ndjson" | sort)"
	# The planned resamples are A-law now; the cost covers what is left.
	local p
	for p in $(jq -r 'select(.action == "resample") | .path' "$run/plan.ndjson"); do
		assert_equal "$(jq -r --arg p "$p" 'select(.path == $p) | .format' "$run/inventory.after.ndjson")" alaw
	done
	run grep -c '^total,' "$run/cost.csv"
	assert_output 1
}
