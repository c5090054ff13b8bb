#!/usr/bin/env bats
# Faults, for every tool that writes files: /dev/full, ENOSPC part-way
# through a file, fsync and rename errors, EIO reading the input, SIGTERM,
# SIGINT and kill -9 in the middle of the output, and a real full file
# system.  Whatever happens, each output is complete or absent, no
# temporary file is left (but after kill -9), the inputs are untouched and
# the exit status says what happened (3: I/O error); a run that succeeds
# accounts for every record.
#
# The faults come from an LD_PRELOAD shim (helpers/faultinj.c) over the
# libc calls, so they reach the tools' own write(2) calls as well as those
# of libarchive and zlib; "complete" means byte for byte what a clean run
# of the same command writes.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/faults

# Every case (see run_case) writes all its files under one directory.
CASES="gen gen-wav validate partition partition-gz tocsv tocsv-split rollup
resample tier-scan tier-plan"
# Cases that commit their one file at the very end: a failed run leaves
# nothing at all.  The others commit file by file (cdr-gen wav,
# cdr-resample), or commit their files and then the manifest that says the
# batch is whole (cdr-partition, cdr-tocsv --manifest: a failed run leaves
# no manifest), or several outputs (cdr-validate): each file complete or
# absent.
ATOMIC_CASES="gen tocsv rollup tier-scan tier-plan"

setup_file() {
	build_faultinj
	cd "$BATS_FILE_TMPDIR"
	"$CDR_BIN/cdr-gen" calls -n 4000 --seed 7 --error-rate 0.02 \
	    --duplicate-rate 0.02 -o calls.ndjson
	"$CDR_BIN/cdr-validate" -q -s call --max-errors 100000 \
	    -o good.ndjson calls.ndjson
	"$CDR_BIN/cdr-gen" wav -n 3 --duration 4s --seed 3 -d hot > /dev/null
	find hot -name '*.wav' | sort > wavs
	"$CDR_BIN/cdr-tier" scan -q hot > inv.ndjson
	cp "$FIXTURES/tier/policy.json" .
	# A clean run of every case, into a directory of the same name as
	# the test runs use (manifests hold paths): the reference for
	# "complete".
	local c
	mkdir ref
	for c in $CASES; do
		mkdir -p "refs/$c/OUT.d"
		ln -s "$PWD"/{calls.ndjson,good.ndjson,hot,wavs,inv.ndjson,policy.json} "refs/$c/"
		(cd "refs/$c" && run_case "$c" OUT.d) ||
			{ echo "clean run of $c failed" >&2; return 1; }
		ln -s "../refs/$c/OUT.d" "ref/$c"
	done
	sha256sum calls.ndjson good.ndjson inv.ndjson $(cat wavs) > inputs.sha256
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	ln -s "$BATS_FILE_TMPDIR"/{calls.ndjson,good.ndjson,hot,wavs,inv.ndjson,policy.json,ref} .
}

teardown() {
	# a tool a failed test left running in the background
	if [ -n "${BG_PID:-}" ]; then
		kill -s KILL "$BG_PID" 2>/dev/null || true
	fi
	if [ -n "${SMALL_FS:-}" ] && mountpoint -q "$SMALL_FS"; then
		umount "$SMALL_FS"
	fi
}

# run_case NAME DIR: execs the command of case NAME (so call it in a
# subshell), writing all it writes under DIR, which exists; with FORCE
# set, with -f.
run_case() {
	local d=$2 f=${FORCE:+-f}
	case $1 in
	gen)
		exec "$CDR_BIN/cdr-gen" $f calls -n 3000 --seed 5 -o "$d/gen.ndjson" ;;
	gen-wav)
		exec "$CDR_BIN/cdr-gen" $f wav -n 3 --duration 4s --seed 5 -d "$d/wav" > /dev/null ;;
	validate)
		exec "$CDR_BIN/cdr-validate" $f -q -s call --max-errors 100000 \
		    --dedupe call_id --dead-letter "$d/dead.ndjson" \
		    --duplicates "$d/dups.ndjson" --stats "$d/stats.json" \
		    -o "$d/valid.ndjson" calls.ndjson ;;
	partition)
		exec "$CDR_BIN/cdr-partition" $f -q --by-hash tenant_id --shards 4 \
		    -d "$d/part" -o "$d/manifest.ndjson" good.ndjson ;;
	partition-gz)
		exec "$CDR_BIN/cdr-partition" $f -q --by '{tenant_id}/calls.ndjson' -z \
		    --threads 2 --max-records 100 -d "$d/part" good.ndjson > /dev/null ;;
	tocsv)
		exec "$CDR_BIN/cdr-tocsv" $f -q -o "$d/calls.csv" good.ndjson ;;
	tocsv-split)
		exec "$CDR_BIN/cdr-tocsv" $f -q --split 3 -j 2 -o "$d/calls" \
		    --manifest "$d/manifest.json" --url-prefix s3://bucket/ good.ndjson ;;
	rollup)
		exec "$CDR_BIN/cdr-rollup" $f -q --every 1h --by tenant_id,queue_id \
		    --agg count,acd -o "$d/rollup.ndjson" good.ndjson ;;
	resample)
		exec "$CDR_BIN/cdr-resample" $f -q --min-age 0 -j 2 -d "$d/rs" \
		    --base hot $(cat wavs) > /dev/null ;;
	tier-scan)
		exec "$CDR_BIN/cdr-tier" scan $f -q -o "$d/inventory.ndjson" hot ;;
	tier-plan)
		exec "$CDR_BIN/cdr-tier" plan $f -p policy.json --now 2027-03-01 \
		    -o "$d/plan.ndjson" inv.ndjson ;;
	*)
		echo "no case $1" >&2
		exit 4 ;;
	esac
}

# ref_bytes CASE: bytes a clean run of CASE writes to files.
ref_bytes() {
	find -L "ref/$1" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }'
}

inputs_untouched() {
	(cd "$BATS_FILE_TMPDIR" && sha256sum --quiet -c inputs.sha256) ||
		fail "an input changed"
}

# check_failed CASE: after a failed or interrupted run into OUT.d: every
# committed file complete, no temporary file, the inputs untouched; for a
# case that commits at the end, nothing committed at all.
check_failed() {
	complete_or_absent OUT.d "ref/$1"
	no_temp_files OUT.d
	inputs_untouched
	if [[ " $ATOMIC_CASES " == *" $1 "* ]]; then
		nothing_committed OUT.d
	fi
	local m=
	case $1 in
	partition) m=manifest.ndjson ;;
	tocsv-split) m=manifest.json ;;
	esac
	if [ -n "$m" ] && [ -e "OUT.d/$m" ]; then
		fail "$1: a failed run committed its manifest"
	fi
}

# fresh: an empty output directory.
fresh() {
	rm -rf OUT.d fault.log
	mkdir OUT.d
}

# ---- /dev/full ----

@test "faults: output to /dev/full, on stdout or as -o, is exit 3 with a message" {
	local cmd d n=0
	"$CDR_BIN/cdr-tier" plan -p policy.json --now 2027-03-01 inv.ndjson > plan
	while IFS= read -r cmd; do
		run --separate-stderr bash -c "$cmd > /dev/full" < /dev/null
		n=$((n + 1))
		assert_io_error 'stdout: write error: No space left on device'
		no_temp_files .
	done <<-EOF
	"$CDR_BIN/cdr-gen" calls -n 2000
	"$CDR_BIN/cdr-validate" -q -s call --max-errors 100000 calls.ndjson
	"$CDR_BIN/cdr-partition" -q --by-hash tenant_id --shards 2 -d parts good.ndjson
	"$CDR_BIN/cdr-tocsv" -q good.ndjson
	"$CDR_BIN/cdr-tocsv" -q -z good.ndjson
	"$CDR_BIN/cdr-rollup" -q --every 1h good.ndjson
	"$CDR_BIN/cdr-resample" -q --min-age 0 -d rs --base hot \$(cat wavs)
	"$CDR_BIN/cdr-tier" scan -q hot
	"$CDR_BIN/cdr-tier" plan -p policy.json --now 2027-03-01 inv.ndjson
	"$CDR_BIN/cdr-tier" apply -q -n -j j plan
	EOF
	[ "$n" -eq 10 ] || fail "$n commands run, not 10"
	[ ! -e j ] || fail "a dry run wrote a journal"
	while IFS= read -r cmd; do
		run --separate-stderr bash -c "$cmd" < /dev/null
		n=$((n + 1))
		assert_io_error '/dev/full: write error: No space left on device'
		no_temp_files .
		[ -c /dev/full ] || fail "/dev/full is no longer a device"
	done <<-EOF
	"$CDR_BIN/cdr-gen" calls -n 2000 -o /dev/full
	"$CDR_BIN/cdr-validate" -q -s call -o /dev/full good.ndjson
	"$CDR_BIN/cdr-validate" -q -s call --max-errors 100000 --dead-letter /dev/full -o v.ndjson calls.ndjson
	"$CDR_BIN/cdr-partition" -q --by-hash tenant_id --shards 2 -d parts2 -o /dev/full good.ndjson
	"$CDR_BIN/cdr-tocsv" -q -o /dev/full good.ndjson
	"$CDR_BIN/cdr-rollup" -q --every 1h -o /dev/full good.ndjson
	"$CDR_BIN/cdr-tier" plan -p policy.json --now 2027-03-01 -f -o /dev/full inv.ndjson
	EOF
	[ "$n" -eq 17 ] || fail "$n commands run, not 17"
	# the valid records of the failed run were not committed either
	[ ! -e v.ndjson ] || fail "v.ndjson committed by a run that failed"
	# shards committed before the manifest failed are complete
	for d in parts parts2; do
		cat "$d"/part-*.ndjson | sort > union
		sort good.ndjson | cmp -s - union || fail "$d: shards incomplete"
	done
	# resample stopped at its first report line: what it committed is
	# complete
	complete_or_absent rs ref/resample/rs
}

@test "faults: cdr-resample -f -o DEVICE refuses (3) and leaves the device node alone" {
	# A private node when we may make one: a bug here replaces it.
	local dev=/dev/full
	if mknod full c 1 7 2>/dev/null; then
		dev=$PWD/full
	fi
	run --separate-stderr "$CDR_BIN/cdr-resample" -q -f --min-age 0 -o "$dev" "$(head -1 wavs)"
	assert_io_error "$dev: not a regular file"
	[ -c "$dev" ] || fail "$dev was replaced by a regular file"
	no_temp_files .
	inputs_untouched
}

# ---- ENOSPC part-way ----

@test "faults: ENOSPC at the first byte, half-way and at the last byte: 3, nothing partial, no temporary file" {
	local c total at
	for c in $CASES; do
		total=$(ref_bytes "$c")
		[ "$total" -gt 1 ] || fail "$c: a clean run wrote nothing"
		for at in 0 $((total / 2)) $((total - 1)); do
			fresh
			run --separate-stderr faulty CDR_FAULT_PATH=OUT.d/ \
			    CDR_FAULT_WRITE_AFTER="$at" run_case "$c" OUT.d
			echo "# $c, ENOSPC after $at bytes"
			fault_fired write-enospc
			assert_io_error 'OUT\.d/.*No space left on device'
			check_failed "$c"
		done
	done
}

@test "faults: ENOSPC with -f over a previous output leaves the previous version whole" {
	local c f
	for c in gen validate tocsv tocsv-split rollup tier-plan; do
		fresh
		cp -a "ref/$c/." OUT.d/
		# the previous version: recognisably different bytes
		for f in $(committed_files OUT.d); do
			echo previous >> "OUT.d/$f"
		done
		rm -rf prev
		cp -a OUT.d prev
		run --separate-stderr faulty CDR_FAULT_PATH=OUT.d/ FORCE=1 \
		    CDR_FAULT_WRITE_AFTER=$(( $(ref_bytes "$c") / 2 )) \
		    run_case "$c" OUT.d
		fault_fired write-enospc
		assert_io_error 'OUT\.d/.*No space left on device'
		same_tree OUT.d prev
		no_temp_files OUT.d
	done
}

# ---- fsync and rename ----

@test "faults: fsync EIO and rename EIO/ENOSPC: 3, the file named, nothing committed" {
	local c fault
	for c in $CASES; do
		for fault in CDR_FAULT_FSYNC=1 CDR_FAULT_RENAME=EIO CDR_FAULT_RENAME=ENOSPC; do
			fresh
			run --separate-stderr faulty CDR_FAULT_PATH=OUT.d/ "$fault" \
			    run_case "$c" OUT.d
			case $fault in
			*FSYNC*)
				grep -qE '^(fsync|fdatasync|syncfs)-eio' fault.log ||
					fail "$c: no fsync fault happened"
				assert_io_error 'OUT\.d/.*Input/output error' ;;
			*EIO)
				fault_fired rename-fail
				assert_io_error 'OUT\.d/.*Input/output error' ;;
			*)
				fault_fired rename-fail
				assert_io_error 'OUT\.d/.*No space left on device' ;;
			esac
			check_failed "$c"
			# what failed was the commit: nothing was renamed
			nothing_committed OUT.d
		done
	done
}

# ---- read errors ----

@test "faults: EIO reading the input part-way: 3, the input named, no output committed" {
	local c in at
	for c in validate partition partition-gz tocsv tocsv-split rollup resample tier-plan; do
		case $c in
		validate) in=calls.ndjson ;;
		resample) in=hot/ ;;
		tier-plan) in=inv.ndjson ;;
		*) in=good.ndjson ;;
		esac
		if [ "$in" = hot/ ]; then
			at=$(( $(stat -c %s $(head -1 wavs)) / 2 ))
		else
			at=$(( $(stat -c %s "$in") / 2 ))
		fi
		fresh
		run --separate-stderr faulty CDR_FAULT_PATH="$in" \
		    CDR_FAULT_READ_AFTER="$at" run_case "$c" OUT.d
		fault_fired read-eio
		assert_io_error "$in.*(read error: )?Input/output error"
		if [ "$c" = validate ]; then
			# the --stats report of the failed run says so
			[ "$(jq .sources_failed OUT.d/stats.json)" -eq 1 ] ||
				fail "stats of the failed run: $(cat OUT.d/stats.json)"
			rm OUT.d/stats.json
		fi
		check_failed "$c"
		[ "$c" = resample ] || nothing_committed OUT.d
	done
	# compressed input: the read error is reported as one, not as a
	# truncated gzip stream
	gzip -c calls.ndjson > calls.ndjson.gz
	fresh
	run --separate-stderr faulty CDR_FAULT_PATH=calls.ndjson.gz \
	    CDR_FAULT_READ_AFTER=20000 "$CDR_BIN/cdr-validate" -q -s call \
	    --max-errors 100000 -o OUT.d/valid.ndjson calls.ndjson.gz
	fault_fired read-eio
	assert_io_error 'calls\.ndjson\.gz: read error: Input/output error'
	nothing_committed OUT.d
}

# ---- short reads and writes: a run that succeeds conserves every record ----

@test "faults: short reads and writes change no byte, and every record is accounted for" {
	local c
	for c in $CASES; do
		fresh
		run --separate-stderr faulty CDR_FAULT_SHORT_WRITE=4093 \
		    CDR_FAULT_SHORT_READ=1021 run_case "$c" OUT.d
		assert_success
		same_tree OUT.d "ref/$c"
		no_temp_files OUT.d
	done
	inputs_untouched
	# conservation, read = written + rejected + duplicates, from the
	# files themselves
	local s=ref/validate/stats.json
	assert_equal "$(jq .read "$s")" "$(wc -l < calls.ndjson)"
	assert_equal "$(jq .written "$s")" "$(wc -l < ref/validate/valid.ndjson)"
	assert_equal "$(jq .rejected "$s")" "$(wc -l < ref/validate/dead.ndjson)"
	assert_equal "$(jq .duplicates "$s")" "$(wc -l < ref/validate/dups.ndjson)"
	assert_equal $(( $(jq '.written + .rejected + .duplicates' "$s") )) "$(wc -l < calls.ndjson)"
	[ "$(jq .rejected "$s")" -gt 0 ] || fail "no rejected record to account for"
	[ "$(jq .duplicates "$s")" -gt 0 ] || fail "no duplicate to account for"
	# partition: the shards hold the input, record for record
	cat ref/partition/part/part-*.ndjson | sort > union
	sort good.ndjson | cmp -s - union || fail "partition lost or changed records"
	assert_equal "$(jq -s 'map(.records) | add' ref/partition/manifest.ndjson)" "$(wc -l < good.ndjson)"
	zcat $(find ref/partition-gz/part -name '*.gz') | sort | cmp -s - <(sort good.ndjson) ||
		fail "partition --gzip lost or changed records"
	# tocsv: one row a record (the header once a file)
	assert_equal "$(zcat ref/tocsv-split/calls.*.csv.gz | python3 -c '
import csv, sys
print(sum(1 for _ in csv.reader(sys.stdin)) - 3)')" "$(wc -l < good.ndjson)"
	# rollup: the counts add up to the records
	assert_equal "$(jq -s 'map(.count) | add' ref/rollup/rollup.ndjson)" "$(wc -l < good.ndjson)"
}

# ---- signals ----

@test "faults: SIGTERM and SIGINT in the middle of the output: 128+signo, no temporary file, nothing partial" {
	local c sig n=0 want
	for c in $CASES; do
		for sig in TERM INT; do
			fresh
			interrupt "$sig" $(( $(ref_bytes "$c") / 2 )) \
			    CDR_FAULT_PATH=OUT.d/ run_case "$c" OUT.d
			[ "$sig" = TERM ] && want=143 || want=130
			[ "$status" -eq "$want" ] ||
				fail "$c: SIG$sig: exit status $status, want $want ($stderr)"
			check_failed "$c"
			n=$((n + 1))
		done
	done
	[ "$n" -eq 22 ]
}

@test "faults: SIGTERM while waiting on a stalled FIFO: no temporary file, nothing committed" {
	local pid c
	for c in validate rollup tocsv partition; do
		fresh
		rm -f fifo
		mkfifo fifo
		case $c in
		validate) env --default-signal=INT "$CDR_BIN/cdr-validate" -q \
		    -s call -o OUT.d/valid.ndjson fifo 2> err 3>&- & ;;
		rollup) env --default-signal=INT "$CDR_BIN/cdr-rollup" -q \
		    --every 1h -o OUT.d/rollup.ndjson fifo 2> err 3>&- & ;;
		tocsv) env --default-signal=INT "$CDR_BIN/cdr-tocsv" -q \
		    -o OUT.d/calls.csv fifo 2> err 3>&- & ;;
		partition) env --default-signal=INT "$CDR_BIN/cdr-partition" -q \
		    --by-hash tenant_id --shards 2 --buffer-size 64K -d OUT.d fifo \
		    > /dev/null 2> err 3>&- & ;;
		esac
		pid=$!
		BG_PID=$pid
		# a writer that sends part of the input, then stalls with the
		# FIFO open: the tool is mid-run for as long as we like
		# (opened read-write: never blocks, even if the tool died)
		exec 5<> fifo
		timeout 20 head -n 2000 good.ndjson >&5 ||
			fail "$c: did not read its input: $(cat err)"
		# head has returned: the tool has read all but what the pipe
		# holds, and has (or is about to have) its temporary files
		local i=0
		until [ -n "$(hidden_temps OUT.d)" ]; do
			sleep 0.01
			i=$((i + 1))
			[ "$i" -lt 1000 ] || fail "$c: no temporary file while running"
		done
		kill -s TERM "$pid"
		status=0
		wait "$pid" || status=$?
		exec 5>&-
		[ "$status" -eq 143 ] || fail "$c: exit status $status, want 143: $(cat err)"
		no_temp_files OUT.d
		nothing_committed OUT.d
	done
}

@test "faults: kill -9 in the middle: the destination is absent or complete, and a re-run succeeds" {
	local c left
	for c in gen validate partition-gz tocsv-split rollup resample tier-plan; do
		fresh
		interrupt KILL $(( $(ref_bytes "$c") / 2 )) \
		    CDR_FAULT_PATH=OUT.d/ run_case "$c" OUT.d
		[ "$status" -eq 137 ] || fail "$c: exit status $status, want 137"
		complete_or_absent OUT.d "ref/$c"
		inputs_untouched
		if [[ " $ATOMIC_CASES " == *" $c "* ]]; then
			nothing_committed OUT.d
		fi
		# what kill -9 leaves is hidden and never at a final name
		left=$(hidden_temps OUT.d)
		[ -n "$left" ] || fail "$c: kill -9 mid-file left no temporary file (was it mid-file?)"
		# a re-run commits the complete output and ignores or cleans
		# the leftover
		run --separate-stderr bash -c "$(declare -f run_case); run_case $c OUT.d"
		assert_success
		same_tree OUT.d "ref/$c"
		[ "$(hidden_temps OUT.d | wc -l)" -le "$(wc -l <<<"$left")" ] ||
			fail "$c: the re-run left temporary files of its own"
	done
}

# ---- cdr-resample in place, cdr-tier apply ----

@test "faults: cdr-resample --in-place under ENOSPC, fsync and rename errors keeps every original" {
	local fault
	# (less than one converted file, so that every conversion fails)
	for fault in CDR_FAULT_WRITE_AFTER=20000 CDR_FAULT_FSYNC=1 CDR_FAULT_RENAME=EIO; do
		rm -rf work fault.log
		cp -a "$BATS_FILE_TMPDIR/hot" work
		(cd work && find . -type f | sort | xargs sha256sum) > before
		run --separate-stderr faulty CDR_FAULT_PATH=work/ "$fault" \
		    "$CDR_BIN/cdr-resample" -q --min-age 0 -j 2 --in-place \
		    $(sed 's|^hot/|work/|' wavs)
		[ -s fault.log ] || fail "$fault never fired"
		assert_io_error 'work/.*(No space left on device|Input/output error)'
		(cd work && find . -type f | sort | xargs sha256sum) > after
		assert_file_equal before after
		no_temp_files work
	done
	# and a SIGTERM mid-file
	rm -rf work
	cp -a "$BATS_FILE_TMPDIR/hot" work
	(cd work && find . -type f | sort | xargs sha256sum) > before
	interrupt TERM 20000 CDR_FAULT_PATH=work/ "$CDR_BIN/cdr-resample" -q \
	    --min-age 0 -j 1 --in-place $(sed 's|^hot/|work/|' wavs)
	[ "$status" -eq 143 ] || fail "exit status $status, want 143"
	(cd work && find . -type f | sort | xargs sha256sum) > after
	assert_file_equal before after
	no_temp_files work
}

# tier_setup: hot/ with its own recordings and a move plan to cold/.
tier_setup() {
	rm -rf hot cold archive j plan fault.log
	cp -a "$BATS_FILE_TMPDIR/hot" hot
	(cd hot && find . -name '*.wav' | sort | xargs sha256sum) > before
	"$CDR_BIN/cdr-tier" scan -q hot > inv
	"$CDR_BIN/cdr-tier" plan -p "$1" --now "$2" inv > plan
}

# each_once: every recording of before is in hot/ or cold/ or an archive
# exactly once, whole.
each_once() {
	local sum rel n
	while read -r sum rel; do
		n=0
		for t in hot cold; do
			if [ -f "$t/$rel" ]; then
				[ "$(sha256sum < "$t/$rel" | cut -d' ' -f1)" = "$sum" ] ||
					fail "$t/$rel: not whole"
				n=$((n + 1))
			fi
		done
		[ "$n" -eq 1 ] || fail "$rel: in $n places"
	done < before
}

@test "faults: cdr-tier apply (move) under ENOSPC, fsync, rename and read errors: 3, the file named, each recording once and whole" {
	local fault
	rm -f hot
	for fault in "CDR_FAULT_PATH=cold/ CDR_FAULT_WRITE_AFTER=100000" \
	    "CDR_FAULT_PATH=cold/ CDR_FAULT_FSYNC=1" \
	    "CDR_FAULT_PATH=cold/ CDR_FAULT_RENAME=ENOSPC" \
	    "CDR_FAULT_PATH=hot/ CDR_FAULT_READ_AFTER=100000"; do
		tier_setup policy.json 2027-03-01
		[ "$(jq -r .action plan | sort -u)" = move ]
		run --separate-stderr faulty $fault "$CDR_BIN/cdr-tier" apply -q -j j plan
		[ -s fault.log ] || fail "$fault never fired"
		assert_io_error 'hot/.*: move to cold/.*: (No space left on device|Input/output error)'
		grep -q '"result":"failed"' <<<"$output" || fail "no failed result line"
		each_once
		no_temp_files cold
		# a re-run without the fault finishes the job
		run "$CDR_BIN/cdr-tier" apply -q -j j plan
		assert_success
		assert_equal "$(cd cold && find . -name '*.wav' | sort | xargs sha256sum)" "$(cat before)"
		assert_equal "$(find hot -type f | wc -l)" 0
	done
	# SIGTERM mid-copy: the copy's temporary file goes, the source stays
	tier_setup policy.json 2027-03-01
	interrupt TERM 100000 CDR_FAULT_PATH=cold/ "$CDR_BIN/cdr-tier" apply -q -j j plan
	[ "$status" -eq 143 ] || fail "exit status $status, want 143"
	each_once
	no_temp_files cold
	run "$CDR_BIN/cdr-tier" apply -q -j j plan
	assert_success
	assert_equal "$(cd cold && find . -name '*.wav' | sort | xargs sha256sum)" "$(cat before)"
}

@test "faults: cdr-tier apply (archive, resample) under ENOSPC: 3, no archive, sources whole" {
	local fault
	rm -f hot
	cp "$FIXTURES/tier/archive-policy.json" .
	for fault in CDR_FAULT_WRITE_AFTER=50000 CDR_FAULT_FSYNC=1 CDR_FAULT_RENAME=EIO; do
		tier_setup archive-policy.json 2027-03-01
		[ "$(jq -r .action plan | sort -u)" = archive ]
		run --separate-stderr faulty CDR_FAULT_PATH=archive/ $fault \
		    "$CDR_BIN/cdr-tier" apply -q -j j plan
		[ -s fault.log ] || fail "$fault never fired"
		assert_io_error 'archive/.*'
		assert_equal "$(cd hot && find . -name '*.wav' | sort | xargs sha256sum)" "$(cat before)"
		[ -z "$(find archive -type f 2>/dev/null)" ] || fail "$fault: archive files left: $(find archive -type f)"
	done
	# resample in place through cdr-resample: its I/O error is tier's
	tier_setup policy.json "$(date -u -d "$(jq -r .call_date inv.ndjson | sort | tail -1) + 40 days" +%F)"
	[ "$(jq -r .action plan | sort -u)" = resample ]
	run --separate-stderr faulty CDR_FAULT_PATH=hot/ CDR_FAULT_WRITE_AFTER=30000 \
	    "$CDR_BIN/cdr-tier" apply -q -j j plan
	fault_fired write-enospc
	assert_io_error 'hot/.*No space left on device'
	assert_equal "$(cd hot && find . -name '*.wav' | sort | xargs sha256sum)" "$(cat before)"
	no_temp_files hot
}

# ---- a real full file system ----

@test "faults: a real 2 MB file system filling up (tmpfs; the shim where mounting is not allowed)" {
	local c mode n=0
	SMALL_FS=$PWD/small
	mkdir -p "$SMALL_FS"
	if mount -t tmpfs -o size=2m tmpfs "$SMALL_FS" 2>/dev/null; then
		mode=tmpfs
	else
		mode=shim
	fi
	# inputs bigger than the file system
	"$CDR_BIN/cdr-gen" calls -n 8000 --seed 9 -o big.ndjson
	"$CDR_BIN/cdr-gen" wav -n 1 --duration 70s --seed 9 -d bigwav > /dev/null
	[ "$(stat -c %s big.ndjson)" -gt $((2 * 1024 * 1024)) ]
	while IFS= read -r c; do
		rm -rf "$SMALL_FS"/* "$SMALL_FS"/.[!.]* fault.log
		mkdir "$SMALL_FS/o"
		if [ "$mode" = tmpfs ]; then
			run --separate-stderr bash -c "$c" < /dev/null
		else
			run --separate-stderr faulty CDR_FAULT_PATH="$SMALL_FS/" \
			    CDR_FAULT_WRITE_AFTER=$((2 * 1024 * 1024)) bash -c "$c" < /dev/null
			fault_fired write-enospc
		fi
		assert_io_error "$SMALL_FS/o/.*No space left on device"
		no_temp_files "$SMALL_FS"
		[ -z "$(find "$SMALL_FS" -type f)" ] || fail "left on the full file system: $(find "$SMALL_FS" -type f)"
		if [ "$mode" = tmpfs ]; then
			# the space of the failed output is free again
			[ "$(df --output=used -k "$SMALL_FS" | tail -1)" -lt 64 ] ||
				fail "space not freed: $(df -k "$SMALL_FS")"
		fi
		n=$((n + 1))
	done <<-EOF
	"$CDR_BIN/cdr-gen" calls -n 8000 --seed 9 -o "$SMALL_FS/o/gen.ndjson"
	"$CDR_BIN/cdr-validate" -q -s call -o "$SMALL_FS/o/valid.ndjson" big.ndjson
	"$CDR_BIN/cdr-partition" -q --by-hash tenant_id --shards 3 -d "$SMALL_FS/o/part" big.ndjson
	"$CDR_BIN/cdr-tocsv" -q --split 2 --gzip-level 0 -o "$SMALL_FS/o/calls" big.ndjson
	"$CDR_BIN/cdr-rollup" -q --every 5s,15m --by tenant_id,agent_id,queue_id --agg 'count,acd,asr,first(call_id),last(call_id)' -o "$SMALL_FS/o/rollup.ndjson" big.ndjson
	"$CDR_BIN/cdr-resample" -q --min-age 0 -e pcm16 -c keep -d "$SMALL_FS/o/rs" \$(find bigwav -name '*.wav')
	EOF
	[ "$n" -eq 6 ] || fail "$n commands run, not 6"
	echo "# mode: $mode" >&3
}
