#!/usr/bin/env bats
# share/pipelines/sms-campaign.sh: the SMS campaign reports built from the
# tools alone, against the same reports computed by PostgreSQL with joins
# over the same generated events (tests/fixtures/sms/oracle.sql), in one run
# and incrementally over two days with late clicks and repeated events.

load helpers/common
load helpers/pg

FX=$BATS_TEST_DIRNAME/fixtures/sms
PIPE=$CDR_SHARE/pipelines/sms-campaign.sh

# The end of the first day of events: later events are the second day's.
CUT=2026-11-23T00:00:00

setup_file() {
	pg_start
	local d=$BATS_FILE_TMPDIR
	# Two days of messages; their receipts and clicks run days later.
	"$CDR_BIN/cdr-gen" sms -n 4000 --seed 21 --days 2 --campaigns 6 >"$d/all.ndjson"
	# Events arrive in the order of their time; split where the day ends.
	jq -c "select((.sent_time // .receipt_time // .click_time) < \"$CUT\")" \
	    "$d/all.ndjson" >"$d/day1.ndjson"
	jq -c "select((.sent_time // .receipt_time // .click_time) >= \"$CUT\")" \
	    "$d/all.ndjson" >"$d/day2.ndjson"
	load_json ev_all "$d/all.ndjson"
	load_json ev_day1 "$d/day1.ndjson"
}

teardown_file() {
	pg_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# load_json TABLE FILE: NDJSON lines as rows of one jsonb column (CSV with
# quote and delimiter bytes that JSON text never holds, so nothing is
# unescaped on the way).
load_json() {
	psql_q -c "drop table if exists $1" -c "create table $1 (j jsonb)" \
	    -c "\\copy $1 from '$2' with (format csv, quote e'\\x01', delimiter e'\\x02')"
}

# render PREFIX: both reports of oracle_ or got_ tables as text, in a stable
# order; rates rounded to 9 places and the median to 6 (doubles on one side,
# numeric on the other), times as instants.
render() {
	psql_q -c "set timezone = 'UTC'" -c "
	    select message_id, campaign_id, recipient, sent_time, status,
	        status_time, error_code, clicks, first_click, last_click, engaged
	    from ${1}messages order by message_id" -c "
	    select campaign_id, window_start, window_end, sent, delivered, failed,
	        round(delivery_rate, 9), clickers, clicks, round(ctr, 9),
	        round(median_ttfc::numeric, 6)
	    from ${1}campaign_days order by campaign_id, window_start"
}

# same_as_sql EVENTS ZONE OUT_DIR: the pipeline's reports in OUT_DIR equal
# the SQL reports over the events of table EVENTS in ZONE, row for row.
same_as_sql() {
	psql_q -v events="$1" -v zone="$2" -f "$FX/oracle.sql"
	load_json messages_json "$3/messages.ndjson"
	load_json campaign_days_json "$3/campaign-days.ndjson"
	psql_q -f "$FX/pipeline.sql"
	render oracle_ >oracle.txt
	render got_ >got.txt
	[ "$(wc -l <oracle.txt)" -gt 100 ]
	assert_file_equal oracle.txt got.txt
}

@test "sms: the generated events have what the reports must get right" {
	local d=$BATS_FILE_TMPDIR
	# repeated events, in each day
	[ "$(sort "$d/day1.ndjson" | uniq -d | wc -l)" -gt 5 ]
	[ "$(sort "$d/day2.ndjson" | uniq -d | wc -l)" -gt 0 ]
	run psql_q -c "
	    with e as (select distinct j from ev_all),
	    r as (select j->>'message_id' id, j->>'receipt_time' t, count(distinct j->>'status') s,
	              count(*) n
	          from e where j->>'event' = 'delivery' group by 1, 2),
	    m as (select j->>'message_id' id, count(*) n from e
	          where j->>'event' = 'delivery' group by 1)
	    select (select count(*) from r where n > 1),
	        (select count(*) from m where n > 1),
	        (select count(*) from ev_day1 s join e c
	             on c.j->>'message_id' = s.j->>'message_id'
	             and s.j->>'event' = 'sent' and c.j->>'event' = 'click'
	             and c.j->>'click_time' >= '$CUT')"
	assert_success
	# No two receipts of a message at the same time (which would make the
	# latest receipt ambiguous), messages with several receipts, and clicks
	# on day-1 messages arriving on day 2 or later.
	[[ $output =~ ^0\|([0-9]+)\|([0-9]+)$ ]] || fail "unexpected: $output"
	[ "${BASH_REMATCH[1]}" -gt 10 ]
	[ "${BASH_REMATCH[2]}" -gt 5 ]
}

@test "sms: one run equals the SQL joins (messages and campaign days in Asia/Kolkata)" {
	run "$PIPE" -z Asia/Kolkata -d out "$BATS_FILE_TMPDIR/all.ndjson"
	assert_success
	[ ! -s out/rejected.ndjson ]
	same_as_sql ev_all Asia/Kolkata out
	no_temp_files out
}

@test "sms: day 2 merged into day 1's state updates day-1 messages and campaign days" {
	local d=$BATS_FILE_TMPDIR
	run "$PIPE" -z America/New_York -s state -d out1 "$d/day1.ndjson"
	assert_success
	[ -s state/messages.partial ]
	same_as_sql ev_day1 America/New_York out1
	cp got.txt day1.txt
	# A webhook retried across the cut: day 1's last click comes again.
	{ grep '"event":"click"' "$d/day1.ndjson" | tail -n 1; cat "$d/day2.ndjson"; } >day2.ndjson
	run "$PIPE" -z America/New_York -s state -d out2 day2.ndjson
	assert_success
	same_as_sql ev_all America/New_York out2
	no_temp_files out2
	no_temp_files state
	# Late clicks and receipts changed rows of messages sent on day 1.
	run psql_q -c "
	    select count(*) from got_messages g join ev_day1 s
	        on s.j->>'event' = 'sent' and s.j->>'message_id' = g.message_id
	    where g.last_click >= '$CUT+00' or g.status_time >= '$CUT+00'"
	assert_success
	[ "$output" -gt 5 ]
	! cmp -s day1.txt got.txt
	# The same batch again changes nothing: its events are all repeats.
	run "$PIPE" -z America/New_York -s state -d out3 day2.ndjson
	assert_success
	assert_file_equal out2/messages.ndjson out3/messages.ndjson
	assert_file_equal out2/campaign-days.ndjson out3/campaign-days.ndjson
}

# same_json EXPECTED ACTUAL: equal NDJSON line for line, numbers compared as
# jq writes them (cdr-rollup may write 600 as 6e+02).
same_json() {
	jq -c . "$1" >expected.norm
	jq -c . "$2" >actual.norm
	assert_file_equal expected.norm actual.norm
}

@test "sms: hand-made days: out-of-order and repeated receipts, a repeat across days, a late click, a late sent event, one recipient clicking two messages" {
	run "$PIPE" -s state -d out1 "$FX/day1.ndjson"
	assert_success
	same_json "$FX/day1.messages.ndjson" out1/messages.ndjson
	same_json "$FX/day1.campaign-days.ndjson" out1/campaign-days.ndjson
	# m3 was clicked before its sent event came: no day yet.
	[ "$(jq -r .record out1/unsent.ndjson | jq -r .message_id)" = m3 ]
	run "$PIPE" -s state -d out2 - <"$FX/day2.ndjson"
	assert_success
	same_json "$FX/day2.messages.ndjson" out2/messages.ndjson
	same_json "$FX/day2.campaign-days.ndjson" out2/campaign-days.ndjson
	[ ! -s out2/unsent.ndjson ]
	# Both days again, in one batch, into the same state: all repeats.
	cat "$FX/day1.ndjson" "$FX/day2.ndjson" >both.ndjson
	cp state/messages.partial before.partial
	run "$PIPE" -s state -d out3 both.ndjson
	assert_success
	same_json "$FX/day2.messages.ndjson" out3/messages.ndjson
	same_json "$FX/day2.campaign-days.ndjson" out3/campaign-days.ndjson
}

@test "sms: a click without ip or user agent counts; its repeat does not" {
	printf '%s\n' \
	    '{"event":"sent","message_id":"m1","campaign_id":"c1","tenant_id":"t1","recipient":"+15551230001","sender":"+15550000000","sent_time":"2026-11-02T10:00:00Z","link_id":"L1","url":"https://x.example/L1","segments":1}' \
	    '{"event":"click","message_id":"m1","campaign_id":"c1","tenant_id":"t1","link_id":"L1","click_time":"2026-11-02T10:05:00Z"}' \
	    '{"event":"click","message_id":"m1","campaign_id":"c1","tenant_id":"t1","link_id":"L1","click_time":"2026-11-02T10:05:00Z"}' \
	    '{"event":"click","message_id":"m1","campaign_id":"c1","tenant_id":"t1","link_id":"L1","click_time":"2026-11-02T10:05:00Z","ip":null,"user_agent":null}' \
	    '{"event":"click","message_id":"m1","campaign_id":"c1","tenant_id":"t1","link_id":"L1","click_time":"2026-11-02T10:05:00Z","ip":"192.0.2.7"}' \
	    '{"event":"click","message_id":"m1","campaign_id":"c1","tenant_id":"t1","link_id":"L1","click_time":"2026-11-02T10:06:00Z","ip":"192.0.2.7","user_agent":"curl/8"}' \
	    >clicks.ndjson
	run "$PIPE" -d out clicks.ndjson
	assert_success
	run jq -r '[.clicks, .engaged, .first_click, .last_click] | @tsv' out/messages.ndjson
	assert_output "$(printf '3\ttrue\t2026-11-02T10:05:00Z\t2026-11-02T10:06:00Z')"
	run jq -r '[.clickers, .clicks] | @tsv' out/campaign-days.ndjson
	assert_output "$(printf '1\t3')"
}

@test "sms: a run whose input is beyond the error budget commits nothing" {
	local d=$BATS_FILE_TMPDIR
	run "$PIPE" -s state -d out "$d/day1.ndjson"
	assert_success
	cp state/messages.partial before.partial
	cp out/messages.ndjson before.ndjson
	printf '%s\n' '{"event":"click","message_id":"SMx"}' 'not json' >bad.ndjson
	run "$PIPE" -e 0 -s state -d out bad.ndjson
	assert_failure 1
	cmp state/messages.partial before.partial
	cmp out/messages.ndjson before.ndjson
	no_temp_files out
}

@test "sms: usage errors" {
	run "$PIPE"
	assert_failure 2
	assert_output --partial 'usage: sms-campaign.sh'
	run "$PIPE" -x -d out
	assert_failure 2
	# -H (a de-duplication horizon) is not an option: repeats change nothing
	run "$PIPE" -H 7d -s state -d out
	assert_failure 2
	run "$PIPE" -h
	assert_success
	assert_output --partial 'campaign-days.ndjson'
}
