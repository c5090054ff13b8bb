# Shared set-up for the bats suite: the tools under test come from
# $CDR_BIN (set by `make check`), bats-support and bats-assert from the
# Debian packages.

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

CDR_BIN=${CDR_BIN:-$BATS_TEST_DIRNAME/../build/bin}
CDR_UNIT=${CDR_UNIT:-$BATS_TEST_DIRNAME/../build/unit}
CDR_SHARE=${CDR_SHARE:-$BATS_TEST_DIRNAME/../share}
FIXTURES=$BATS_TEST_DIRNAME/fixtures
export CDR_BIN CDR_UNIT CDR_SHARE FIXTURES
export LC_ALL=C TZ=UTC

# assert_file_equal EXPECTED ACTUAL: byte-for-byte, with a diff on failure.
assert_file_equal() {
	if ! cmp -s "$1" "$2"; then
		diff -u "$1" "$2" | head -n 40 >&2 || true
		fail "files differ: $1 $2"
	fi
}

# no_temp_files DIR: an interrupted or failed run left no hidden temporary file.
no_temp_files() {
	local left
	left=$(find "$1" -name '.*.tmp.*' | head -n 5)
	[ -z "$left" ] || fail "temporary files left: $left"
}
