# Helpers for tests/75-faults.bats: running a tool under the fault
# injection shim (tests/helpers/faultinj.c) and checking what a failed or
# interrupted run left behind.

# build_faultinj: compiles the shim once a test file into $FAULTINJ.
build_faultinj() {
	FAULTINJ=$BATS_FILE_TMPDIR/faultinj.so
	cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$FAULTINJ" \
	    "$BATS_TEST_DIRNAME/helpers/faultinj.c" -ldl
	export FAULTINJ
}

# faulty VAR=VALUE... CMD ARGS...: CMD (a program or a shell function)
# in a subshell with the shim preloaded for every program it starts and
# the variables exported; faults are logged to ./fault.log (see
# faultinj.c for the CDR_FAULT_* variables).
faulty() {
	(
		export LD_PRELOAD="$FAULTINJ" CDR_FAULT_LOG="$PWD/fault.log"
		while [[ $1 == [A-Z]*=* ]]; do
			export "$1"
			shift
		done
		"$@"
	)
}

# fault_fired WHAT: the shim logged a fault of that kind (write-enospc,
# fsync-eio, syncfs-eio, rename-fail, read-eio, stalled) in this test, so
# a passing check is not a run that never met its fault.
fault_fired() {
	grep -q "^$1" fault.log 2>/dev/null ||
		fail "the injected fault ($1) never happened: $(cat fault.log 2>/dev/null)"
}

# assert_io_error REGEX: status 3 and a message on stderr matching REGEX
# (which should name the file).
assert_io_error() {
	[ "$status" -eq 3 ] ||
		fail "exit status $status, want 3 (stderr: ${stderr:-$output})"
	grep -qE -- "$1" <<<"${stderr:-$output}" ||
		fail "no message matching '$1' in: ${stderr:-$output}"
	! grep -qiE 'segmentation|core dumped|assert|internal error' <<<"${stderr:-$output}" ||
		fail "crash or internal error: ${stderr:-$output}"
}

# committed_files DIR: the visible regular files under DIR, relative, sorted.
committed_files() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . -type f ! -name '.*' | sort)
}

# hidden_temps DIR: the hidden temporary files under DIR.
hidden_temps() {
	[ -d "$1" ] || return 0
	find "$1" -type f -name '.*.tmp.*' | sort
}

# complete_or_absent DIR REF: every file committed under DIR is byte for
# byte the file of the same name under REF (a clean run's output).
complete_or_absent() {
	local f
	while read -r f; do
		[ -n "$f" ] || continue
		[ -f "$2/$f" ] || fail "$1/$f: committed, but a clean run has no such file"
		cmp -s "$1/$f" "$2/$f" || fail "$1/$f: committed but not complete (differs from a clean run)"
	done < <(committed_files "$1")
}

# nothing_committed DIR: no visible file under DIR.
nothing_committed() {
	local left
	left=$(committed_files "$1")
	[ -z "$left" ] || fail "files committed by a failed run: $left"
}

# same_tree DIR REF: DIR holds exactly REF's files, byte for byte.
same_tree() {
	assert_equal "$(committed_files "$1")" "$(committed_files "$2")"
	complete_or_absent "$1" "$2"
}

# sums FILE...: sha256 lines, to show inputs are untouched.
sums() {
	sha256sum "$@"
}

# wait_for_log WHAT [SECONDS]: until fault.log has a WHAT line (default
# 20 s); status 1 on time-out.
wait_for_log() {
	local i=0 max=$(( ${2:-20} * 100 ))
	until grep -q "^$1" fault.log 2>/dev/null; do
		sleep 0.01
		i=$((i + 1))
		[ "$i" -lt "$max" ] || return 1
	done
}

# interrupt SIG BYTES [VAR=VALUE...] CMD ARGS...: runs CMD (a program, or a
# shell function that execs one) in the background, with
# SIGINT at its default as under a shell's job control, lets the program
# write BYTES to files matching $CDR_FAULT_PATH, holds it there (the shim
# stalls the writing thread) and sends SIG.  Sets status, and stderr from
# the program's standard error.
interrupt() {
	local sig=$1 bytes=$2 pid
	shift 2
	rm -f fault.log
	local vars=()
	while [[ $1 == [A-Z]*=* ]]; do
		vars+=("$1")
		shift
	done
	local script='exec "$@"'
	if declare -F "$1" > /dev/null; then
		script="$(declare -f "$1")"$'\n''"$@"'
	fi
	env --default-signal=INT LD_PRELOAD="$FAULTINJ" \
	    CDR_FAULT_LOG="$PWD/fault.log" CDR_FAULT_STALL_AFTER="$bytes" \
	    "${vars[@]}" bash -c "$script" _ "$@" \
	    > interrupt.out 2> interrupt.err 3>&- &
	pid=$!
	BG_PID=$pid
	if ! wait_for_log stalled; then
		kill -s KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
		fail "$* never stalled after $bytes bytes: $(cat interrupt.err)"
	fi
	kill -s "$sig" "$pid"
	status=0
	wait "$pid" || status=$?
	stderr=$(cat interrupt.err)
}
