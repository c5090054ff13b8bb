#!/usr/bin/env bats
# The fuzz harnesses of fuzz/, built with the ordinary compiler and
# fuzz/driver.c (make fuzz-replay), replay the seed corpus and every
# input that once crashed: each must run to the end (exit 0) under
# the harness's own checks.

load helpers/common

FUZZ_DIR=$BATS_TEST_DIRNAME/../fuzz
CDR_FUZZ=${CDR_FUZZ:-$CDR_BIN/../fuzz-replay}

# replay TARGET DIR: every file of DIR through the harness of TARGET.
replay() {
	local n
	[ -x "$CDR_FUZZ/fuzz_$1" ] || fail "no replay binary $CDR_FUZZ/fuzz_$1 (make fuzz-replay)"
	n=$(find "$2" -type f ! -name '.*' | wc -l)
	run --separate-stderr "$CDR_FUZZ/fuzz_$1" "$2"
	[ "$status" -eq 0 ] || fail "fuzz_$1 $2: exit $status: $(printf '%s\n' "$stderr" | tail -n 5)"
	[[ "$stderr" == *"fuzz_$1: $n inputs replayed"* ]] || fail "fuzz_$1 $2: expected $n inputs: $(printf '%s\n' "$stderr" | tail -n 1)"
}

@test "every harness has a replay binary and a seed corpus" {
	local f t
	for f in "$FUZZ_DIR"/fuzz_*.c; do
		t=$(basename "$f" .c)
		t=${t#fuzz_}
		[ -x "$CDR_FUZZ/fuzz_$t" ] || fail "no replay binary for $t"
		[ "$(find "$FUZZ_DIR/corpus/$t" -type f | wc -l)" -ge 5 ] || fail "fewer than 5 seeds for $t"
		grep -q "^@test \"replay: $t\"" "$BATS_TEST_FILENAME" || fail "no replay test for $t"
	done
}

@test "replay: archive" {
	replay archive "$FUZZ_DIR/corpus/archive"
}

@test "replay: csv" {
	replay csv "$FUZZ_DIR/corpus/csv"
	replay csv "$FUZZ_DIR/regressions/csv"
}

@test "replay: ndjson" {
	replay ndjson "$FUZZ_DIR/corpus/ndjson"
}

@test "replay: policy" {
	replay policy "$FUZZ_DIR/corpus/policy"
	replay policy "$FUZZ_DIR/regressions/policy"
}

@test "replay: schema" {
	replay schema "$FUZZ_DIR/corpus/schema"
}

@test "replay: template" {
	replay template "$FUZZ_DIR/corpus/template"
}

@test "replay: time" {
	replay time "$FUZZ_DIR/corpus/time"
	replay time "$FUZZ_DIR/regressions/time"
}

@test "replay: wav" {
	replay wav "$FUZZ_DIR/corpus/wav"
}

@test "every regression directory is replayed" {
	local d
	for d in "$FUZZ_DIR"/regressions/*/; do
		[ -d "$d" ] || continue
		d=$(basename "$d")
		grep -q "replay $d \"\$FUZZ_DIR/regressions/$d\"" "$BATS_TEST_FILENAME" || fail "regressions/$d is not replayed"
	done
}

@test "the replay driver fails on a file it cannot read" {
	run --separate-stderr "$CDR_FUZZ/fuzz_ndjson" "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	[[ "$stderr" == *"0 inputs replayed"* ]] || fail "$stderr"
}

@test "a bad policy is a defined outcome, not an exit" {
	printf '{"rules":{"move_after_days":-1}}\n---\n{"path":"a","call_date":"2026-01-01"}\n' >"$BATS_TEST_TMPDIR/p"
	run --separate-stderr "$CDR_FUZZ/fuzz_policy" "$BATS_TEST_TMPDIR/p"
	assert_success
	[[ "$stderr" == *"ages must be whole days"* ]] || fail "$stderr"
	[[ "$stderr" == *"1 inputs replayed"* ]] || fail "$stderr"
}
