#!/usr/bin/env bats
# cdr-gen: determinism, record shapes, malformed and repeated records with
# their --truth, CSV, the SMS streams, organisations, WAV files, pacing,
# and errors.  Records are checked by jq and by an independent reader
# (helpers/gen_oracle.py), WAV files by Python's wave module.

load helpers/common

G() { "$CDR_BIN/cdr-gen" "$@"; }
ORACLE=$BATS_TEST_DIRNAME/helpers/gen_oracle.py
MAN=$BATS_TEST_DIRNAME/../share/man/man1/cdr-gen.1

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# bad_lines KIND FORMAT FILE: the lines the oracle finds invalid, sorted.
bad_lines() {
	python3 "$ORACLE" "$@" | sort -n
}

# truth_lines FILE [jq-filter]: line numbers in a --truth file, sorted.
truth_lines() {
	jq -r "select(${2:-true}) | .line" "$1" | sort -n
}

@test "gen: --help on stdout, exit 0; every option is in the man page" {
	run --separate-stderr G --help
	assert_success
	[ -z "$stderr" ]
	assert_line --index 0 --partial 'usage: cdr-gen'
	for opt in --dir --force --kind --count --format --output --seed --start \
	    --days --span --tenants --agents --queues --campaigns --error-rate \
	    --duplicate-rate --truth --rate --duration --min-duration \
	    --max-duration --rate-hz --channels --bits --help --version; do
		[[ $output == *"$opt"* ]] || fail "--help lacks $opt"
		grep -q -- "${opt//-/\\\\-}" "$MAN" || fail "man page lacks $opt"
	done
	for kind in calls sms sms-sent sms-delivery sms-click agent-states orgs wav; do
		[[ $output == *"$kind"* ]] || fail "--help lacks $kind"
	done
}

@test "gen: --version names the program and the libraries" {
	run G --version
	assert_success
	assert_line --index 0 --regexp '^cdr-gen \(cdrpipe\) [0-9]'
	assert_output --partial 'zlib'
}

@test "gen: an unknown option is a usage error (2)" {
	run --separate-stderr G --no-such-option calls
	assert_failure 2
	[ -z "$output" ]
	[[ $stderr == *usage:* ]]
}

@test "gen: no kind, an unknown kind, two kinds are usage errors" {
	run --separate-stderr G
	assert_failure 2
	[[ $stderr == *"no kind"* ]]
	run --separate-stderr G phone-calls
	assert_failure 2
	[[ $stderr == *"unknown kind 'phone-calls'"* ]]
	run --separate-stderr G -k sms calls
	assert_failure 2
	[[ $stderr == *"two kinds"* ]]
	run --separate-stderr G calls sms
	assert_failure 2
}

@test "gen: a bad value names the option and the reason (2)" {
	while read -r opt value why; do
		run --separate-stderr G "$opt" "$value" calls
		[ "$status" -eq 2 ] || fail "$opt $value: status $status"
		[ -z "$output" ] || fail "$opt $value wrote data"
		[[ $stderr == *"cdr-gen: $opt: "*"$why"* ]] ||
			fail "$opt $value: stderr: $stderr"
	done <<-'EOF'
	-n abc not a number
	-n -5 negative
	--error-rate 1.5 out of range
	--error-rate 120% out of range
	--duplicate-rate x not a number
	--days 0 out of range
	--span 3x
	--seed -1 negative
	--start yesterday
	--start 2026-13-01T00:00:00Z month
	--rate 0 out of range
	--tenants 0 out of range
	--agents 5 fewer agents
	--campaigns 0 out of range
	EOF
	run --separate-stderr G -O xml calls
	assert_failure 2
	[[ $stderr == *"-O: unknown format 'xml'"* ]]
	run --separate-stderr G -d d --bits 12 wav
	assert_failure 2
	[[ $stderr == *--bits* ]]
	run --separate-stderr G -d d --channels 3 wav
	assert_failure 2
	[[ $stderr == *--channels* ]]
}

@test "gen: conflicting options are usage errors (2)" {
	while read -r args; do
		# shellcheck disable=SC2086
		run --separate-stderr G $args
		[ "$status" -eq 2 ] || fail "$args: status $status"
		[ -n "$stderr" ] || fail "$args: no message"
		[ -z "$output" ] || fail "$args: wrote data"
	done <<-'EOF'
	--days 2 --span 36h calls
	--rate 10 orgs
	--rate 10 --days 2 calls
	--rate 10 -d x wav
	wav
	--duration 5s calls
	-d x calls
	-d x --duration 5s --min-duration 1s wav
	-d x --min-duration 5s --max-duration 2s wav
	-d x --error-rate 0.1 wav
	--truth - calls
	-n 5 --tenants 6 orgs
	EOF
}

@test "gen: a write error is an I/O error (3) with a message" {
	run bash -c "'$CDR_BIN/cdr-gen' -n 10 calls > /dev/full"
	assert_failure 3
	assert_output --partial 'cdr-gen: stdout: write error'
	run G -n 10 -o /dev/full calls
	assert_failure 3
	assert_output --partial '/dev/full'
}

@test "gen: -o refuses an existing file without -f and replaces it with -f" {
	echo old > out.ndjson
	run G -n 5 -o out.ndjson calls
	assert_failure 3
	assert_output --partial 'file exists'
	[ "$(cat out.ndjson)" = old ]
	run G -n 5 -o out.ndjson --force calls
	assert_success
	[ "$(wc -l < out.ndjson)" -eq 5 ]
	G -n 5 calls > stdout.ndjson
	assert_file_equal stdout.ndjson out.ndjson
	echo old > truth.ndjson
	run G -n 5 --error-rate 0.2 --truth truth.ndjson calls
	assert_failure 3
	[ "$(cat truth.ndjson)" = old ]
	no_temp_files .
}

@test "gen: an interrupted run leaves no partial file" {
	"$CDR_BIN/cdr-gen" -n 50000000 -o big.ndjson calls &
	pid=$!
	sleep 0.5
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 143 ]
	[ ! -e big.ndjson ]
	no_temp_files .
}

@test "gen: the same seed gives the same bytes, another seed others" {
	for kind in calls sms sms-click agent-states orgs; do
		for fmt in ndjson csv; do
			G -n 300 -O "$fmt" --seed 7 "$kind" > a
			G -n 300 -O "$fmt" --seed 7 --kind "$kind" > b
			G -n 300 -O "$fmt" --seed 8 "$kind" > c
			[ -s a ] || fail "$kind $fmt: empty"
			assert_file_equal a b
			cmp -s a c && fail "$kind $fmt: seeds 7 and 8 agree"
		done
	done
	G -n 300 --seed 7 --error-rate 0.1 --duplicate-rate 0.05 --truth t1 calls > a
	G -n 300 --seed 7 --error-rate 0.1 --duplicate-rate 0.05 --truth t2 calls > b
	assert_file_equal a b
	assert_file_equal t1 t2
}

@test "gen: -n sets the count; every line is JSON" {
	for kind in calls agent-states; do
		G -n 1234 "$kind" > out
		[ "$(wc -l < out)" -eq 1234 ] || fail "$kind: $(wc -l < out) lines"
		jq -c . out > /dev/null
	done
	G -n 500 sms > out
	jq -c . out > /dev/null
	[ "$(jq -r 'select(.event == "sent") | .message_id' out | sort -u | wc -l)" -eq 500 ]
	G -n 0 calls > out
	[ ! -s out ]
	G -n 0 -O csv calls > out
	[ "$(wc -l < out)" -eq 1 ]
}

@test "gen: calls have the documented keys, types and values" {
	G -n 3000 calls > calls.ndjson
	run jq -e -s '
	    map(keys_unsorted) | unique == [["call_id","tenant_id","call_type",
	      "start_time","answer_time","end_time","duration_s","billsec",
	      "agent_id","queue_id","caller","callee","status","disposition",
	      "hangup_cause","recording_key","meta"]]' calls.ndjson
	assert_success
	run jq -e -s 'map(.meta | keys_unsorted - ["notes"]) | unique ==
	    [["campaign_id","region","codec","mos","pdd_ms","wrapup_s","tags"]]' calls.ndjson
	assert_success
	run jq -e -s 'all(
	    (.call_id | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) and
	    (.tenant_id | test("^t[0-9]{4}$")) and
	    (.call_type | IN("inbound","outbound","internal")) and
	    (.start_time | test("^2026-11-2[23]T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
	    (.duration_s | type == "number" and . == floor and . >= 0) and
	    (.billsec | type == "number" and . >= 0 and . <= 86400) and
	    (.caller, .callee | test("^\\+[1-9][0-9]{6,14}$")) and
	    (.hangup_cause | IN(1,16,17,18,19,21,27,28,31,34,38,41,102)) and
	    (.status | IN("answered","no_answer","busy","failed","abandoned")) and
	    (.meta.codec | . == null or IN("PCMU","PCMA","G722","OPUS")) and
	    (.meta.mos | . == null or (type == "number" and . >= 1 and . <= 4.5)) and
	    (.meta.pdd_ms | type == "number" and . >= 0) and
	    (.meta.tags | type == "array" and all(type == "string")) and
	    ((.status == "answered") == (.answer_time != null)) and
	    ((.status == "answered") == (.agent_id != null)) and
	    ((.status == "answered") == (.recording_key != null)) and
	    ((.status == "answered") == (.meta.mos != null)))' calls.ndjson
	assert_success
	# Every call is also valid for the independent reader.
	run bad_lines calls ndjson calls.ndjson
	assert_success
	assert_output ''
}

@test "gen: call times agree with durations; recording keys follow Amazon Connect" {
	G -n 3000 calls > calls.ndjson
	python3 - calls.ndjson <<-'EOF'
	import json, sys, datetime, re
	def ms(s):
	    d = datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ')
	    return round(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    s, e = ms(r['start_time']), ms(r['end_time'])
	    assert e >= s, r
	    assert r['duration_s'] == (e - s + 500) // 1000, r
	    if r['answer_time'] is not None:
	        a = ms(r['answer_time'])
	        assert s <= a <= e, r
	        assert r['billsec'] == (e - a + 500) // 1000, r
	        k = r['recording_key']
	        d = datetime.datetime.utcfromtimestamp(s / 1000)
	        want = 'CallRecordings/%s/%s_%sT%s_UTC.wav' % (
	            d.strftime('%Y/%m/%d'), r['call_id'], d.strftime('%Y%m%d'),
	            d.strftime('%H:%M'))
	        assert re.match(r'^connect/[a-z0-9-]+/', k) and k.endswith(want), k
	    else:
	        assert r['billsec'] == 0 and r['recording_key'] is None, r
	EOF
}

@test "gen: calls come in time order within --start and --days" {
	G -n 2000 --start 2027-03-01T06:00:00Z --days 3 calls > calls.ndjson
	run jq -e -s 'map(.start_time) | . == sort and
	    first >= "2027-03-01T06:00:00.000Z" and last < "2027-03-04T06:00:00.000Z"' calls.ndjson
	assert_success
	G -n 500 --span 90m calls > short.ndjson
	run jq -e -s 'map(.start_time) | first >= "2026-11-22T00:00:00.000Z" and
	    last < "2026-11-22T01:30:00.000Z"' short.ndjson
	assert_success
}

@test "gen: answer-seizure ratio is 60-75% and every status occurs" {
	G -n 20000 calls > calls.ndjson
	run jq -e -s '(map(select(.status == "answered")) | length) / length |
	    . >= 0.60 and . <= 0.75' calls.ndjson
	assert_success
	run jq -r .status calls.ndjson
	for s in answered no_answer busy failed abandoned; do
		assert_line "$s"
	done
}

@test "gen: weekends are quieter than weekdays" {
	# 2026-11-23 is a Monday.
	G -n 20000 --start 2026-11-23T00:00:00Z --days 7 calls > week.ndjson
	run jq -e -s 'group_by(.start_time[0:10]) | map(length) as $n |
	    ($n[0:5] | min) > ($n[5:7] | max) * 1.3' week.ndjson
	assert_success
}

@test "gen: some records carry unicode, quotes, backslashes and line breaks" {
	G -n 20000 calls > calls.ndjson
	run jq -r '.meta.notes // empty' calls.ndjson
	assert_success
	[[ $output == *"ü"* ]] || fail "no accents"
	[[ $output == *"😊"* ]] || fail "no emoji"
	[[ $output == *'"'* ]] || fail "no quotes"
	[[ $output == *'\'* ]] || fail "no backslash"
	grep -qF '\"' calls.ndjson
	grep -qF '\\' calls.ndjson
	grep -qF '\n' calls.ndjson
	grep -qF '"notes":""' calls.ndjson
	G orgs > orgs.ndjson
	jq -e -s 'map(.OrgName) | any(test("[^\\u0000-\\u007f]"))' orgs.ndjson
}

@test "gen: --error-rate corrupts exactly round(N x R) records, as --truth says" {
	G -n 1000 --error-rate 5% --truth truth.ndjson calls > calls.ndjson
	[ "$(wc -l < calls.ndjson)" -eq 1000 ]
	[ "$(wc -l < truth.ndjson)" -eq 50 ]
	bad_lines calls ndjson calls.ndjson > oracle
	truth_lines truth.ndjson > truth
	assert_file_equal truth oracle
	# jq agrees: what cannot parse does not, what is missing is missing.
	while read -r line kind field; do
		# Not through a variable: the shell would drop NUL bytes.
		rec() { sed -n "${line}p" calls.ndjson; }
		case $kind in
		truncated-json|not-json|trailing-comma|bad-escape)
			if rec | jq . > /dev/null 2>&1; then
				fail "line $line ($kind) parses"
			fi ;;
		nul-byte)
			# jq 1.6 takes a raw NUL in a string: count bytes instead.
			[ "$(rec | tr -d '\0' | wc -c)" -lt "$(rec | wc -c)" ] ||
				fail "line $line has no NUL" ;;
		missing-field)
			rec | jq -e --arg f "$field" \
			    '($f | split(".")) as $p | getpath($p[:-1]) | has($p[-1]) | not' > /dev/null ||
				fail "line $line still has $field" ;;
		null-field)
			rec | jq -e --arg f "$field" \
			    'getpath($f | split(".")) == null' > /dev/null ||
				fail "line $line: $field not null" ;;
		empty-object)
			[ "$(rec)" = '{}' ] || fail "line $line: $(rec)" ;;
		not-object)
			rec | jq -e 'type == "array"' > /dev/null ||
				fail "line $line: $(rec)" ;;
		esac
	done < <(jq -r '[.line, .kind, .field // "-"] | @tsv' truth.ndjson)
}

@test "gen: every kind of corruption comes in turn" {
	G -n 2000 --error-rate 0.05 --truth t.ndjson calls > /dev/null
	run jq -r .kind t.ndjson
	for k in truncated-json wrong-type missing-field bad-timestamp \
	    end-before-start invalid-utf8 not-json duplicate-key nul-byte \
	    empty-object null-field bad-enum out-of-range trailing-comma \
	    bad-escape not-object; do
		assert_line "$k"
	done
	G -n 2000 -O csv --error-rate 0.05 --truth c.ndjson calls > /dev/null
	run jq -r .kind c.ndjson
	for k in truncated-row wrong-type missing-field bad-timestamp \
	    end-before-start invalid-utf8 not-csv nul-byte empty-line bad-enum \
	    out-of-range extra-column bare-quote; do
		assert_line "$k"
	done
	# A field-level corruption names its field.
	run jq -e -s 'map(select(.kind | IN("wrong-type","missing-field",
	    "bad-timestamp","null-field","bad-enum")) | has("field")) | all' t.ndjson
	assert_success
}

@test "gen: records around a corrupted one are as without --error-rate" {
	G -n 800 --seed 3 calls > clean
	G -n 800 --seed 3 --error-rate 0.1 --truth truth.ndjson calls > dirty
	python3 -c '
import sys
a = open(sys.argv[1], "rb").read().split(b"\n")
b = open(sys.argv[2], "rb").read().split(b"\n")
assert len(a) == len(b)
print("\n".join(str(i + 1) for i, (x, y) in enumerate(zip(a, b)) if x != y))
' clean dirty > changed
	truth_lines truth.ndjson > truth
	assert_file_equal truth changed
	[ "$(wc -l < truth)" -eq 80 ]
}

@test "gen: --error-rate accepts 0.05 and 5%; 1 corrupts every record" {
	G -n 300 --error-rate 0.05 calls > a
	G -n 300 --error-rate 5% calls > b
	assert_file_equal a b
	G -n 40 --error-rate 1 --truth t1.ndjson agent-states > all
	[ "$(wc -l < t1.ndjson)" -eq 40 ]
	[ "$(bad_lines agent-states ndjson all | wc -l)" -eq 40 ]
	G -n 333 --error-rate 0.1 --truth t2.ndjson agent-states > some
	[ "$(wc -l < t2.ndjson)" -eq 33 ]
	bad_lines agent-states ndjson some > oracle
	truth_lines t2.ndjson > truth
	assert_file_equal truth oracle
}

@test "gen: CSV corruption matches --truth, by physical line" {
	G -n 3000 -O csv --error-rate 0.04 --truth truth.ndjson calls > calls.csv
	[ "$(wc -l < truth.ndjson)" -eq 120 ]
	bad_lines calls csv calls.csv > oracle
	truth_lines truth.ndjson > truth
	assert_file_equal truth oracle
	G -n 3000 -O csv --error-rate 0.04 --truth truth2.ndjson agent-states > agents.csv
	bad_lines agent-states csv agents.csv > oracle2
	truth_lines truth2.ndjson > truth2
	assert_file_equal truth2 oracle2
}

@test "gen: --duplicate-rate repeats whole lines, listed with their original" {
	G -n 1000 --duplicate-rate 0.02 --truth truth.ndjson calls > calls.ndjson
	[ "$(wc -l < calls.ndjson)" -eq 1020 ]
	[ "$(jq -r .call_id calls.ndjson | sort -u | wc -l)" -eq 1000 ]
	[ "$(jq -s 'map(select(.kind == "duplicate")) | length' truth.ndjson)" -eq 20 ]
	while read -r line of; do
		[ "$of" -lt "$line" ] || fail "repeat $line before original $of"
		[ "$(sed -n "${line}p" calls.ndjson)" = "$(sed -n "${of}p" calls.ndjson)" ] ||
			fail "line $line is not line $of"
	done < <(jq -r '[.line, .of] | @tsv' truth.ndjson)
	# With both, repeats are of good records and counts stay exact.
	G -n 1000 --error-rate 0.1 --duplicate-rate 0.05 --truth t2.ndjson calls > both
	[ "$(wc -l < both)" -eq 1050 ]
	[ "$(jq -s 'map(select(.kind != "duplicate")) | length' t2.ndjson)" -eq 100 ]
	bad_lines calls ndjson both > oracle
	truth_lines t2.ndjson '.kind != "duplicate"' > truth
	assert_file_equal truth oracle
}

@test "gen: CSV has a header, the same columns on every row, empty null and \"\" empty strings" {
	G -n 20000 -O csv calls > calls.csv
	head -n 1 calls.csv > header
	echo 'call_id,tenant_id,call_type,start_time,answer_time,end_time,duration_s,billsec,agent_id,queue_id,caller,callee,status,disposition,hangup_cause,recording_key,meta.campaign_id,meta.region,meta.codec,meta.mos,meta.pdd_ms,meta.wrapup_s,meta.tags,meta.notes' > want
	assert_file_equal want header
	python3 - calls.csv <<-'EOF'
	import csv, sys
	rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
	assert len(rows) == 20001, len(rows)
	assert all(len(r) == 24 for r in rows), [r for r in rows if len(r) != 24][:1]
	assert any('\n' in r[23] for r in rows), 'no multi-line note'
	EOF
	# null: nothing between the commas; an empty note: "".
	grep -q ',,' calls.csv
	grep -q ',""$' calls.csv
	[ "$(bad_lines calls csv calls.csv | wc -l)" -eq 0 ]
}

@test "gen: CSV holds the same values as NDJSON" {
	for kind in calls sms agent-states orgs; do
		G -n 2000 "$kind" > r.ndjson
		G -n 2000 -O csv "$kind" > r.csv
		python3 - r.ndjson r.csv <<-'EOF' || fail "$kind differs"
		import csv, json, sys
		def cells(obj, prefix=''):
		    out = {}
		    for k, v in obj.items():
		        if isinstance(v, dict):
		            out.update(cells(v, prefix + k + '.'))
		        elif v is None:
		            out[prefix + k] = ''
		        elif isinstance(v, list):
		            out[prefix + k] = json.dumps(v, ensure_ascii=False,
		                                         separators=(',', ':'))
		        else:
		            out[prefix + k] = v
		    return out
		recs = [cells(json.loads(l, parse_float=str, parse_int=str))
		        for l in open(sys.argv[1], encoding='utf-8')]
		rows = list(csv.reader(open(sys.argv[2], newline='', encoding='utf-8')))
		head = rows[0]
		assert len(rows) - 1 == len(recs), (len(rows), len(recs))
		for rec, row in zip(recs, rows[1:]):
		    assert set(rec) <= set(head), set(rec) - set(head)
		    want = [rec.get(h, '') for h in head]
		    assert want == row, (want, row)
		EOF
	done
}

@test "gen: the three SMS streams together are the sms stream" {
	G -n 3000 --seed 11 sms | sort > all
	for s in sent delivery click; do
		G -n 3000 --seed 11 "sms-$s" > "$s"
		run jq -e -s --arg s "$s" 'all(.event == $s)' "$s"
		assert_success
	done
	sort sent delivery click > union
	assert_file_equal all union
	[ "$(wc -l < all)" -gt 6000 ]
}

@test "gen: SMS events follow from their messages, in arrival order" {
	G -n 5000 sms > sms.ndjson
	[ "$(bad_lines sms ndjson sms.ndjson | wc -l)" -eq 0 ]
	python3 - sms.ndjson <<-'EOF'
	import json, sys
	sent, last_sent, seen = {}, '', set()
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    # A repeated event comes late on purpose.
	    if line in seen:
	        continue
	    seen.add(line)
	    if r['event'] == 'sent':
	        assert r['sent_time'] >= last_sent, 'sent out of order'
	        last_sent = r['sent_time']
	        sent.setdefault(r['message_id'], r)
	        continue
	    s = sent[r['message_id']]      # the message was sent before
	    assert (r['campaign_id'], r['tenant_id']) == (s['campaign_id'], s['tenant_id'])
	    t = r.get('receipt_time') or r['click_time']
	    assert t >= s['sent_time'], r
	    if r['event'] == 'click':
	        assert r['link_id'] == s['link_id'], r
	EOF
}

@test "gen: SMS proportions: failures, repeated and late clicks, late receipts, duplicates" {
	G -n 20000 sms > sms.ndjson
	python3 - sms.ndjson <<-'EOF'
	import json, sys, datetime
	from collections import defaultdict, Counter
	def t(s):
	    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ')
	lines = open(sys.argv[1]).read().splitlines()
	recs = [json.loads(l) for l in lines]
	sent = {r['message_id']: t(r['sent_time']) for r in recs if r['event'] == 'sent'}
	assert len(sent) == 20000
	receipts, clicks = defaultdict(list), defaultdict(list)
	for r in recs:
	    if r['event'] == 'delivery':
	        receipts[r['message_id']].append(r)
	    elif r['event'] == 'click':
	        clicks[r['message_id']].append(t(r['click_time']))
	first = Counter(rs[0]['status'] for rs in receipts.values())
	assert len(receipts) == 20000
	assert 0.88 <= first['delivered'] / 20000 <= 0.96, first
	assert first['failed'] > 0 and first['expired'] > 0, first
	codes = {r['error_code'] for rs in receipts.values() for r in rs if r['status'] == 'failed'}
	assert len(codes) >= 3 and all(isinstance(c, int) for c in codes), codes
	assert 0.06 <= len(clicks) / 20000 <= 0.16, len(clicks)
	assert sum(len(c) > 1 for c in clicks.values()) > 0.1 * len(clicks)
	late = sum((min(c) - sent[m]).days >= 1 for m, c in clicks.items())
	assert 0.03 * len(clicks) < late < 0.3 * len(clicks), late
	# Receipts out of order: a later line with an earlier receipt time.
	ooo = sum(any(b['receipt_time'] < a['receipt_time'] for a, b in zip(rs, rs[1:]))
	          for rs in receipts.values())
	assert ooo > 20, ooo
	retried = sum({'failed', 'delivered'} <= {r['status'] for r in rs}
	              for rs in receipts.values())
	assert retried > 100, retried
	dups = len(lines) - len(set(lines))
	assert 0.002 * len(lines) < dups < 0.01 * len(lines), dups
	EOF
}

@test "gen: agent states: fields, modes, and a few late events" {
	G -n 5000 agent-states > a.ndjson
	[ "$(bad_lines agent-states ndjson a.ndjson | wc -l)" -eq 0 ]
	run jq -r .WorkMode a.ndjson
	for m in available busy wrapup break offline; do
		assert_line "$m"
	done
	python3 - a.ndjson <<-'EOF'
	import json, sys, datetime
	def t(s):
	    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ')
	top, late = None, 0
	for line in open(sys.argv[1]):
	    e = t(json.loads(line)['EventTime'])
	    if top is not None and e < top:
	        late += 1
	        assert (top - e).total_seconds() <= 120, (top, e)
	    top = e if top is None or e > top else top
	assert 5 <= late <= 500, late
	EOF
}

@test "gen: orgs hold every version of every organisation" {
	G orgs > orgs.ndjson
	run jq -e -s 'map(.OrgID) | unique == [range(1; 21) | "t\(. | tostring | ("000" + .)[-4:])"]' orgs.ndjson
	assert_success
	run jq -e -s 'map(.UpdatedAt) | . == sort' orgs.ndjson
	assert_success
	run jq -e -s 'group_by(.OrgID) | all(map(.Version) == [range(1; length + 1)])' orgs.ndjson
	assert_success
	run jq -e -s 'group_by(.OrgID) | map(select(length > 1)) |
	    (map(select(map(.OrgName) | unique | length > 1)) | length > 0) and
	    (map(select(map(.Region) | unique | length > 1)) | length > 0)' orgs.ndjson
	assert_success
	G -n 50 orgs > fifty.ndjson
	[ "$(jq -r .OrgID fifty.ndjson | sort -u | wc -l)" -eq 50 ]
}

@test "gen: calls, agent states and SMS join the orgs, region in force included" {
	G orgs > orgs.ndjson
	G -n 3000 calls > calls.ndjson
	G -n 500 agent-states > agents.ndjson
	G -n 500 sms > sms.ndjson
	python3 - orgs.ndjson calls.ndjson agents.ndjson sms.ndjson <<-'EOF'
	import json, sys
	from collections import defaultdict
	hist = defaultdict(list)
	for l in open(sys.argv[1]):
	    o = json.loads(l)
	    hist[o['OrgID']].append((o['UpdatedAt'], o['Region']))
	for l in open(sys.argv[2]):
	    c = json.loads(l)
	    h = hist[c['tenant_id']]
	    assert h, c['tenant_id']
	    now = [r for at, r in h if at <= c['start_time']] or [h[0][1]]
	    assert c['meta']['region'] == now[-1], (c, h)
	for l in open(sys.argv[3]):
	    assert json.loads(l)['OrgID'] in hist
	for l in open(sys.argv[4]):
	    assert json.loads(l)['tenant_id'] in hist
	EOF
}

@test "gen: wav writes canonical 8 kHz stereo 16-bit files and lists them" {
	G -d rec -n 3 --duration 2s wav > list.ndjson
	[ "$(wc -l < list.ndjson)" -eq 3 ]
	[ "$(find rec -name '*.wav' | wc -l)" -eq 3 ]
	python3 - list.ndjson <<-'EOF'
	import json, os, re, sys, wave
	for line in open(sys.argv[1]):
	    f = json.loads(line)
	    assert re.match(r'^rec/connect/[a-z0-9-]+/CallRecordings/\d{4}/\d{2}/\d{2}/'
	                    + f['contact_id'] + r'_\d{8}T\d{2}:\d{2}_UTC\.wav$', f['path']), f
	    assert f['path'] == 'rec/' + f['key']
	    size = os.path.getsize(f['path'])
	    assert size == f['bytes'] == 44 + 8000 * 2 * 2 * 2, size
	    assert (f['duration_s'], f['rate'], f['channels'], f['bits']) == (2, 8000, 2, 16), f
	    w = wave.open(f['path'])
	    assert (w.getnchannels(), w.getframerate(), w.getsampwidth(),
	            w.getnframes()) == (2, 8000, 2, 16000)
	    head = open(f['path'], 'rb').read(44)
	    assert head[:4] == b'RIFF' and head[8:16] == b'WAVEfmt ' and head[36:40] == b'data'
	    assert int.from_bytes(head[4:8], 'little') == size - 8
	EOF
	no_temp_files rec
}

@test "gen: wav content sounds like a conversation" {
	G -d rec -n 2 --duration 30s wav > list.ndjson
	python3 - list.ndjson <<-'EOF'
	import array, json, math, sys, wave
	for line in open(sys.argv[1]):
	    w = wave.open(json.loads(line)['path'])
	    a = array.array('h', w.readframes(w.getnframes()))
	    chans = [a[0::2], a[1::2]]
	    assert chans[0] != chans[1]
	    active = []
	    for ch in chans:
	        # RMS of 100 ms windows: speech, and pauses at the noise floor.
	        win = [math.sqrt(sum(v * v for v in ch[i:i + 800]) / 800)
	               for i in range(0, len(ch), 800)]
	        on = [r > 300 for r in win]
	        assert 0.05 < sum(on) / len(on) < 0.8, sum(on) / len(on)
	        assert max(win) > 1000 and min(win) < 100, (max(win), min(win))
	        assert max(abs(v) for v in ch) < 32767
	        active.append(on)
	    # Turns: someone talks most of the time, rarely both at once.
	    n = len(active[0])
	    either = sum(x or y for x, y in zip(*active)) / n
	    both = sum(x and y for x, y in zip(*active)) / n
	    assert 0.5 < either < 0.95 and both < 0.1, (either, both)
	EOF
}

@test "gen: wav is deterministic and follows --seed" {
	G -d a -n 2 --duration 3s --seed 5 wav > la
	G -d b -n 2 --duration 3s --seed 5 wav > lb
	G -d c -n 2 --duration 3s --seed 6 wav > lc
	for f in $(jq -r .key la); do
		cmp "a/$f" "b/$f" || fail "$f differs"
	done
	[ "$(jq -r .key la)" != "$(jq -r .key lc)" ]
}

@test "gen: wav --rate-hz, --channels and --bits change the format" {
	G -d r -n 1 --duration 1s --rate-hz 16000 --channels 1 wav > m16.ndjson
	G -d r -n 1 --duration 2s --bits 24 --seed 2 wav > s24.ndjson
	G -d r -n 1 --duration 1s --rate-hz 11025 --channels 1 --bits 8 --seed 3 wav > m8.ndjson
	python3 - <<-'EOF'
	import json, os, wave
	for name, want, size in (('m16', (1, 16000, 2, 16000), 44 + 32000),
	                         ('s24', (2, 8000, 3, 16000), 44 + 96000),
	                         ('m8', (1, 11025, 1, 11025), 44 + 11025 + 1)):
	    f = json.load(open(name + '.ndjson'))
	    w = wave.open(f['path'])
	    got = (w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes())
	    assert got == want, (name, got)
	    assert os.path.getsize(f['path']) == size == f['bytes'], name
	    data = w.readframes(w.getnframes())
	    assert len(set(data)) > 10, name
	    if name == 'm8':
	        assert 126 < sum(data) / len(data) < 130, 'not unsigned'
	EOF
}

@test "gen: wav --min-duration and --max-duration spread lengths" {
	G -d r -n 8 --min-duration 1s --max-duration 3s wav > l.ndjson
	run jq -e -s 'map(.duration_s) | all(. >= 1 and . <= 3) and (unique | length > 4)' l.ndjson
	assert_success
	run jq -e -s 'all(.bytes == 44 + .frames * 4 and .frames == .duration_s * 8000)' l.ndjson
	assert_success
}

@test "gen: wav refuses to overwrite a recording without -f" {
	G -d r -n 1 --duration 1s wav > l.ndjson
	f=r/$(jq -r .key l.ndjson)
	echo old > "$f"
	run G -d r -n 1 --duration 1s wav
	assert_failure 3
	assert_output --partial 'file exists'
	[ "$(cat "$f")" = old ]
	G -d r -n 1 --duration 1s -f wav > /dev/null
	[ "$(stat -c %s "$f")" -eq 32044 ]
}

@test "gen: --rate paces a given count of lines" {
	run timeout 20 "$CDR_BIN/cdr-gen" --rate 50 -n 25 calls
	assert_success
	[ "${#lines[@]}" -eq 25 ]
	printf '%s\n' "${lines[@]}" | jq -c . > /dev/null
	run timeout 20 "$CDR_BIN/cdr-gen" --rate 200 -n 30 sms
	assert_success
	[ "${#lines[@]}" -gt 30 ]
}

@test "gen: --rate times are --start plus the schedule" {
	G --rate 100 -n 5 --start 2030-01-01T00:00:00Z calls > c.ndjson
	run jq -r .start_time c.ndjson
	assert_output "2030-01-01T00:00:00.000Z
2030-01-01T00:00:00.010Z
2030-01-01T00:00:00.020Z
2030-01-01T00:00:00.030Z
2030-01-01T00:00:00.040Z"
}

@test "gen: --rate without -n runs until SIGTERM and ends cleanly" {
	"$CDR_BIN/cdr-gen" --rate 40 -o live.ndjson --error-rate 0.1 \
	    --truth live.truth calls &
	pid=$!
	sleep 1.5
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	n=$(wc -l < live.ndjson)
	[ "$n" -ge 10 ] || fail "only $n lines"
	[ "$(wc -l < live.truth)" -eq $(((n + 5) / 10)) ] ||
		fail "$n lines, $(wc -l < live.truth) bad"
	bad_lines calls ndjson live.ndjson > oracle
	truth_lines live.truth > truth
	assert_file_equal truth oracle
	no_temp_files .
}
