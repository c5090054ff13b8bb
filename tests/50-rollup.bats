#!/usr/bin/env bats
# cdr-rollup: calendar buckets and aggregates against PostgreSQL, the merge
# law over random shard splits, streaming windows with watermarks, the
# dimension join, dead letters and the I/O contract.

load helpers/common
load helpers/pg

R() { "$CDR_BIN/cdr-rollup" "$@"; }
FX=$BATS_TEST_DIRNAME/fixtures/rollup
MAN=$BATS_TEST_DIRNAME/../share/man/man1/cdr-rollup.1

# A wide set of aggregates: every kind of state.
AGGS='n=count,s=sum(duration_s),mn=min(duration_s),mx=max(duration_s),av=avg(duration_s),p50=p50(duration_s),p99=p99(duration_s),agents=distinct(agent_id),callers=distinct(caller),asr,acd,first(status),last(status),t0=min(start_time),max_wait,mos=sum(meta.mos),answered=count_if(.status=="answered"),inb=sum(billsec) filter(.call_type=="inbound")'

setup_file() {
	pg_start
	local d=$BATS_FILE_TMPDIR g=$CDR_BIN/cdr-gen
	# Both 2026 DST changes of America/New_York and a 14-month span.
	{
		"$g" calls -n 3000 --seed 11 --tenants 3 --error-rate 0 \
		    --start 2026-03-07T00:00:00Z --days 3
		"$g" calls -n 3000 --seed 12 --tenants 3 --error-rate 0 \
		    --start 2026-10-31T00:00:00Z --days 3
		"$g" calls -n 4000 --seed 13 --tenants 3 --error-rate 0 \
		    --start 2025-12-01T00:00:00Z --days 420
	} >"$d/calls.ndjson"
	# One call every 10 minutes over both DST days: every hour has data.
	awk 'BEGIN {
		for (s = 1772841600; s < 1773100800; s += 600)
			printf "{\"start_time\":%d,\"tenant_id\":\"t0\",\"duration_s\":%d}\n", s, s % 97
		for (s = 1793404800; s < 1793664000; s += 600)
			printf "{\"start_time\":%d,\"tenant_id\":\"t0\",\"duration_s\":%d}\n", s, s % 97
	}' >"$d/ticks.ndjson"
	jq -r '[.call_id, .tenant_id, .call_type, .start_time, .answer_time,
	    .duration_s, .billsec, .meta.mos, .status, .agent_id, .caller]
	    | @csv' "$d/calls.ndjson" >"$d/calls.csv"
	psql_q -c "create table calls (call_id text, tenant_id text,
	    call_type text, start_time timestamptz, answer_time timestamptz,
	    duration_s bigint, billsec bigint, mos numeric, status text,
	    agent_id text, caller text)" \
	    -c "\\copy calls from '$d/calls.csv' csv"
}

teardown_file() {
	pg_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# pg_same SQL_OURS SQL_ORACLE: the two queries give the same rows.
pg_same() {
	run psql_q -c "select (select count(*) from (($1) except all ($2)) a),
	    (select count(*) from (($2) except all ($1)) b),
	    (select count(*) from ($1) c)"
	assert_success
	[[ $output =~ ^0\|0\|[1-9][0-9]*$ ]] ||
		fail "rows differ from PostgreSQL (ours-only|oracle-only|ours): $output"
}

# load_rows TABLE FILE: our CSV output of count/sum/min/max by tenant.
load_rows() {
	psql_q -c "drop table if exists $1" \
	    -c "create table $1 (ws timestamptz, we timestamptz, grain text,
	        tenant_id text, n bigint, s numeric, mn numeric, mx numeric,
	        mos numeric)" \
	    -c "\\copy $1 from '$2' csv header"
}

@test "rollup: --help on stdout, exit 0; every option is in the man page" {
	run --separate-stderr R --help
	assert_success
	assert_output --partial 'usage: cdr-rollup'
	[ -z "$stderr" ]
	for opt in --input-format --output-format --output --force --every --time \
	    --tz --week-start --offset --by --agg --where --dim --on --dim-version \
	    --dim-fields --watermark --allowed-lateness --idle-flush --partial \
	    --merge --grain --exact --distinct-exact --hll-precision \
	    --relative-error --max-groups --dead-letter --max-errors \
	    --max-error-rate --stats --max-record --progress --no-progress \
	    --quiet --version; do
		grep -q -- "${opt//-/\\\\-}" "$MAN" || fail "man page lacks $opt"
		[[ $output == *"$opt"* ]] || fail "--help lacks $opt"
	done
	for agg in count_if distinct first last median p99 percentile asr acd \
	    calls_in_queue agents min_handle max_handle min_wait max_wait filter; do
		grep -q -- "$agg" "$MAN" || fail "man page lacks $agg"
	done
}

@test "rollup: --version names the libraries" {
	run R --version
	assert_success
	assert_line --index 0 --regexp '^cdr-rollup \(cdrpipe\) [0-9]'
	assert_output --partial 'libjq'
}

@test "rollup: usage errors exit 2" {
	run R --bogus
	assert_failure 2
	run R --every 7x
	assert_failure 2
	assert_output --partial '--every 7x'
	run R --every 1h,1h
	assert_failure 2
	run R --agg 'nosuch(x)'
	assert_failure 2
	assert_output --partial 'nosuch: no such aggregate'
	run R --agg 'a/b'
	assert_failure 2
	run R --agg 'count_if(.a |||)'
	assert_failure 2
	run R --agg 'x=count,x=sum(d)'
	assert_failure 2
	run R --watermark 4s
	assert_failure 2
	run R --every 5s --allowed-lateness 1s
	assert_failure 2
	run R --every 5s --watermark 1s --allowed-lateness 1s --partial
	assert_failure 2
	run R --partial -O csv
	assert_failure 2
	run R --tz Mars/Olympus
	assert_failure 2
	run R --week-start someday --every 1w
	assert_failure 2
	run R --dim x.ndjson
	assert_failure 2
	run R --grain 1h
	assert_failure 2
	run R --merge --where .a
	assert_failure 2
	run R --hll-precision 30
	assert_failure 2
}

@test "rollup: a missing input exits 3 and commits no output" {
	run R -q --time t -o out.ndjson --dead-letter dl.ndjson "$FX/mini.ndjson" missing.ndjson
	assert_failure 3
	assert_output --partial 'missing.ndjson: No such file or directory'
	[ ! -e out.ndjson ] && [ ! -e dl.ndjson ]
	no_temp_files .
	run R -q --dim missing.ndjson --on k "$FX/mini.ndjson"
	assert_failure 3
}

@test "rollup: buckets, sums and dead letters byte for byte; CSV in and out" {
	cp "$FX"/mini.* .
	run R --every 1h --tz America/New_York --time t --by tenant \
	    --agg 'n=count,s=sum(d),m=sum(mos)' --dead-letter dl.ndjson \
	    -o out.ndjson mini.ndjson
	assert_failure 1
	assert_output --partial '8 read, 4 written, 4 rejected'
	assert_file_equal "$FX/mini-expected.ndjson" out.ndjson
	assert_file_equal "$FX/mini-expected.dead.ndjson" dl.ndjson
	run R -q --every 1h --tz America/New_York --time t --by tenant \
	    --agg 'n=count,s=sum(d),m=sum(mos)' --max-errors 4 -O csv -o out.csv \
	    "$FX/mini.ndjson"
	assert_success
	assert_file_equal "$FX/mini-expected.csv" out.csv
	R -q --every 1h --tz America/New_York --time t --by tenant \
	    --agg 'n=count,s=sum(d),m=sum(mos)' "$FX/mini.csv" >csvin.ndjson
	assert_file_equal "$FX/mini-expected.ndjson" csvin.ndjson
	run R -q --every 1h --time t --stats st.json --max-error-rate 50% "$FX/mini.ndjson"
	assert_success
	jq -e '.read == .written + .rejected + .filtered and .groups == 3' st.json
	run R -q --time t --by tenant --where '.tenant == "b"' --stats st.json --max-errors 9 "$FX/mini.ndjson"
	assert_output '{"tenant":"b","count":3}'
	jq -e '.filtered == 4 and .read == .written + .rejected + .filtered' st.json
}

@test "rollup: stdin and - read the same; -o refuses an existing file without -f" {
	R -q --time t --max-errors 9 --every 1d --by tenant "$FX/mini.ndjson" >a.ndjson
	R -q --time t --max-errors 9 --every 1d --by tenant <"$FX/mini.ndjson" >b.ndjson
	R -q --time t --max-errors 9 --every 1d --by tenant - <"$FX/mini.ndjson" >c.ndjson
	assert_file_equal a.ndjson b.ndjson
	assert_file_equal a.ndjson c.ndjson
	echo old >out.ndjson
	run R -q --time t --max-errors 9 -o out.ndjson "$FX/mini.ndjson"
	assert_failure 3
	assert_output --partial 'file exists'
	[ "$(cat out.ndjson)" = old ]
	run R -q --time t --max-errors 9 --every 1d --by tenant -f -o out.ndjson "$FX/mini.ndjson"
	assert_success
	assert_file_equal a.ndjson out.ndjson
}

@test "rollup: writing to a full disk exits 3" {
	run R -q --time t --max-errors 9 -o /dev/full "$FX/mini.ndjson"
	assert_failure 3
	assert_output --partial 'No space left on device'
	run bash -c "'$CDR_BIN/cdr-rollup' -q --time t --max-errors 9 '$FX/mini.ndjson' > /dev/full"
	assert_failure 3
}

@test "rollup: an interrupted run leaves no partial output" {
	mkfifo slow
	(
		head -n 3 "$FX/mini.ndjson"
		sleep 5
	) >slow &
	"$CDR_BIN/cdr-rollup" -q --time t --every 1h -o out.ndjson --dead-letter dl.ndjson slow &
	pid=$!
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

@test "rollup: every grain equals PostgreSQL date_trunc in UTC, New York (DST) and Kolkata" {
	local tz g trunc step
	for tz in UTC America/New_York Asia/Kolkata; do
		for g in 5s 15m 1h 1d 1w 1mo 1q 1y; do
			case $g in
			5s) trunc="date_bin('5 seconds', start_time, '2000-01-01')"; step='5 seconds' ;;
			15m) trunc="date_bin('15 minutes', start_time, '2000-01-01')"; step='15 minutes' ;;
			# date_trunc on timestamptz keeps the offset for hours: the two
			# 01:00 hours of 2026-11-01 stay apart (AT TIME ZONE would merge them).
			1h) trunc="date_trunc('hour', start_time)"; step='1 hour' ;;
			1d) trunc="date_trunc('day', start_time at time zone '$tz') at time zone '$tz'"; step='1 day' ;;
			1w) trunc="date_trunc('week', start_time at time zone '$tz') at time zone '$tz'"; step='1 week' ;;
			1mo) trunc="date_trunc('month', start_time at time zone '$tz') at time zone '$tz'"; step='1 month' ;;
			1q) trunc="date_trunc('quarter', start_time at time zone '$tz') at time zone '$tz'"; step='3 months' ;;
			1y) trunc="date_trunc('year', start_time at time zone '$tz') at time zone '$tz'"; step='1 year' ;;
			esac
			R -q -O csv --every "$g" --tz "$tz" --by tenant_id \
			    --agg 'count,sum(duration_s),min(duration_s),max(duration_s),sum(meta.mos)' \
			    "$BATS_FILE_TMPDIR/calls.ndjson" >out.csv
			load_rows r out.csv
			PGTZ=$tz pg_same "select * from r" \
			    "select ws, ws + interval '$step', '$g', tenant_id, n, s, mn, mx, mos from (
			        select $trunc ws, tenant_id, count(*) n, sum(duration_s) s,
			        min(duration_s) mn, max(duration_s) mx, sum(mos) mos
			        from calls group by 1, 2) o"
		done
	done
}

@test "rollup: --offset shifts fixed windows as date_bin with an origin does" {
	R -q -O csv --every 1h --offset 30m --by tenant_id \
	    --agg 'count,sum(duration_s),min(duration_s),max(duration_s),sum(meta.mos)' \
	    "$BATS_FILE_TMPDIR/calls.ndjson" >out.csv
	load_rows r out.csv
	pg_same "select * from r" \
	    "select ws, ws + interval '1 hour', '1h', tenant_id, n, s, mn, mx, mos from (
	        select date_bin('1 hour', start_time, '2000-01-01 00:30+00') ws, tenant_id,
	        count(*) n, sum(duration_s) s, min(duration_s) mn, max(duration_s) mx,
	        sum(mos) mos from calls group by 1, 2) o"
	R -q -O csv --every 7m --offset -2m --tz Asia/Kolkata --by tenant_id \
	    --agg 'count,sum(duration_s),min(duration_s),max(duration_s),sum(meta.mos)' \
	    "$BATS_FILE_TMPDIR/calls.ndjson" >out.csv
	load_rows r out.csv
	pg_same "select * from r" \
	    "select ws, ws + interval '7 minutes', '7m', tenant_id, n, s, mn, mx, mos from (
	        select date_bin('7 minutes', start_time, '1969-12-31 23:58+00') ws, tenant_id,
	        count(*) n, sum(duration_s) s, min(duration_s) mn, max(duration_s) mx,
	        sum(mos) mos from calls group by 1, 2) o"
}

@test "rollup: DST days have 23 and 25 hourly buckets and days of 23 and 25 hours" {
	R -q -O csv --every 1h,1d --tz America/New_York --by tenant_id \
	    --agg 'count,sum(duration_s),min(duration_s),max(duration_s),m=count' \
	    "$BATS_FILE_TMPDIR/ticks.ndjson" >out.csv
	load_rows t out.csv
	run psql_q -c "set timezone = 'America/New_York'" -c "
	    select to_char(ws, 'YYYY-MM-DD'), grain, count(*),
	        (sum(extract(epoch from we - ws)) / 3600)::int
	    from t where to_char(ws, 'YYYY-MM-DD') in ('2026-03-08', '2026-11-01')
	    group by 1, 2 order by 1, 2"
	assert_success
	assert_output "2026-03-08|1d|1|23
2026-03-08|1h|23|23
2026-11-01|1d|1|25
2026-11-01|1h|25|25"
	# The repeated 01:00 hour: two buckets, told apart by their offsets.
	run grep -c '^2026-11-01T01:00:00-0[45]:00,' out.csv
	assert_output 2
}

@test "rollup: weeks start on Monday, or on --week-start" {
	R -q -O csv --every 1w --week-start sunday --tz America/New_York --by tenant_id \
	    --agg 'count,sum(duration_s),min(duration_s),max(duration_s),sum(meta.mos)' \
	    "$BATS_FILE_TMPDIR/calls.ndjson" >out.csv
	load_rows r out.csv
	PGTZ=America/New_York pg_same "select ws, we, tenant_id, n, s from r" \
	    "select ws, ws + interval '1 week', tenant_id, n, s from (
	        select (date_trunc('week', (start_time at time zone 'America/New_York') + interval '1 day')
	            - interval '1 day') at time zone 'America/New_York' ws,
	        tenant_id, count(*) n, sum(duration_s) s from calls group by 1, 2) o"
	run bash -c "cut -d, -f1 out.csv | tail -n +2 | sort -u | while read -r w; do date -d \"\$w\" +%a; done | sort -u"
	assert_output Sun
}

@test "rollup: aggregates equal PostgreSQL (exact percentiles and distinct counts)" {
	R -q -O csv --exact --every 1d --tz America/New_York --by tenant_id,call_type --agg \
	    'n=count,av=avg(duration_s),md=median(duration_s),p90=p90(duration_s),ag=distinct(agent_id),ans=count(answer_time),asr,acd,t0=min(start_time),t1=max(start_time),ok=count_if(.status=="answered"),inb=sum(billsec) filter(.status=="answered"),last=last(status),wait=max_wait,mos=avg(meta.mos)' \
	    "$BATS_FILE_TMPDIR/calls.ndjson" >agg.csv
	psql_q -c "create table a (ws timestamptz, we timestamptz, grain text,
	    tenant_id text, call_type text, n bigint, av float8, md float8,
	    p90 float8, ag bigint, ans bigint, asr float8, acd float8,
	    t0 timestamptz, t1 timestamptz, ok bigint, inb numeric, last text,
	    wait numeric, mos float8)" -c "\\copy a from 'agg.csv' csv header"
	PGTZ=America/New_York pg_same \
	    "select ws, tenant_id, call_type, n, round(av::numeric, 9), md, p90, ag,
	        ans, round(asr::numeric, 12), round(acd::numeric, 9), t0, t1, ok,
	        inb, last, wait, round(mos::numeric, 9) from a" \
	    "select date_trunc('day', start_time) ws, tenant_id, call_type,
	        count(*), round(avg(duration_s), 9),
	        percentile_cont(0.5) within group (order by duration_s),
	        percentile_cont(0.9) within group (order by duration_s),
	        count(distinct agent_id), count(answer_time),
	        round(count(answer_time)::numeric / count(*), 12),
	        round(sum(billsec)::numeric / nullif(count(answer_time), 0), 9),
	        min(start_time), max(start_time),
	        count(*) filter (where status = 'answered'),
	        sum(billsec) filter (where status = 'answered'),
	        (array_agg(status order by start_time desc))[1],
	        max(extract(epoch from answer_time - start_time)),
	        round(avg(mos), 9)
	    from calls group by 1, 2, 3"
}

@test "rollup: sketches stay within their stated error" {
	# DDSketch at 1%: within 1% of the value of rank floor(q (n - 1)).
	R -q -O csv --every 1mo --by tenant_id --agg 'n=count,p50=p50(duration_s),p95=p95(duration_s),p99=p99(duration_s)' \
	    "$BATS_FILE_TMPDIR/calls.ndjson" >q.csv
	psql_q -c "create table q (ws timestamptz, we timestamptz, grain text,
	    tenant_id text, n bigint, p50 float8, p95 float8, p99 float8)" \
	    -c "\\copy q from 'q.csv' csv header"
	run psql_q -c "set timezone = 'UTC'" -c "
	    with x as (select date_trunc('month', start_time) ws, tenant_id,
	        array_agg(duration_s::float8 order by duration_s) v, count(*) n
	        from calls group by 1, 2)
	    select count(*) from x join q using (ws, tenant_id)
	    where abs(q.p50 - v[floor(0.5 * (x.n - 1))::int + 1]) > 0.01 * v[floor(0.5 * (x.n - 1))::int + 1]
	       or abs(q.p95 - v[floor(0.95 * (x.n - 1))::int + 1]) > 0.01 * v[floor(0.95 * (x.n - 1))::int + 1]
	       or abs(q.p99 - v[floor(0.99 * (x.n - 1))::int + 1]) > 0.01 * v[floor(0.99 * (x.n - 1))::int + 1]
	    union all select count(*) from q"
	assert_success
	assert_line --index 0 0
	[ "${lines[1]}" -gt 20 ]
	# HyperLogLog (2^14 registers, 0.81%): within 3 standard errors.
	"$CDR_BIN/cdr-gen" calls -n 60000 --seed 4 --error-rate 0 >big.ndjson
	exact=$(jq -r .call_id big.ndjson | sort -u | wc -l)
	est=$(R -q --agg 'd=distinct(call_id)' big.ndjson | jq .d)
	[ "$exact" -eq 60000 ]
	awk -v e="$est" -v x="$exact" 'BEGIN { exit !(e != x && (e - x) ^ 2 <= (3 * 0.0081 * x) ^ 2) }' ||
		fail "distinct estimate $est for $exact"
	est=$(R -q --exact --agg 'd=distinct(call_id)' big.ndjson | jq .d)
	assert_equal "$est" "$exact"
}

@test "rollup: merge law: any shard split, partials merged, equals one run" {
	local f=$BATS_FILE_TMPDIR/calls.ndjson k seed
	R -q --every 1h,1d --tz America/New_York --by tenant_id,call_type --agg "$AGGS" "$f" >single.ndjson
	R -q -O csv --every 1h,1d --tz America/New_York --by tenant_id,call_type --agg "$AGGS" "$f" >single.csv
	for k in 2 3 5; do
		for seed in 1 2; do
			rm -f shard.* ./*.part
			awk -v k="$k" -v s="$seed" 'BEGIN { srand(s) } { print > ("shard." int(rand() * k)) }' "$f"
			for s in shard.*; do
				R -q --partial --every 1h,1d --tz America/New_York --by tenant_id,call_type \
				    --agg "$AGGS" "$s" >"$s.part"
			done
			# The zone of the output comes from the partials' header.
			cat shard.*.part | R -q --merge >merged.ndjson
			assert_file_equal single.ndjson merged.ndjson
		done
	done
	# Partials of partials, and CSV out of a merge.
	R -q --merge --partial shard.0.part shard.1.part >left.part
	R -q --merge --partial shard.2.part shard.3.part shard.4.part >right.part
	R -q --merge --tz America/New_York -O csv left.part right.part >merged.csv
	assert_file_equal single.csv merged.csv
	# Rows of a known spec merge without their header.
	R -q --merge --tz America/New_York --by tenant_id,call_type --agg "$AGGS" \
	    <(tail -q -n +2 shard.*.part) >headless.ndjson
	assert_file_equal single.ndjson headless.ndjson
}

@test "rollup: hourly partials merge into days, and into fewer keys" {
	local f=$BATS_FILE_TMPDIR/calls.ndjson
	split -n l/4 "$f" part.
	for s in part.a?; do
		R -q --partial --every 1h --tz Asia/Kolkata --by tenant_id,call_type --agg "$AGGS" "$s" >"$s.p"
	done
	R -q --every 1d --tz Asia/Kolkata --by tenant_id --agg "$AGGS" "$f" >daily.ndjson
	R -q --merge --every 1d --tz Asia/Kolkata --by tenant_id part.a?.p >merged.ndjson
	assert_file_equal daily.ndjson merged.ndjson
	# An hourly window cannot go into 15-minute buckets.
	run R -q --merge --every 15m part.aa.p --dead-letter dl.ndjson
	assert_failure 1
	run jq -r '.errors[0].message' dl.ndjson
	assert_line --index 0 'window does not fit in one 15m bucket'
	# A partial row of an unknown spec is a dead letter, not a crash.
	tail -n 1 part.aa.p | sed 's/"spec":"[0-9a-f]*"/"spec":"0000000000000000"/' >odd.p
	run R -q --merge --agg count --dead-letter dl2.ndjson odd.p
	assert_failure 1
	run jq -r '.errors[0].check' dl2.ndjson
	assert_output partial
}

@test "rollup: partial rows are versioned NDJSON with a header" {
	R -q --partial --every 1d --time t --by tenant --agg 'n=count,s=sum(d),m=sum(mos),u=distinct(tenant),p=p50(d)' \
	    --max-errors 9 "$FX/mini.ndjson" >p.ndjson
	run jq -c 'select(.header) | [.cdr_rollup_partial, .leaves, .every, .by[0].name]' p.ndjson
	assert_output '[1,["count","sum(d)","sum(mos)","distinct(tenant)","quantiles(d)"],["1d"],"tenant"]'
	run jq -c 'select(.header | not) | [.grain, .window_start, .key, .state[0:3]]' p.ndjson
	assert_line --index 0 '["1d","2026-03-08T00:00:00Z",["a"],[2,"30","7.75"]]'
	assert_line --index 1 '["1d","2026-03-08T00:00:00Z",["b"],[2,"5",null]]'
}

@test "rollup: streaming emits windows in order as the watermark passes; late records are dead letters" {
	ev() { printf '{"t":"2026-01-01T00:00:%02dZ","k":"%s"}\n' "$1" "$2"; }
	{
		ev 1 a; ev 3 b; ev 6 a; sleep 0.2
		ev 9 a; sleep 0.2
		ev 2 a; ev 11 b; sleep 0.2
		ev 4 a; ev 14 b; sleep 0.2
		ev 21 a
	} | R --every 5s --watermark 4s --time t --by k --dead-letter dl.ndjson >out.ndjson 2>err
	run jq -c '[.window_start[17:19], .k, .count]' out.ndjson
	assert_output '["00","a",1]
["00","b",1]
["05","a",2]
["10","b",2]
["20","a",1]'
	run jq -c '[.line, .errors[0].check, .errors[0].field]' dl.ndjson
	assert_output '[5,"late","t"]
[7,"late","t"]'
	run jq -r .record dl.ndjson
	assert_output "$(ev 2 a; ev 4 a)"
	run cat err
	assert_output --partial '9 read, 7 written, 2 rejected'
}

@test "rollup: a window is written before more input comes (pipe held open)" {
	mkfifo in
	R -q --every 5s --watermark 1s --time t >out.ndjson <in &
	pid=$!
	exec 8>in
	printf '{"t":"2026-01-01T00:00:01Z"}\n{"t":"2026-01-01T00:00:07Z"}\n' >&8
	for _ in $(seq 100); do
		[ -s out.ndjson ] && break
		sleep 0.1
	done
	run jq -c '[.window_start, .count]' out.ndjson
	assert_output '["2026-01-01T00:00:00Z",1]'
	# Idle input: --idle-flush moves the watermark by processing time.
	exec 8>&-
	wait "$pid"
	mkfifo in2
	R -q --every 1s --watermark 0s --idle-flush 200ms --time t >out2.ndjson <in2 &
	pid=$!
	exec 8>in2
	printf '{"t":"2026-01-01T00:00:00.500Z"}\n' >&8
	for _ in $(seq 100); do
		[ -s out2.ndjson ] && break
		sleep 0.1
	done
	run jq -c '[.window_start, .count]' out2.ndjson
	assert_output '["2026-01-01T00:00:00Z",1]'
	exec 8>&-
	wait "$pid"
}

@test "rollup: allowed lateness re-emits windows with a higher revision" {
	ev() { printf '{"t":"2026-01-01T00:00:%02dZ","k":"a"}\n' "$1"; }
	{ ev 1; ev 9; ev 2; ev 13; ev 3; ev 19; ev 4; } |
		R -q --every 5s,10s --watermark 4s --allowed-lateness 5s --time t --dead-letter dl.ndjson >out.ndjson
	run jq -c '[.grain, .window_start[17:19], .count, .revision]' out.ndjson
	assert_output '["5s","00",1,0]
["5s","00",2,1]
["5s","00",3,2]
["5s","05",1,0]
["10s","00",4,0]
["5s","10",1,0]
["5s","15",1,0]
["10s","10",2,0]'
	run jq -r '.errors[0].check' dl.ndjson
	assert_output late
}

@test "rollup: dimension join: latest version wins, missing keys reported and kept" {
	run R --by tenant_id --dim "$FX/orgs.ndjson" --on tenant_id=OrgID --dim-version Version \
	    --agg 'n=count,s=sum(d)' --stats st.json "$FX/calls-dim.ndjson"
	assert_success
	assert_line --index 0 '{"tenant_id":null,"OrgName":null,"Region":null,"n":1,"s":60}'
	assert_line --index 1 '{"tenant_id":"t1","OrgName":"New name","Region":"eu-west-2","n":2,"s":40}'
	assert_line --index 2 '{"tenant_id":"t2","OrgName":"Beta","Region":"us-east-1","n":1,"s":20}'
	assert_line --index 3 '{"tenant_id":"t3","OrgName":"Gamma","Region":"eu-west-2","n":1,"s":50}'
	assert_line --index 4 '{"tenant_id":"t9","OrgName":null,"Region":null,"n":1,"s":40}'
	assert_output --partial '2 keys not found (null, t9)'
	jq -e '.dimension.rows == 3 and (.dimension.missing_keys | sort) == ["null", "t9"]' st.json
	# CSV dimension, versions by time (with offsets): as group keys.
	run R -q --by Region --dim "$FX/orgs.csv" --on tenant_id=OrgID --dim-version UpdatedAt \
	    --agg 'n=count,s=sum(d)' --stats st2.json "$FX/calls-dim.ndjson"
	assert_success
	assert_output '{"Region":null,"n":2,"s":100}
{"Region":"eu-west-2","n":3,"s":90}
{"Region":"us-west-2","n":1,"s":20}'
	jq -e '.dimension.missing_records == 2' st2.json
	run R -q -O csv --by tenant_id --dim "$FX/orgs.csv" --on tenant_id=OrgID \
	    --dim-version UpdatedAt --dim-fields OrgName "$FX/calls-dim.ndjson"
	assert_output 'tenant_id,OrgName,count
,,1
t1,New name,2
t2,"Beta, renamed",1
t3,Gamma,1
t9,,1'
	# Without a version field the last row of a key wins.
	run R -q --by tenant_id --dim "$FX/orgs.ndjson" --on tenant_id=OrgID --dim-fields OrgName \
	    --agg n=count "$FX/calls-dim.ndjson"
	assert_line --index 2 '{"tenant_id":"t2","OrgName":"Beta (stale)","n":1}'
	run R -q --by Region --dim "$FX/orgs.ndjson" --on tenant_id=OrgID --dim-fields OrgName "$FX/calls-dim.ndjson"
	assert_failure 2
}

@test "rollup: keyed latest value, counts and time differences per key (SMS style)" {
	cat >ev.ndjson <<-'EOF'
	{"event":"sent","id":"m1","campaign":"c1","to":"+1","sent_time":"2026-05-01T10:00:00Z"}
	{"event":"delivery","id":"m1","status":"failed","error":30003,"receipt_time":"2026-05-01T10:00:09Z"}
	{"event":"delivery","id":"m1","status":"delivered","error":null,"receipt_time":"2026-05-01T10:00:05Z"}
	{"event":"click","id":"m1","click_time":"2026-05-03T08:00:00Z"}
	{"event":"click","id":"m1","click_time":"2026-05-01T10:01:40.5Z"}
	{"event":"sent","id":"m2","campaign":"c1","to":"+2","sent_time":"2026-05-01T11:00:00Z"}
	{"event":"delivery","id":"m2","status":"delivered","error":null,"receipt_time":"2026-05-01T11:00:02Z"}
	EOF
	R -q --time sent_time,receipt_time,click_time --by id --agg \
	    'campaign=last(campaign),sent=min(sent_time),status=last(status,receipt_time),error=last(error,receipt_time),clicks=count(click_time),first_click=min(click_time),engaged=count(click_time)>0,ttfc=min(click_time)-min(sent_time)' \
	    ev.ndjson >msg.ndjson
	run cat msg.ndjson
	assert_output '{"id":"m1","campaign":"c1","sent":"2026-05-01T10:00:00Z","status":"failed","error":30003,"clicks":2,"first_click":"2026-05-01T10:01:40.500Z","engaged":true,"ttfc":100.5}
{"id":"m2","campaign":"c1","sent":"2026-05-01T11:00:00Z","status":"delivered","error":null,"clicks":0,"first_click":null,"engaged":false,"ttfc":null}'
	# Per campaign and day, from the message rows.
	run R -q --every 1d --time sent --by campaign --exact --agg \
	    'sent=count,delivered=count_if(.status=="delivered"),rate=delivered/sent,clickers=distinct(id) filter(.clicks>0),median_ttfc=median(first_click-sent)' msg.ndjson
	assert_output '{"window_start":"2026-05-01T00:00:00Z","window_end":"2026-05-02T00:00:00Z","grain":"1d","campaign":"c1","sent":2,"delivered":1,"rate":0.5,"clickers":1,"median_ttfc":100.5}'
	# A late receipt, merged in later, still wins by its time.
	R -q --partial --time sent_time,receipt_time,click_time --by id --agg 'status=last(status,receipt_time)' ev.ndjson >day1.p
	echo '{"event":"delivery","id":"m2","status":"failed","receipt_time":"2026-05-01T11:00:07Z"}' |
		R -q --partial --time sent_time,receipt_time,click_time --by id --agg 'status=last(status,receipt_time)' >day2.p
	run R -q --merge day1.p day2.p
	assert_output '{"id":"m1","status":"failed"}
{"id":"m2","status":"failed"}'
}

@test "rollup: the state per group is reported, and --max-groups stops a runaway" {
	run R -q --by call_id --stats st.json "$BATS_FILE_TMPDIR/calls.ndjson" -o /dev/null
	assert_success
	jq -e '.groups == 10000 and .state_bytes > 0 and .state_bytes / .groups < 400' st.json
	run R -q --by call_id --max-groups 100 -o out.ndjson "$BATS_FILE_TMPDIR/calls.ndjson"
	assert_failure 3
	assert_output --partial 'more than 100 groups'
	[ ! -e out.ndjson ]
	no_temp_files .
}

@test "rollup: unbounded group-by cardinality ends with a clear error under --max-memory, nothing written" {
	seq 1 200000 | awk '{ printf "{\"id\":\"m%07d\",\"n\":%d}\n", $1, $1 % 7 }' >many.ndjson
	run R --by id --agg 'n=count,s=sum(n)' --max-memory 4M -o out.ndjson many.ndjson
	assert_failure 3
	assert_output --partial '(--max-memory): nothing written'
	[ ! -e out.ndjson ]
	no_temp_files .
	# 0 is no limit; the default (half the memory) holds these easily
	run R -q --by id --agg 'n=count' --max-memory 0 -o out.ndjson many.ndjson
	assert_success
	[ "$(wc -l <out.ndjson)" -eq 200000 ]
	run R -q --by id --agg 'n=count' -f -o out.ndjson many.ndjson
	assert_success
	run R --max-memory lots many.ndjson
	assert_failure 2
}

@test "rollup: a window whose local start or end is outside the years 0000-9999 is a rejected record" {
	printf '%s\n' '{"t":"9999-12-31T20:00:00Z"}' '{"t":"9999-12-30T20:00:00Z"}' \
		'{"t":"9999-12-30T10:00:00Z"}' >edge.ndjson
	run R --every 1d --tz Asia/Kolkata --time t --agg n=count --max-error-rate 100% \
		--dead-letter dl.ndjson -o out.ndjson edge.ndjson
	assert_success
	assert_output --partial '3 read, 1 written, 2 rejected'
	assert_equal "$(jq -c .line dl.ndjson | tr '\n' ' ')" '1 2 '
	assert_equal "$(jq -r '.errors[0].message' dl.ndjson | sort -u)" \
		'a window of this time falls outside the years 0000 to 9999'
	assert_equal "$(jq -r .window_end out.ndjson)" '9999-12-31T00:00:00+05:30'
}

@test "rollup: CSV members of an archive with their own column orders, a 3 MiB record, dead letters naming source and line" {
	# Two CSV members with their own column orders, many batches long.
	awk 'BEGIN { print "k,v"; for (i = 1; i <= 3000; i++) printf "k%d,%d\n", i % 7, i }' >a.csv
	awk 'BEGIN { print "v,k"; for (i = 1; i <= 2000; i++) printf "%d,k%d\n", i * 3, i % 5;
	    print "x,k1" }' >b.csv
	tar -cf in.tar a.csv b.csv
	awk -F, 'FNR > 1 && FILENAME == "a.csv" { n[$1]++; s[$1] += $2 }
	    FNR > 1 && FILENAME == "b.csv" && $1 != "x" { n[$2]++; s[$2] += $1 }
	    END { for (k in n) printf "{\"k\":\"%s\",\"n\":%d,\"s\":%d}\n", k, n[k], s[k] }' \
	    a.csv b.csv | sort >expected.ndjson
	run R -q --by k --agg 'n=count,s=sum(v)' --dead-letter dl.ndjson --max-errors 1 in.tar
	assert_success
	printf '%s\n' "$output" >got.ndjson
	assert_file_equal expected.ndjson got.ndjson
	run jq -r '[.source, .line, .record] | @tsv' dl.ndjson
	assert_output "$(printf 'in.tar:b.csv\t2002\tx,k1')"
	# A 3 MiB record among small ones, and a bad line after it.
	{
		echo '{"k":"a","v":1}'
		printf '{"k":"big","v":2,"pad":"%s"}\n' "$(head -c 3145728 /dev/zero | tr '\0' 'p')"
		echo '{"k":"a",'
		echo '{"k":"a","v":4}'
	} >big.ndjson
	run R -q --by k --agg 'n=count,s=sum(v),l=max(pad)' --dead-letter dl2.ndjson \
	    --max-errors 1 big.ndjson
	assert_success
	[ "$(jq -c '[.k, .n, .s, (.l | length)]' <<<"$output" | tr '\n' ' ')" = '["a",2,5,0] ["big",1,2,3145728] ' ]
	run jq -r '[.source, .line] | @tsv' dl2.ndjson
	assert_output "$(printf 'big.ndjson\t3')"
}
