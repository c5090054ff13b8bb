#!/usr/bin/env bats
# Progress meters under a real terminal: each long-running tool runs in a
# pty (util-linux script(1), package bsdutils) with stdout to a file.  On
# the terminal: a meter redrawn with "\r", cleared before the one summary
# line; --no-progress drops the meter, -q the summary line and the meter
# (unless --progress).  stdout holds
# the same bytes as without a terminal, and a stderr that is not a terminal
# gets the summary line only.  CDR_PROGRESS_INTERVAL=0 makes the meter draw
# at every record, so small inputs are enough.

load helpers/common

setup_file() {
	command -v script >/dev/null ||
		fail "script(1) is needed (bsdutils, build-aux/packages/test.list)"
	export D=$BATS_FILE_TMPDIR
	"$CDR_BIN/cdr-gen" calls -n 2000 --tenants 3 --seed 93 -o "$D/calls.ndjson"
	"$CDR_BIN/cdr-gen" wav -n 6 --duration 1s --seed 93 -d "$D/rec" > "$D/rec.ndjson"
	jq -r .path "$D/rec.ndjson" > "$D/rec.list"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	export CDR_PROGRESS_INTERVAL=0
}

# cmd TOOL: the arguments of a run of TOOL over the sample input, writing
# its data to stdout.
cmd() {
	case $1 in
	cdr-validate)	echo "-s call --dedupe call_id $D/calls.ndjson" ;;
	cdr-partition)	echo "-f --by-hash call_id -n 3 -d $BATS_TEST_TMPDIR/shards $D/calls.ndjson" ;;
	cdr-tocsv)	echo "-c call_id,tenant_id,start_time,duration_s $D/calls.ndjson" ;;
	cdr-rollup)	echo "--every 1h --by tenant_id --agg count,asr $D/calls.ndjson" ;;
	cdr-resample)	echo "-f -d $BATS_TEST_TMPDIR/alaw --base $D/rec --from-list $D/rec.list" ;;
	esac
}

# summary TOOL: the summary line's pattern (extended regex).
summary() {
	case $1 in
	cdr-resample)	echo '^cdr-resample: 6 files: 6 converted, 0 copied, 0 skipped, 0 failed; ' ;;
	*)		echo "^$1: 2000 read, [0-9]+ written, 0 rejected, 0 duplicates" ;;
	esac
}

TOOLS='cdr-validate cdr-partition cdr-tocsv cdr-rollup cdr-resample'

# in_pty TYPESCRIPT STDOUT TOOL [OPTION]...: runs TOOL with its sample
# arguments and OPTIONs on a terminal, stdout to the file STDOUT; what
# reached the terminal (stderr) goes to TYPESCRIPT.  Fails on a non-zero
# status.
in_pty() {
	local ts=$1 so=$2 tool=$3
	shift 3
	local c
	c="$(printf '%q' "$CDR_BIN/$tool") $* $(cmd "$tool") > $(printf '%q' "$so")"
	script -qfec "$c" /dev/null < /dev/null > "$ts" ||
		fail "$tool $* failed on a terminal: $(tr '\r' '\n' < "$ts" | tail -n 3)"
}

# meter_lines TOOL TYPESCRIPT: the meter drawings in TYPESCRIPT, one a line.
meter_lines() {
	tr '\r' '\n' < "$2" | grep -aE "^[a-z-]+: [0-9]+ records, [0-9]+\.[0-9] MB(, [0-9]+ rec/s)? *\$"
}

@test "tty: on a terminal each tool draws a meter, clears it, then prints one summary line" {
	local t n
	for t in $TOOLS; do
		in_pty "ts.$t" "out.$t" "$t"
		# Several drawings, the count of records growing.
		run meter_lines "$t" "ts.$t"
		assert_success
		[ "${#lines[@]}" -ge 3 ] || fail "$t: ${#lines[@]} meter drawings"
		n=$(printf '%s\n' "${lines[@]}" | sed -E 's/^[^:]*: ([0-9]+) records.*/\1/' |
		    sort -n | tail -n 1)
		[ "$n" -gt 1 ] || fail "$t: the meter never counted past 1"
		# The summary is the last line, alone after the last carriage
		# return: the meter was blanked, not left behind it.
		local last
		last=$(tr -d '\n' < "ts.$t" | sed 's/\r$//' | awk -F '\r' '{ print $NF }')
		[[ $last =~ $(summary "$t") ]] || fail "$t: last line on the terminal is '$last'"
		assert_equal "$(tr '\r' '\n' < "ts.$t" | grep -acE "$(summary "$t")")" 1
	done
}

@test "tty: stdout carries the same bytes on a terminal as without one" {
	local t
	for t in $TOOLS; do
		in_pty "ts.$t" "tty.$t" "$t"
		# shellcheck disable=SC2046
		"$CDR_BIN/$t" -f $(cmd "$t") > "plain.$t" 2> /dev/null
		[ -s "plain.$t" ] || fail "$t wrote no data"
		assert_file_equal "plain.$t" "tty.$t"
		# Nothing of the meter in the data.
		run grep -caE $'\r|records, |rec/s' "tty.$t"
		assert_output 0
	done
}

@test "tty: --no-progress drops the meter and keeps the summary, -q drops both unless --progress" {
	local t
	for t in $TOOLS; do
		in_pty "np.$t" "out.$t" "$t" --no-progress
		run meter_lines "$t" "np.$t"
		assert_output ''
		# The terminal got one line: the summary (pty line end \r\n).
		assert_equal "$(wc -l < "np.$t")" 1
		[[ $(tr -d '\r\n' < "np.$t") =~ $(summary "$t") ]] ||
			fail "$t --no-progress: $(cat -v "np.$t")"

		# -q: neither summary nor meter: the terminal stays empty.
		in_pty "q.$t" "out.$t" "$t" -q
		[ ! -s "q.$t" ] || fail "$t -q wrote to the terminal: $(cat -v "q.$t")"

		# -q --progress: the meter, cleared at the end, and no summary.
		in_pty "qp.$t" "out.$t" "$t" -q --progress
		run grep -acE "$(summary "$t")" "qp.$t"
		assert_output 0
		run meter_lines "$t" "qp.$t"
		[ "${#lines[@]}" -ge 3 ] || fail "$t -q --progress: no meter"
		local rest
		rest=$(tr -d '\n' < "qp.$t" | sed -E 's/.*(MB|rec\/s)//')
		[[ $rest =~ ^[$'\r'\ ]+$ ]] ||
			fail "$t -q --progress: the meter was left on the terminal: $(cat -v <<< "$rest")"

		in_pty "qn.$t" "out.$t" "$t" -q --no-progress
		[ ! -s "qn.$t" ] || fail "$t -q --no-progress wrote to the terminal: $(cat -v "qn.$t")"
	done
}

@test "tty: a stderr that is not a terminal gets the summary only; --progress forces the meter" {
	local t
	for t in $TOOLS; do
		# shellcheck disable=SC2046
		"$CDR_BIN/$t" -f $(cmd "$t") > out 2> err
		assert_equal "$(wc -l < err)" 1
		run grep -cE "$(summary "$t")" err
		assert_output 1
		run grep -c $'\r' err
		assert_output 0

		# shellcheck disable=SC2046
		"$CDR_BIN/$t" -f --progress $(cmd "$t") > out 2> err
		run meter_lines "$t" err
		[ "${#lines[@]}" -ge 3 ] || fail "$t --progress: no meter in a file"
		run grep -caE $'\r|rec/s' out
		assert_output 0
	done
}
