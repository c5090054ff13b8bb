#!/usr/bin/env bats
# The EXAMPLES of every man page, run as they are printed.
#
# Convention for share/man/man1/*.1 (roff comments are not rendered):
#   - Every example is a .EX/.EE block inside the EXAMPLES section; the
#     prose around it is not run.  No .nf/.fi there.
#   - A block holds shell commands.  A command ends where the shell would
#     end it: a line ending in \e (a printed "\"), in | or &&, or inside
#     quotes goes on.  Each command runs on its own (bash -o pipefail, 60 s
#     at most) in the page's sandbox directory, blocks in page order: a later
#     example may use the files of an earlier one, not its shell variables.
#   - .\" example-inputs: FILE...   (once, anywhere in EXAMPLES) the sample
#     files the page's examples read, copied into its sandbox (see
#     setup_file for what each is); a page naming none starts empty.
#   - .\" example-creates: PATH...  (before a block) files or directories
#     the block must leave, non-empty.  Files a command redirects to with
#     > or >> must be non-empty too.  A block with neither must print
#     something on stdout.
#   - .\" example-needs: postgres  (once) the page's examples get a
#     throwaway PostgreSQL server (helpers/pg.bash: PGHOST, PGDATABASE...).
#   - .\" example-skip: REASON      (before a block) not run, e.g. for one
#     that needs a cluster or another host; REASON is required.
# Every command must exit 0.  The tools come first on PATH, CDR_SHARE points
# at share/ (as an installed tool would find it), TZ=UTC, LC_ALL=C.

load helpers/common
load helpers/pg

MAN=$BATS_TEST_DIRNAME/../share/man/man1

setup_file() {
	local s=$BATS_FILE_TMPDIR/samples
	mkdir -p "$s"
	export SAMPLES=$s
	(
		set -e
		cd "$s"
		PATH=$CDR_BIN:$PATH
		# calls.ndjson: a day of valid calls of 5 tenants.
		cdr-gen calls -n 5000 --tenants 5 --seed 92 -o calls.ndjson
		# day.ndjson.gz: a day as it arrives: gzip, 0.5% malformed.
		cdr-gen calls -n 5000 --tenants 5 --error-rate 0.5% --seed 93 | gzip > day.ndjson.gz
		# states.ndjson, orgs.ndjson: agent states and the organisations.
		cdr-gen agent-states -n 2000 --tenants 5 --span 10m --seed 92 -o states.ndjson
		cdr-gen orgs --tenants 5 --seed 92 -o orgs.ndjson
		# sms.ndjson: sent, delivery and click events of SMS campaigns.
		cdr-gen sms -n 2000 --tenants 5 --seed 92 -o sms.ndjson
		# Master.csv: Asterisk cdr_csv rows (the two valid ones of the fixture).
		head -n 2 "$FIXTURES/validate/asterisk-master.csv" > Master.csv
		# recordings/hot: two years of recordings (8 kHz stereo PCM) in
		# the Amazon Connect layout; policy.json: the example policy,
		# whose tiers are recordings/hot, recordings/cold.
		cdr-gen wav -n 12 --duration 3s --start 2024-12-01T00:00:00Z --days 720 \
		    --seed 92 -d recordings/hot > recordings.ndjson
		cp "$CDR_SHARE/policies/tier-example.json" policy.json
		# rec/: last week's recordings (modified 10 days ago), one of
		# them truncated by a failed upload.
		cdr-gen wav -n 4 --duration 3s --seed 95 -d rec > /dev/null
		f=$(find rec -name '*.wav' | sort | head -n 1)
		head -c 20000 "$f" > "${f%_UTC.wav}-upload_UTC.wav"
		find rec -type f -exec touch -d '10 days ago' {} +
		# *.wav: three recordings in the current directory.
		cdr-gen wav -n 3 --duration 2s --seed 94 -d w > /dev/null
		find w -name '*.wav' | sort | awk '{ printf "mv %s call-%d.wav\n", $0, NR }' | sh
		rm -r w
	) || fail "could not make the sample files"
}

teardown() {
	[ -z "${PG_DIR:-}" ] || pg_stop
}

# extract PAGE DIR: the EXAMPLES of PAGE into DIR: NN.sh (the block's lines,
# unescaped), NN.creates, NN.skip, and inputs.  Fails on a malformed page.
extract() {
	mkdir -p "$2"
	awk -v dir="$2" '
	function unescape(s) {
		gsub(/\\-/, "-", s); gsub(/\\\(aq/, "\047", s); gsub(/\\\(dq/, "\"", s)
		gsub(/\\\(ti/, "~", s); gsub(/\\\(ha/, "^", s); gsub(/\\&/, "", s)
		gsub(/\\e/, "\\", s)
		return s
	}
	/^\.SH / { sec = ($0 ~ /^\.SH "?EXAMPLES"?$/); if (block) bad = "unterminated .EX"; next }
	!sec { next }
	/^\.\\" example-needs:/ { sub(/^[^:]*: */, ""); print > (dir "/needs"); next }
	/^\.\\" example-inputs:/ { sub(/^[^:]*: */, ""); print > (dir "/inputs"); next }
	/^\.\\" example-creates:/ { sub(/^[^:]*: */, ""); creates = $0; next }
	/^\.\\" example-skip:/ { sub(/^[^:]*: */, ""); skip = $0; if (skip == "") bad = "example-skip without a reason"; next }
	/^\.EX/ { n++; f = sprintf("%s/%02d", dir, n); printf "" > (f ".sh")
		if (creates != "") print creates > (f ".creates")
		if (skip != "") print skip > (f ".skip")
		creates = skip = ""; block = 1; next }
	/^\.EE/ { block = 0; next }
	/^\.(nf|fi)$/ { bad = ".nf/.fi in EXAMPLES: use .EX/.EE"; next }
	block && /^\.\\"/ { next }
	block && /^\./ { bad = "request inside an example: " $0; next }
	block { print unescape($0) > (f ".sh") }
	END {
		if (block) bad = "unterminated .EX"
		if (n == 0 && bad == "") bad = "no .EX example"
		if (bad != "") { print bad > "/dev/stderr"; exit 1 }
	}' "$1"
}

# commands FILE: the complete shell commands of FILE, each ended by a NUL.
commands() {
	local line acc=''
	while IFS= read -r line || [ -n "$line" ]; do
		if [ -z "$acc" ] && [[ $line =~ ^[[:space:]]*(#|$) ]]; then
			continue
		fi
		acc+=${acc:+$'\n'}$line
		[[ $acc == *\\ ]] && continue
		if bash -n -c "$acc" 2>/dev/null; then
			printf '%s\0' "$acc"
			acc=''
		fi
	done < "$1"
	[ -z "$acc" ] || { echo "incomplete command: $acc" >&2; return 1; }
}

# redirect_targets COMMAND: the files COMMAND writes with > or >> (outside
# quotes).
redirect_targets() {
	sed -E "s/'[^']*'//g; s/\"[^\"]*\"//g" <<< "$1" |
		grep -oE '(^|[^0-9&>])>>? *[^ |&;<>()$]+' | sed -E 's/^.?>>? *//' |
		grep -v '^/dev/' || true
}

# run_examples PAGE SANDBOX: extracts and runs the examples; says what failed.
run_examples() {
	local page=$1 sb=$2 x=$2.x f n cmd status t
	rm -rf "$sb" "$x"
	mkdir -p "$sb"
	extract "$page" "$x" || { echo "${page##*/}: not runnable examples" >&2; return 1; }
	if [ -f "$x/inputs" ]; then
		for f in $(cat "$x/inputs"); do
			[ -e "$SAMPLES/$f" ] || { echo "${page##*/}: no sample input $f" >&2; return 1; }
			cp -a "$SAMPLES/$f" "$sb/"
		done
	fi
	if [ -f "$x/needs" ]; then
		for f in $(cat "$x/needs"); do
			case $f in
			postgres) [ -n "${PG_DIR:-}" ] || pg_start >&2 ||
				{ echo "${page##*/}: PostgreSQL did not start" >&2; return 1; } ;;
			*) echo "${page##*/}: unknown example-needs $f" >&2; return 1 ;;
			esac
		done
	fi
	for f in "$x"/[0-9]*.sh; do
		n=${f##*/}
		n=${n%.sh}
		[ -f "$x/$n.skip" ] && continue
		: > "$x/$n.out"
		local targets=()
		while IFS= read -r -d '' cmd; do
			status=0
			(cd "$sb" && PATH=$CDR_BIN:$PATH timeout 60 bash -o pipefail -c "$cmd") \
			    >> "$x/$n.out" 2> "$x/$n.err" || status=$?
			if [ "$status" -ne 0 ]; then
				{
					echo "${page##*/}: example $n: exit status $status:"
					echo "  $cmd"
					tail -n 5 "$x/$n.err" | sed 's/^/  stderr: /'
				} >&2
				return 1
			fi
			mapfile -t -O "${#targets[@]}" targets < <(redirect_targets "$cmd")
		done < <(commands "$f")
		[ -s "$f" ] || { echo "${page##*/}: example $n is empty" >&2; return 1; }
		if [ -f "$x/$n.creates" ]; then
			for t in $(cat "$x/$n.creates"); do
				targets+=("$t")
			done
		elif [ "${#targets[@]}" -eq 0 ] && [ ! -s "$x/$n.out" ]; then
			echo "${page##*/}: example $n printed nothing and names no output" >&2
			return 1
		fi
		for t in ${targets[@]+"${targets[@]}"}; do
			if [ -d "$sb/$t" ]; then
				[ -n "$(ls -A "$sb/$t")" ] && continue
			elif [ -s "$sb/$t" ]; then
				continue
			fi
			echo "${page##*/}: example $n: $t is missing or empty" >&2
			return 1
		done
	done
}

@test "examples: the conventions hold, and a broken example fails the run" {
	local p=$BATS_TEST_TMPDIR/x.1
	cat > "$p" <<'EOF'
.SH EXAMPLES
.\" example-inputs: calls.ndjson
Prose is not run.
.EX
wc \e
    \-l calls.ndjson > n.txt
printf '%s\en' 'a
b' | grep \-c . &&
  true
.EE
.\" example-creates: out
.EX
mkdir out && touch out/x
.EE
.\" example-skip: needs a cluster
.EX
false
.EE
.SH SEE ALSO
.EX
false
.EE
EOF
	run run_examples "$p" "$BATS_TEST_TMPDIR/sb"
	assert_success
	assert_equal "$(tr -d ' ' < "$BATS_TEST_TMPDIR/sb/n.txt")" 5000calls.ndjson
	assert_equal "$(cat "$BATS_TEST_TMPDIR/sb.x/01.out")" 2

	# A failing command, an empty named output, a block that shows
	# nothing, a skip without a reason, .nf: each fails the run.
	local bad
	for bad in 'cdr-validate \-\-no\-such\-option' 'touch empty.txt > e.txt' ': quiet' \
	    $'.\\" example-skip:\nfalse' $'.nf\ntrue'; do
		printf '.SH EXAMPLES\n.EX\n%s\n.EE\n' "$bad" > "$p"
		run run_examples "$p" "$BATS_TEST_TMPDIR/sb"
		assert_failure
	done
	printf '.SH EXAMPLES\n.\\" example-creates: none\n.EX\ntrue\n.EE\n' > "$p"
	run run_examples "$p" "$BATS_TEST_TMPDIR/sb"
	assert_failure
	assert_output --partial 'none is missing or empty'
}

@test "examples: every page runs all its examples (none skipped)" {
	run grep -l 'example-skip:' "$MAN"/cdr-*.1
	assert_output ''
	local t
	for t in "$CDR_BIN"/cdr-*; do
		[ -f "$MAN/${t##*/}.1" ] || fail "no man page for ${t##*/}"
	done
}

@test "examples: cdr-gen.1" {
	run_examples "$MAN/cdr-gen.1" "$BATS_TEST_TMPDIR/sb"
}

@test "examples: cdr-validate.1" {
	run_examples "$MAN/cdr-validate.1" "$BATS_TEST_TMPDIR/sb"
}

@test "examples: cdr-partition.1" {
	run_examples "$MAN/cdr-partition.1" "$BATS_TEST_TMPDIR/sb"
}

@test "examples: cdr-tocsv.1" {
	run_examples "$MAN/cdr-tocsv.1" "$BATS_TEST_TMPDIR/sb"
}

@test "examples: cdr-rollup.1" {
	run_examples "$MAN/cdr-rollup.1" "$BATS_TEST_TMPDIR/sb"
}

@test "examples: cdr-resample.1" {
	run_examples "$MAN/cdr-resample.1" "$BATS_TEST_TMPDIR/sb"
}

@test "examples: cdr-tier.1" {
	run_examples "$MAN/cdr-tier.1" "$BATS_TEST_TMPDIR/sb"
}
