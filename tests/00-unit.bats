#!/usr/bin/env bats
# C unit tests of common/: each program prints what failed and exits 1.

load helpers/common

run_unit() {
	run "$CDR_UNIT/$1"
	assert_success
	assert_output --regexp '[0-9]+ checks, 0 failed'
}

@test "every unit test program has a test here" {
	local f name
	for f in "$BATS_TEST_DIRNAME"/unit/test_*.c; do
		name=$(basename "$f" .c)
		grep -q "run_unit $name\$" "$BATS_TEST_FILENAME" || fail "no test runs $name"
	done
}

@test "unit: reader, parser and field access" {
	run_unit test_reader
}

@test "unit: atomic output and writers" {
	run_unit test_out
}

@test "unit: time, zones and calendar buckets" {
	run_unit test_time
}

@test "unit: option value parsing" {
	run_unit test_parse
}

@test "unit: progress meter" {
	run_unit test_progress
}

@test "unit: jq expressions" {
	run_unit test_jqexpr
}
