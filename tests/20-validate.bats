#!/usr/bin/env bats
# cdr-validate: schemas, dead letters, conservation, de-duplication.

load helpers/common

V() { "$CDR_BIN/cdr-validate" "$@"; }
FX=$BATS_TEST_DIRNAME/fixtures/validate

setup() {
	cd "$BATS_TEST_TMPDIR"
	cp "$FX"/mini.* .
}

# conservation FILE STATS: read = written + rejected + duplicates + filtered
conserved() {
	jq -e '.read == .written + .rejected + .duplicates + .filtered' "$1" >/dev/null ||
		fail "not conserved: $(cat "$1")"
}

@test "validate: --help on stdout, exit 0; usage mirrors the man page synopsis" {
	run --separate-stderr V --help
	assert_success
	assert_output --partial 'usage: cdr-validate'
	[ -z "$stderr" ]
	for opt in --schema --dead-letter --normalize --rule --where --dedupe --horizon \
	    --state --duplicates --max-errors --max-error-rate --stats --tz --replay \
	    --list-schemas --max-record; do
		grep -q -- "${opt//-/\\\\-}" "$BATS_TEST_DIRNAME/../share/man/man1/cdr-validate.1" ||
			fail "man page lacks $opt"
		[[ $output == *"$opt"* ]] || fail "--help lacks $opt"
	done
}

@test "validate: --version names the libraries" {
	run V --version
	assert_success
	assert_line --index 0 --regexp '^cdr-validate \(cdrpipe\) [0-9]'
	assert_output --partial 'libarchive'
	assert_output --partial 'zlib'
	assert_output --partial 'libjq'
}

@test "validate: usage errors exit 2" {
	run V --bogus
	assert_failure 2
	run V --schema no-such-schema
	assert_failure 2
	assert_output --partial 'no-such-schema: no such schema'
	run V --rule '.a |||'
	assert_failure 2
	assert_output --partial '--rule'
	run V --tz Mars/Olympus
	assert_failure 2
	run V --horizon 7d
	assert_failure 2
	run V --replay -s call
	assert_failure 2
	run V --max-error-rate 2
	assert_failure 2
}

@test "validate: a missing input exits 3 and commits no output" {
	run V -s mini.json -o out.ndjson --dead-letter dl.ndjson mini.ndjson missing.ndjson
	assert_failure 3
	assert_output --partial 'missing.ndjson: No such file or directory'
	[ ! -e out.ndjson ] && [ ! -e dl.ndjson ]
	no_temp_files .
}

@test "validate: schema checks, normalisation and dead letters byte for byte" {
	run -1 V -s mini.json --normalize --dead-letter dl.ndjson -o out.ndjson mini.ndjson
	assert_file_equal "$FX/mini-expected.ndjson" out.ndjson
	assert_file_equal "$FX/mini-expected.dead.ndjson" dl.ndjson
	assert_output --partial '7 read, 2 written, 5 rejected, 0 duplicates'
}

@test "validate: headerless Asterisk CSV becomes typed NDJSON in UTC" {
	run -1 V -s asterisk-csv --tz Europe/Berlin --normalize --dead-letter dl.ndjson \
		-o out.ndjson - < "$FX/asterisk-master.csv"
	assert_file_equal "$FX/asterisk-expected.ndjson" out.ndjson
	assert_file_equal "$FX/asterisk-expected.dead.ndjson" dl.ndjson
	# the typed output is what jq reads: numbers are numbers, null is null
	run jq -r '[(.duration|type), (.answer|type)] | @tsv' out.ndjson
	assert_line --index 1 $'number\tnull'
}

@test "validate: CSV with a header and dotted columns nests objects" {
	printf 'id,t,m.x,m.y\nk1,2026-01-01T00:00:00Z,2.5,"say ""hi"""\n' > in.csv
	cat > s.json <<-'J'
	{"fields":[{"name":"id","type":"string"},{"name":"t","type":"timestamp"},
	 {"name":"m.x","type":"number"},{"name":"m.y","type":"string"}]}
	J
	run V -q -s ./s.json in.csv
	assert_success
	assert_output '{"id":"k1","t":"2026-01-01T00:00:00Z","m":{"x":2.5,"y":"say \"hi\""}}'
}

@test "validate: error budget decides the exit status, outputs are committed either way" {
	run V -q -s mini.json -o a.ndjson mini.ndjson
	assert_failure 1
	[ -s a.ndjson ]
	run V -q -s mini.json -o b.ndjson --max-errors 5 mini.ndjson
	assert_success
	run V -q -s mini.json -o c.ndjson --max-errors 4 mini.ndjson
	assert_failure 1
	run V -q -s mini.json -o d.ndjson --max-error-rate 72% mini.ndjson
	assert_success
	run V -q -s mini.json -o e.ndjson --max-error-rate 0.7 mini.ndjson
	assert_failure 1
}

@test "validate: --stats counts every reason and conserves records" {
	run V -q -s mini.json --max-errors 9 --stats st.json -o /dev/null mini.ndjson
	assert_success
	conserved st.json
	run jq -c '[.read,.written,.rejected,.reasons["parse"],.reasons["type:n"],.reasons["required:id"],.reasons["end_after_t:end"]]' st.json
	assert_output '[7,2,5,1,1,1,1]'
}

@test "validate: --rule and --where (filtered records are not rejects)" {
	run V -s mini.json --max-errors 9 --rule '.n < 5' --where '.kind == "a"' \
		--stats st.json mini.ndjson
	assert_success
	assert_output --partial '"id":"a1"'
	refute_output --partial '"id":"a7"'
	conserved st.json
	run jq -c '[.written,.filtered,.reasons.rule1]' st.json
	assert_output '[1,0,1]'
	run V -q --where '.n > 3' mini.ndjson --max-errors 9 --stats st2.json
	assert_success
	run jq -c '[.written,.filtered,.rejected]' st2.json
	assert_output '[4,2,1]'
}

@test "validate: dead letters plus valid output reproduce the input (replay)" {
	printf '{"a":1}\n{"a":"\xff\xfe"}\n{"a":2,"a":3}\nnot json\n{"b":"\\u0000"}\n' > in.ndjson
	run V -q --dead-letter dl.ndjson --max-errors 9 -o ok.ndjson in.ndjson
	assert_success
	run jq -r '.record_base64 // empty' dl.ndjson
	assert_output "$(printf '{"a":"\xff\xfe"}' | base64)"
	V --replay dl.ndjson > back.ndjson
	cat ok.ndjson back.ndjson | sort > got
	sort in.ndjson > want
	assert_file_equal want got
}

@test "validate: hostile input never crashes and every line is accounted for" {
	{
		printf '%*s' 5000 '' | tr ' ' '[' ; echo
		printf '{"n":1e400}\n{"s":"\\ud800"}\n{"k":1,"k":2}\n'
		printf '{"z":"a\0b"}\n'
		head -c 3000 /dev/urandom | tr -d '\n'; echo
		printf '{"big":"'; head -c 100000000 /dev/zero | tr '\0' x; printf '"}\n'
		printf '\xef\xbb\xbf{"late":"bom"}\n'
	} > hostile.ndjson
	run V -q -s mini.json --max-errors 99 --stats st.json --dead-letter dl.ndjson -o ok.ndjson hostile.ndjson
	assert_success
	conserved st.json
	run jq -r .read st.json
	assert_output 8
	[ "$(wc -l < dl.ndjson)" -eq "$(jq -r .rejected st.json)" ]
}

@test "validate: --dedupe drops repeats; many runs with --state equal one run" {
	for i in 1 2 3 4 5 6; do
		printf '{"id":"k%d","t":"2026-11-22T0%d:00:00Z"}\n' $((i % 4)) "$i"
	done > d.ndjson
	run V -s mini.json --dedupe id --duplicates dups.ndjson --stats st.json -o one.ndjson d.ndjson
	assert_success
	assert_output --partial '6 read, 4 written, 0 rejected, 2 duplicates'
	conserved st.json
	run jq -r .id dups.ndjson
	assert_output $'k1\nk2'
	head -n 3 d.ndjson > p1; tail -n 3 d.ndjson > p2
	V -q -s mini.json --dedupe id --state s.state -o r1.ndjson p1
	V -q -s mini.json --dedupe id --state s.state -o r2.ndjson p2
	cat r1.ndjson r2.ndjson > many.ndjson
	assert_file_equal one.ndjson many.ndjson
	# the state remembers its key fields
	run V -q -s mini.json --dedupe id,t --state s.state p2
	assert_failure 3
	assert_output --partial 'made with --dedupe id'
	# a damaged state file is refused
	printf 'garbage' > bad.state
	run V -q -s mini.json --dedupe id --state bad.state p2
	assert_failure 3
}

@test "validate: --horizon forgets keys older than the horizon in event time" {
	printf '%s\n' \
		'{"id":"x","t":"2026-11-01T00:00:00Z"}' \
		'{"id":"y","t":"2026-11-03T00:00:00Z"}' \
		'{"id":"x","t":"2026-11-03T01:00:00Z"}' \
		'{"id":"y","t":"2026-11-03T02:00:00Z"}' > h.ndjson
	run V -s mini.json --dedupe id --horizon 1d h.ndjson
	assert_success
	assert_output --partial '4 read, 3 written, 0 rejected, 1 duplicates'
	# the same split over two runs
	head -n 2 h.ndjson > a; tail -n 2 h.ndjson > b
	V -q -s mini.json --dedupe id --horizon 1d --state h.state a > o1
	V -q -s mini.json --dedupe id --horizon 1d --state h.state b > o2
	run cat o1 o2
	assert_equal "$(cat o1 o2 | jq -c .id | tr -d '\n')" '"x""y""x"'
}

@test "validate: --time with several fields: each kind of event expires by its own time" {
	cat > ev.json <<-'EOF'
	{"name": "ev", "additional": false, "fields": [
	  {"name": "kind", "type": "string", "required": true},
	  {"name": "id", "type": "string", "required": true},
	  {"name": "sent", "type": "timestamp", "when": {"kind": "sent"}, "required": true},
	  {"name": "clicked", "type": "timestamp", "when": {"kind": "click"}, "required": true}]}
	EOF
	# The repeated click (line 4) is 3 hours older than the latest event:
	# beyond a 1h horizon by its own time, so it cannot be checked (late).
	printf '%s\n' \
		'{"kind":"sent","id":"m1","sent":"2026-11-01T00:00:00Z"}' \
		'{"kind":"click","id":"m1","clicked":"2026-11-01T01:00:00Z"}' \
		'{"kind":"sent","id":"m2","sent":"2026-11-01T04:00:00Z"}' \
		'{"kind":"click","id":"m1","clicked":"2026-11-01T01:00:00Z"}' > ev.ndjson
	run V -s ev.json --dedupe kind,id,clicked --time sent,clicked --horizon 1h \
		--stats st.json ev.ndjson
	assert_success
	assert_output --partial '4 read, 4 written, 0 rejected, 0 duplicates'
	assert_equal "$(jq -c '[.late, .dedupe_keys]' st.json)" '[1,3]'
	# A click repeated within the horizon of its own time is a duplicate.
	printf '%s\n' \
		'{"kind":"sent","id":"m1","sent":"2026-11-01T00:00:00Z"}' \
		'{"kind":"click","id":"m1","clicked":"2026-11-01T03:30:00Z"}' \
		'{"kind":"sent","id":"m2","sent":"2026-11-01T04:00:00Z"}' \
		'{"kind":"click","id":"m1","clicked":"2026-11-01T03:30:00Z"}' > ev2.ndjson
	run V -s ev.json --dedupe kind,id,clicked --time sent,clicked --horizon 1h ev2.ndjson
	assert_success
	assert_output --partial '4 read, 3 written, 0 rejected, 1 duplicates'
	# With the sent time only, the click is stamped with the latest time
	# seen (00:00) and expires before its repeat comes.
	run V -s ev.json --dedupe kind,id,clicked --time sent --horizon 1h ev2.ndjson
	assert_success
	assert_output --partial '4 read, 4 written, 0 rejected, 0 duplicates'
	run V -s ev.json --dedupe id --time sent,kind --horizon 1h ev.ndjson
	assert_failure 2
	assert_output --partial '--time kind: not a timestamp field of schema ev'
}

@test "validate: compressed input and stdin give the same output" {
	gzip -c mini.ndjson > m.gz
	xz -c mini.ndjson > m.xz
	V -q -s mini.json --max-errors 9 mini.ndjson > a
	V -q -s mini.json --max-errors 9 m.gz > b
	V -q -s mini.json --max-errors 9 - < m.xz > c
	assert_file_equal a b
	assert_file_equal a c
}

@test "validate: -o refuses an existing file without -f" {
	echo old > out.ndjson
	run V -q -s mini.json --max-errors 9 -o out.ndjson mini.ndjson
	assert_failure 3
	assert_output --partial 'file exists'
	[ "$(cat out.ndjson)" = old ]
	run V -q -s mini.json --max-errors 9 -f -o out.ndjson mini.ndjson
	assert_success
	assert_file_equal "$FX/../validate/mini.ndjson" mini.ndjson
	[ "$(wc -l < out.ndjson)" -eq 2 ]
}

@test "validate: writing to a full disk exits 3" {
	run V -q -s mini.json --max-errors 9 -o /dev/full mini.ndjson
	assert_failure 3
	assert_output --partial 'No space left on device'
	run bash -c "'$CDR_BIN/cdr-validate' -q --max-errors 9 mini.ndjson > /dev/full"
	assert_failure 3
}

@test "validate: an interrupted run leaves no partial output" {
	mkfifo slow
	( printf '{"id":"a1","t":"2026-01-01T00:00:00Z"}\n'; sleep 5 ) > slow &
	"$CDR_BIN/cdr-validate" -q -s mini.json -o out.ndjson --dead-letter dl.ndjson slow &
	pid=$!
	# wait until the outputs are open (their temporary files exist)
	for _ in $(seq 50); do
		[ -n "$(find . -name '.out.ndjson.tmp.*')" ] && break
		sleep 0.1
	done
	[ -n "$(find . -name '.out.ndjson.tmp.*')" ] || fail "output never opened"
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	[ ! -e out.ndjson ] && [ ! -e dl.ndjson ]
	no_temp_files .
	kill %1 2>/dev/null || true
}

@test "validate: every shipped schema loads, is listed and is documented" {
	run V --list-schemas
	assert_success
	local s f man=$BATS_TEST_DIRNAME/../share/man/man1/cdr-validate.1
	for f in "$CDR_SHARE"/schemas/*.json; do
		s=$(basename "$f" .json)
		assert_line --regexp "^$s +"
		grep -q "^\.B $s\$" "$man" || fail "man page has no section for $s"
		# every top-level field name is mentioned in the man page
		for name in $(jq -r '.fields[].name | split(".")[0]' "$f" | sort -u); do
			grep -qF -- "$name" "$man" || fail "man page does not mention $s field $name"
		done
	done
}

@test "validate: every error cdr-gen injects is caught with the right reason, no clean record rejected" {
	"$CDR_BIN/cdr-gen" calls -n 20000 --seed 11 --error-rate 0.02 --duplicate-rate 0.005 \
		--truth truth.ndjson -o calls.ndjson
	run V -q -s call --dedupe call_id --dead-letter dl.ndjson --duplicates dups.ndjson \
		--max-error-rate 3% --stats st.json -o ok.ndjson calls.ndjson
	assert_success
	conserved st.json
	# the rejected lines are exactly the injected ones
	jq -r 'select(.kind != "duplicate") | .line' truth.ndjson | sort -n > want
	jq -r '.line' dl.ndjson | sort -n > got
	assert_file_equal want got
	# each with the reason its kind calls for
	jq -c 'select(.kind != "duplicate") | {line, kind, field}' truth.ndjson | sort > kinds
	jq -c '{line, checks: [.errors[].check], fields: [.errors[].field]}' dl.ndjson | sort > found
	run python3 - kinds found <<-'PY'
	import json, sys
	expect = {
	    "truncated-json": "parse", "not-json": "parse", "not-object": "parse",
	    "trailing-comma": "parse", "duplicate-key": "parse", "nul-byte": "parse",
	    "invalid-utf8": "parse", "bad-escape": "parse", "empty-object": "required",
	    "wrong-type": "type", "missing-field": "required", "bad-timestamp": "timestamp",
	    "end-before-start": "end_after_start", "null-field": "null",
	    "out-of-range": ("min", "max"), "bad-enum": "enum",
	}
	kinds = {}
	for l in open(sys.argv[1]):
	    k = json.loads(l); kinds[k["line"]] = k
	bad = 0
	for l in open(sys.argv[2]):
	    f = json.loads(l); k = kinds[f["line"]]
	    want = expect[k["kind"]]
	    want = want if isinstance(want, tuple) else (want,)
	    if not any(c in want for c in f["checks"]):
	        print("line", f["line"], k["kind"], "caught as", f["checks"]); bad += 1
	    elif k.get("field") and want[0] not in ("parse",) and k["field"] not in f["fields"]:
	        print("line", f["line"], k["kind"], "field", k["field"], "not in", f["fields"]); bad += 1
	    if k["kind"] not in expect:
	        print("unknown kind", k["kind"]); bad += 1
	sys.exit(1 if bad else 0)
	PY
	assert_success
	# duplicates: exactly the injected ones, none of them in the output
	[ "$(jq -r .duplicates st.json)" -eq "$(jq -c 'select(.kind == "duplicate")' truth.ndjson | wc -l)" ]
	[ "$(wc -l < ok.ndjson)" -eq "$(jq -r .written st.json)" ]
	[ "$(jq -r .call_id ok.ndjson | sort | uniq -d | wc -l)" -eq 0 ]
}

@test "validate: records stream through a pipe before the input ends" {
	mkfifo in
	"$CDR_BIN/cdr-validate" -q < in > out &
	local pid=$!
	exec 7> in
	printf '{"a":1}\n' >&7
	# the first record comes out while the input is still open
	for _ in $(seq 100); do
		[ -s out ] && break
		sleep 0.1
	done
	assert_equal "$(cat out)" '{"a":1}'
	printf '{"a":2}\n' >&7
	exec 7>&-
	wait "$pid"
	assert_equal "$(cat out)" $'{"a":1}\n{"a":2}'
}
