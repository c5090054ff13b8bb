#!/usr/bin/env bats
# Scale-out and pipeline scripts of share/pipelines, run for real: GNU
# parallel locally and over ssh to a throwaway sshd on 127.0.0.1, a
# throwaway single-node Slurm cluster (slurmctld, slurmd, munged started
# here without systemd, loopback only), the nightly batch and the real-time
# desk.  The oracle of a sharded run is the single-process
# pipeline cdr-validate | cdr-rollup over the same input: the merged result
# must equal it byte for byte, for any number of shards.

load helpers/common
load helpers/slurm
load helpers/sshd

AGGS='count,sum(duration_s),sum(billsec),asr,acd,p95(duration_s),agents,min(start_time),max(end_time)'

setup_file() {
	export SCALEOUT=$CDR_SHARE/pipelines/scaleout
	export DATA=$BATS_FILE_TMPDIR/data
	mkdir -p "$DATA"
	"$CDR_BIN/cdr-gen" calls -n 20000 --seed 85 -o "$DATA/calls.ndjson"
	# The single-process oracle.
	"$CDR_BIN/cdr-validate" -q -s call --dedupe call_id "$DATA/calls.ndjson" |
		"$CDR_BIN/cdr-rollup" -q --every 1h,1d --by tenant_id,call_type \
		    --agg "$AGGS" > "$DATA/single.ndjson"
	# The same records and one that the call schema rejects: the shard
	# that gets it fails (no error budget), the others succeed.
	{
		head -n 2000 "$DATA/calls.ndjson"
		echo '{"call_id":"bad-shard-record","tenant_id":"t0001","call_type":"inbound","start_time":"not a time","duration_s":"abc"}'
	} > "$DATA/one-bad.ndjson"
	SLURM_START_ERROR=
	slurm_start 2> "$BATS_FILE_TMPDIR/slurm-start.log" ||
		SLURM_START_ERROR=$(cat "$BATS_FILE_TMPDIR/slurm-start.log")
	export SLURM_START_ERROR
	SSHD_START_ERROR=
	sshd_start 2> "$BATS_FILE_TMPDIR/sshd-start.log" ||
		SSHD_START_ERROR="$(cat "$BATS_FILE_TMPDIR/sshd-start.log") "
	export SSHD_START_ERROR
}

teardown_file() {
	slurm_stop
	sshd_stop
}

# rollup_args: the per-shard cdr-rollup options matching the oracle.
rollup_args=(--every 1h,1d --by tenant_id,call_type --agg "$AGGS")

need_slurm() {
	[ -z "$SLURM_START_ERROR" ] || fail "the test cluster did not start: $SLURM_START_ERROR"
	[ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ] || fail "no SLURM_CONF"
}

@test "scaleout: the oracle has rows for every grain" {
	run jq -r .grain "$DATA/single.ndjson"
	assert_success
	assert_line 1h
	assert_line 1d
	# Every valid record is counted once per grain.
	run jq -s '[.[] | select(.grain == "1d") | .count] | add' "$DATA/single.ndjson"
	assert_output 20000
}

@test "run-parallel.sh: merged result equals the single-process run for 1, 4 and 7 shards" {
	local n out
	for n in 1 4 7; do
		out=$BATS_TEST_TMPDIR/merged-$n.ndjson
		run "$SCALEOUT/run-parallel.sh" -n "$n" -j 2 -o "$out" \
		    -w "$BATS_TEST_TMPDIR/work-$n" --keep --dedupe call_id \
		    "$DATA/calls.ndjson" -- "${rollup_args[@]}"
		assert_success
		assert_file_equal "$DATA/single.ndjson" "$out"
		# The partition wrote every shard and lost no record.
		run jq -s 'length, (map(.records) | add)' \
		    "$BATS_TEST_TMPDIR/work-$n/shards.manifest.ndjson"
		assert_output "$n"$'\n'20000
		run find "$BATS_TEST_TMPDIR/work-$n/partials" -name '*.partial.ndjson'
		assert_equal "${#lines[@]}" "$n"
	done
}

@test "run-parallel.sh: --sshlogin is passed to parallel (':' is this host), work dir removed" {
	local out=$BATS_TEST_TMPDIR/merged.ndjson
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
	run "$SCALEOUT/run-parallel.sh" -n 5 -S 2/: -o "$out" \
	    "$DATA/calls.ndjson" -- "${rollup_args[@]}"
	assert_success
	assert_file_equal "$DATA/single.ndjson" "$out"
	run find "$TMPDIR" -mindepth 1
	assert_output ''
}

@test "run-parallel.sh: --sshlogin to a real sshd on 127.0.0.1: every shard runs over ssh, same result" {
	[ -z "$SSHD_START_ERROR" ] || fail "the test sshd did not start: $SSHD_START_ERROR"
	local out=$BATS_TEST_TMPDIR/merged.ndjson work=$BATS_TEST_TMPDIR/work
	local before
	before=$(grep -c 'Accepted publickey' "$SSHD_DIR/sshd.log" || true)
	run "$SCALEOUT/run-parallel.sh" -n 4 -S "2/$SSHD_LOGIN" -o "$out" -w "$work" \
	    --keep --dedupe call_id "$DATA/calls.ndjson" -- "${rollup_args[@]}"
	assert_success
	assert_file_equal "$DATA/single.ndjson" "$out"
	# The joblog names the host of each shard: the ssh login, never ':'.
	run awk -F '\t' 'NR > 1 { print $2 "|" $7 }' "$work/logs/parallel.joblog"
	assert_equal "${#lines[@]}" 4
	local l
	for l in "${lines[@]}"; do
		assert_equal "$l" "$SSHD_LOGIN|0"
	done
	# and sshd let them in with the client key.
	local after
	after=$(grep -c 'Accepted publickey' "$SSHD_DIR/sshd.log")
	[ "$after" -ge $((before + 4)) ] || fail "sshd accepted $((after - before)) logins"
}

@test "run-parallel.sh: a failing shard fails the run, with no merged output" {
	local out=$BATS_TEST_TMPDIR/merged.ndjson work=$BATS_TEST_TMPDIR/work
	run "$SCALEOUT/run-parallel.sh" -n 4 -j 2 -o "$out" -w "$work" \
	    "$DATA/one-bad.ndjson" -- "${rollup_args[@]}"
	assert_failure 1
	assert_output --partial 'a shard failed'
	[ ! -e "$out" ] || fail "merged output written after a failed shard"
	[ ! -e "$work/merge.ok" ] || fail "merge ran after a failed shard"
	# The bad record is in the failing shard's dead letter, and that shard
	# committed no partial.
	run grep -l bad-shard-record "$work"/rejected/part-*.ndjson
	assert_success
	local shard=${output##*/}
	[ ! -e "$work/partials/${shard%.ndjson}.partial.ndjson" ] ||
		fail "the failed shard left a partial"
	no_temp_files "$work"
}

@test "run-parallel.sh: usage errors" {
	run "$SCALEOUT/run-parallel.sh" --help
	assert_success
	assert_output --partial '--sshlogin'
	run "$SCALEOUT/run-parallel.sh" -o x "$DATA/calls.ndjson"
	assert_failure 2
	run "$SCALEOUT/run-parallel.sh" -n 2 --no-such-option -o x
	assert_failure 2
	touch "$BATS_TEST_TMPDIR/exists"
	run "$SCALEOUT/run-parallel.sh" -n 2 -o "$BATS_TEST_TMPDIR/exists" "$DATA/calls.ndjson"
	assert_failure 2
	assert_output --partial 'exists'
}

@test "slurm test cluster: controller and node listen on 127.0.0.1 only" {
	need_slurm
	local port hex addrs
	for port in $(sed -n 's/^Slurm\(ctld\|d\)Port=//p' "$SLURM_CONF"); do
		hex=$(printf '%04X' "$port")
		# Listening sockets (state 0A) on that port, by local address.
		addrs=$(awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $2 }' \
		    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)
		assert_equal "$addrs" "0100007F:$hex"
	done
	run srun -N1 -t 1 true
	assert_success
}

@test "run-slurm.sh: job array + afterok merge equals the single-process run" {
	need_slurm
	local out=$BATS_TEST_TMPDIR/merged.ndjson work=$BATS_TEST_TMPDIR/work
	run "$SCALEOUT/run-slurm.sh" -n 4 -o "$out" -w "$work" --keep --dedupe call_id \
	    "$DATA/calls.ndjson" -- "${rollup_args[@]}"
	assert_success
	assert_file_equal "$DATA/single.ndjson" "$out"
	[ -f "$work/merge.ok" ] || fail "no merge.ok"
	run squeue -h
	assert_success
	assert_output ''
}

@test "run-slurm.sh: a failing shard cancels the merge: non-zero, no merged output" {
	need_slurm
	local out=$BATS_TEST_TMPDIR/merged.ndjson work=$BATS_TEST_TMPDIR/work
	run "$SCALEOUT/run-slurm.sh" -n 4 -o "$out" -w "$work" \
	    "$DATA/one-bad.ndjson" -- "${rollup_args[@]}"
	assert_failure 1
	assert_output --partial 'no merge output'
	[ ! -e "$out" ] || fail "merged output written after a failed shard"
	[ ! -e "$work/merge.ok" ] || fail "merge ran after a failed shard"
	# Nothing left pending in the queue (--kill-on-invalid-dep=yes).
	run squeue -h
	assert_success
	assert_output ''
}

@test "nightly.sh: every record is accounted for in the tree, the CSV parts and the rollups" {
	local d=$BATS_TEST_TMPDIR/night
	"$CDR_BIN/cdr-gen" calls -n 3000 --tenants 3 --days 2 --error-rate 1% \
	    --duplicate-rate 1% --seed 86 -o "$BATS_TEST_TMPDIR/raw.ndjson"
	run "$CDR_SHARE/pipelines/nightly.sh" -d "$d" --split 3 \
	    --url-prefix s3://test-bucket/calls/ "$BATS_TEST_TMPDIR/raw.ndjson"
	assert_success
	[ -f "$d/DONE" ] || fail "no DONE"
	local read written rejected dups
	read=$(jq .read "$d/validate.stats.json")
	written=$(jq .written "$d/validate.stats.json")
	rejected=$(jq .rejected "$d/validate.stats.json")
	dups=$(jq .duplicates "$d/validate.stats.json")
	assert_equal "$read" 3030
	assert_equal $((written + rejected + dups)) "$read"
	[ "$rejected" -gt 0 ] && [ "$dups" -gt 0 ] || fail "expected rejects and duplicates"
	assert_equal "$(wc -l < "$d/rejected.ndjson")" "$rejected"
	assert_equal "$(wc -l < "$d/valid.ndjson")" "$written"

	# Tenant/day tree: 3 tenants x 2 days, the manifest adds up.
	run jq -s 'length, (map(.records) | add)' "$d/by-tenant.manifest.ndjson"
	assert_output "6"$'\n'"$written"
	assert_equal "$(cat "$d"/by-tenant/*/*/*/*/calls.ndjson | wc -l)" "$written"
	run find "$d/by-tenant" -path '*/2026/11/2[23]/calls.ndjson'
	assert_equal "${#lines[@]}" 6

	# CSV parts: 3 gzip files, each with its header, rows = valid records,
	# the manifest lists each part with its size.
	run python3 -c '
import csv, gzip, io, sys
rows = 0
for f in sys.argv[1:]:
    r = list(csv.reader(io.TextIOWrapper(gzip.open(f), encoding="utf-8", newline="")))
    assert r[0][0] == "call_id", r[0]
    rows += len(r) - 1
print(rows)' "$d"/csv/calls.*.csv.gz
	assert_success
	assert_output "$written"
	run jq -r '.entries[] | "\(.url) \(.meta.content_length) \(.mandatory)"' "$d/csv/manifest.json"
	assert_equal "${#lines[@]}" 3
	local line url size mandatory
	for line in "${lines[@]}"; do
		read -r url size mandatory <<< "$line"
		[[ $url == s3://test-bucket/calls/calls.000[0-2].csv.gz ]] || fail "manifest url $url"
		assert_equal "$size" "$(stat -c %s "$d/csv/${url##*/}")"
		assert_equal "$mandatory" true
	done

	# Rollups: each grain counts every valid record once.
	for g in hourly daily weekly monthly; do
		run jq -s 'map(.count) | add' "$d/rollups/$g.ndjson"
		assert_output "$written"
	done
	run jq -r '.grain' "$d/rollups/monthly.ndjson"
	assert_line 1mo
	refute_line 1h
	no_temp_files "$d"
}

@test "nightly.sh: too many rejects fail the run (status 1), no DONE" {
	local d=$BATS_TEST_TMPDIR/night
	"$CDR_BIN/cdr-gen" calls -n 500 --tenants 2 --error-rate 5% --seed 87 \
	    -o "$BATS_TEST_TMPDIR/raw.ndjson"
	run "$CDR_SHARE/pipelines/nightly.sh" -d "$d" --max-error-rate 0 \
	    "$BATS_TEST_TMPDIR/raw.ndjson"
	assert_failure 1
	[ ! -e "$d/DONE" ] || fail "DONE after a failure"
	[ -s "$d/rejected.ndjson" ] || fail "no dead letters"
	run "$CDR_SHARE/pipelines/nightly.sh" "$BATS_TEST_TMPDIR/raw.ndjson"
	assert_failure 2
}

@test "realtime.sh: 5 s windows joined with the org dimension; windows + late = events" {
	local d=$BATS_TEST_TMPDIR/desk
	mkdir -p "$d"
	"$CDR_BIN/cdr-gen" agent-states -n 2000 --tenants 3 --span 10m --seed 88 \
	    -o "$d/states.ndjson"
	"$CDR_BIN/cdr-gen" orgs --tenants 3 --seed 88 -o "$d/orgs.ndjson"
	run "$CDR_SHARE/pipelines/realtime.sh" --orgs "$d/orgs.ndjson" \
	    -o "$d/windows.ndjson" --late "$d/late.ndjson" --stats "$d/stats.json" \
	    "$d/states.ndjson"
	assert_success
	local events late
	events=$(jq -s 'map(.events) | add' "$d/windows.ndjson")
	late=$(wc -l < "$d/late.ndjson")
	assert_equal $((events + late)) 2000
	assert_equal "$(jq .read "$d/stats.json")" 2000
	assert_equal "$(jq .late "$d/stats.json")" "$late"
	# Every late record says why.
	if [ "$late" -gt 0 ]; then
		run jq -r 'select(.errors[0].check != "late") | .line' "$d/late.ndjson"
		assert_success
		assert_output ''
	fi
	# 5-second windows, one row per window and org.
	run jq -r 'select((.window_end | fromdateiso8601) - (.window_start | fromdateiso8601) != 5 or .grain != "5s") | .window_start' "$d/windows.ndjson"
	assert_success
	assert_output ''
	run jq -r '"\(.window_start) \(.OrgID)"' "$d/windows.ndjson"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort | uniq -d)" ''
	# The join takes each org's latest version (independently from jq).
	local expect
	expect=$(jq -s -r 'group_by(.OrgID) | map(max_by(.Version)) | .[] | "\(.OrgID)\t\(.OrgName)\t\(.Region)"' "$d/orgs.ndjson")
	run jq -r '"\(.OrgID)\t\(.OrgName)\t\(.Region)"' "$d/windows.ndjson"
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u)" "$(printf '%s\n' "$expect" | sort -u)"
}

@test "realtime.sh: events from a pipe, default late file beside the output" {
	local d=$BATS_TEST_TMPDIR/desk
	mkdir -p "$d"
	"$CDR_BIN/cdr-gen" agent-states -n 300 --tenants 2 --span 2m --seed 89 \
	    -o "$d/states.ndjson"
	"$CDR_BIN/cdr-gen" orgs --tenants 2 --seed 89 -o "$d/orgs.ndjson"
	run bash -c '"$1" --orgs "$2" -o "$3" < "$4"' _ \
	    "$CDR_SHARE/pipelines/realtime.sh" "$d/orgs.ndjson" "$d/windows.ndjson" \
	    "$d/states.ndjson"
	assert_success
	local events late
	events=$(jq -s 'map(.events) | add' "$d/windows.ndjson")
	late=$(cat "$d"/late-*.ndjson 2>/dev/null | wc -l)
	assert_equal $((events + late)) 300
	run "$CDR_SHARE/pipelines/realtime.sh" "$d/states.ndjson"
	assert_failure 2
}

@test "recordings.sh: dry run changes nothing; an interrupted run is finished first; every recording stays exactly once" {
	local lc=$BATS_TEST_TMPDIR/lc policy=$CDR_SHARE/policies/tier-example.json
	mkdir -p "$lc"
	"$CDR_BIN/cdr-gen" wav -n 16 --duration 2s --start 2024-12-01T00:00:00Z --days 720 \
	    --seed 97 -d "$lc/recordings/hot" > "$BATS_TEST_TMPDIR/gen.ndjson"
	local before
	before=$(cd "$lc" && find recordings -type f -exec sha256sum {} + | sort)

	# A dry run plans and lists, and changes nothing.
	run "$CDR_SHARE/pipelines/recordings.sh" -C "$lc" -p "$policy" --now 2026-11-23 \
	    -n recordings/hot recordings/cold
	assert_success
	assert_equal "$(cd "$lc" && find recordings -type f -exec sha256sum {} + | sort)" "$before"
	assert_equal "$(jq -r .result "$lc"/tier-runs/*-dry-run/applied.ndjson | sort -u)" dry-run

	# A run that died after three actions: its plan, a journal, no DONE.
	local old=$lc/tier-runs/20261122T031500Z
	mkdir -p "$old"
	(cd "$lc" && "$CDR_BIN/cdr-tier" scan -q recordings/hot > "$old/inventory.ndjson" &&
	    "$CDR_BIN/cdr-tier" plan -p "$policy" --now 2026-11-22 "$old/inventory.ndjson" > "$old/plan.ndjson" &&
	    grep -v '"action":"keep"' "$old/plan.ndjson" | head -n 3 > "$BATS_TEST_TMPDIR/first3" &&
	    "$CDR_BIN/cdr-tier" apply -q -j "$old/journal" "$BATS_TEST_TMPDIR/first3" > "$old/applied.ndjson")
	assert_equal "$(wc -l < "$old/applied.ndjson")" 3

	run "$CDR_SHARE/pipelines/recordings.sh" -C "$lc" -p "$policy" --now 2026-11-23 \
	    recordings/hot recordings/cold
	assert_success
	assert_output --partial "finishing the interrupted run tier-runs/20261122T031500Z"
	[ -f "$old/DONE" ] || fail "the interrupted run was not finished"
	# Its remaining actions ran (the first three again, as skipped or done).
	run jq -r 'select(.result == "failed") | .path' "$old/applied.ndjson"
	assert_output ''
	local new
	new=$(find "$lc/tier-runs" -mindepth 1 -maxdepth 1 -type d ! -name '*-dry-run' ! -path "$old")
	[ -f "$new/DONE" ] && [ -s "$new/cost.csv" ] || fail "no finished new run: $new"
	# The old run's plan had some of each action.
	for a in resample move archive; do
		grep -q "\"action\":\"$a\"" "$old/plan.ndjson" || fail "no $a planned"
	done
	# Every generated recording is in hot, cold or a day archive, once.
	local keys
	keys=$( {
		(cd "$lc/recordings/hot" && find . -name '*.wav' | sed 's|^\./||')
		(cd "$lc/recordings/cold" && find . -name '*.wav' | sed 's|^\./||')
		for a in "$lc"/recordings/archive/*.tar.zst; do tar --zstd -tf "$a"; done
	} | sort)
	assert_equal "$keys" "$(jq -r .key "$BATS_TEST_TMPDIR/gen.ndjson" | sort)"
	no_temp_files "$lc/recordings"
}

@test "recordings.sh: usage errors are status 2, a missing tier or policy 3" {
	local lc=$BATS_TEST_TMPDIR/lc policy=$CDR_SHARE/policies/tier-example.json
	mkdir -p "$lc"
	run "$CDR_SHARE/pipelines/recordings.sh" --help
	assert_success
	assert_output --partial 'scan'
	run "$CDR_SHARE/pipelines/recordings.sh" recordings/hot
	assert_failure 2
	run "$CDR_SHARE/pipelines/recordings.sh" -p "$policy"
	assert_failure 2
	run "$CDR_SHARE/pipelines/recordings.sh" -p "$policy" --no-such-option recordings/hot
	assert_failure 2
	run "$CDR_SHARE/pipelines/recordings.sh" -C "$lc" -p "$policy" recordings/hot
	assert_failure 3
	run "$CDR_SHARE/pipelines/recordings.sh" -C "$lc" -p "$lc/no-such-policy.json" recordings/hot
	assert_failure 3
}
