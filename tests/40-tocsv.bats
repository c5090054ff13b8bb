#!/usr/bin/env bats
# cdr-tocsv: dialects, types, dead letters, split gzip files, manifest; a
# real PostgreSQL server and python3's csv module as the oracles.

load helpers/common
load helpers/pg

T() { "$CDR_BIN/cdr-tocsv" "$@"; }
FX=$BATS_TEST_DIRNAME/fixtures/tocsv

setup_file() {
	pg_start
}

teardown_file() {
	pg_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	cp "$FX"/*.ndjson .
}

# gen N SEED: N generated call records (unicode, quotes, nested meta).
gen() {
	"$CDR_BIN/cdr-gen" calls -n "$1" --seed "$2"
}

# The columns of the oracle fixture, typed.
ORACLE_COLS='id:integer,s:string,n:number,b:boolean,ts:timestamp,tstz:timestamptz=ts,obj:json'

# pg_load_oracle TABLE: the oracle NDJSON as jsonb, through PostgreSQL's
# own JSON parser (each line one CSV field: quote and delimiter are bytes
# that JSON text never holds).
pg_load_jsonb() {
	psql_q -c "drop table if exists $1; create table $1(doc jsonb)"
	psql_q -c "copy $1 from stdin (format csv, quote e'\\x01', delimiter e'\\x02')" < "$2"
}

@test "tocsv: --help on stdout, exit 0; the man page documents every option" {
	run --separate-stderr T --help
	assert_success
	assert_output --partial 'usage: cdr-tocsv'
	[ -z "$stderr" ]
	local man=$BATS_TEST_DIRNAME/../share/man/man1/cdr-tocsv.1 opt
	[ -f "$man" ] || fail "no man page"
	for opt in $(grep -oE -- '--[a-z][a-z-]+' <<<"$output" | sort -u); do
		grep -q -- "${opt//-/\\\\-}" "$man" || fail "man page lacks $opt"
	done
	for opt in postgres redshift clickhouse excel rfc4180 timestamptz; do
		grep -q "$opt" "$man" || fail "man page lacks $opt"
	done
}

@test "tocsv: --version names the libraries, libdeflate too" {
	run T --version
	assert_success
	assert_line --index 0 --regexp '^cdr-tocsv \(cdrpipe\) [0-9]'
	assert_output --partial 'libdeflate'
	assert_output --partial 'libjq'
}

@test "tocsv: usage errors exit 2 and say what is wrong" {
	run T --bogus
	assert_failure 2
	run T -d oracle
	assert_failure 2
	assert_output --partial 'unknown dialect'
	run T -c 'a:varchar'
	assert_failure 2
	assert_output --partial "unknown column type 'varchar'"
	run T --jq 'x=.a |||'
	assert_failure 2
	assert_output --partial '--jq: x:'
	run T --split 4
	assert_failure 2
	assert_output --partial '--split needs -o'
	run T --split 0 -o p
	assert_failure 2
	run T --split 2 -o out/
	assert_failure 2
	assert_output --partial 'not a directory'
	run T -o out.csv --manifest m.json
	assert_failure 2
	assert_output --partial '--url-prefix'
	run T --delimiter ab
	assert_failure 2
	run T --null 'a,b'
	assert_failure 2
	run T --gzip-level 13 -o x.gz
	assert_failure 2
	run T --tz Mars/Olympus
	assert_failure 2
	run T --time-precision 2
	assert_failure 2
	[ -z "$(ls -A | grep -v ndjson)" ] || fail "a usage error left files: $(ls)"
}

@test "tocsv: a missing input exits 3 and commits nothing" {
	run T -o out.csv --dead-letter dl.ndjson oracle.ndjson missing.ndjson
	assert_failure 3
	assert_output --partial 'missing.ndjson: No such file or directory'
	[ ! -e out.csv ] && [ ! -e dl.ndjson ]
	run T --split 2 -o part oracle.ndjson missing.ndjson
	assert_failure 3
	[ -z "$(ls part.* 2>/dev/null)" ]
	no_temp_files .
}

@test "tocsv: stdin, '-' and a file give the same bytes" {
	T -q dialect.ndjson > a.csv
	T -q < dialect.ndjson > b.csv
	T -q - < dialect.ndjson > c.csv
	T -q -o d.csv - < dialect.ndjson
	assert_file_equal a.csv b.csv
	assert_file_equal a.csv c.csv
	assert_file_equal a.csv d.csv
	# gzip, bzip2 and xz input through libarchive
	gzip -c dialect.ndjson > in.gz
	xz -c dialect.ndjson > in.xz
	T -q in.gz > e.csv
	T -q in.xz > f.csv
	assert_file_equal a.csv e.csv
	assert_file_equal a.csv f.csv
}

@test "tocsv: postgres dialect, exact bytes" {
	run -0 T -d postgres -o out.csv dialect.ndjson
	assert_file_equal "$FX/dialect.postgres.csv" out.csv
	assert_output 'cdr-tocsv: 6 read, 6 written, 0 rejected, 0 duplicates'
}

@test "tocsv: redshift dialect, exact bytes" {
	T -q -d redshift dialect.ndjson > out.csv
	assert_file_equal "$FX/dialect.redshift.csv" out.csv
}

@test "tocsv: clickhouse dialect, exact bytes" {
	T -q -d clickhouse dialect.ndjson > out.csv
	assert_file_equal "$FX/dialect.clickhouse.csv" out.csv
}

@test "tocsv: excel dialect: BOM, CRLF, TRUE/FALSE, CSV injection neutralised" {
	T -q -d excel dialect.ndjson > out.csv
	assert_file_equal "$FX/dialect.excel.csv" out.csv
	head -c 3 out.csv | od -An -tx1 | grep -q 'ef bb bf' || fail "no BOM"
	# every line ends in CRLF (the one line break inside a value is LF)
	[ "$(grep -c $'\r$' out.csv)" -eq 7 ]
	# strings starting with = + - @ are prefixed; the number -5 is not
	grep -q "^5,\"'=HYPERLINK" out.csv
	grep -q "'-5,FALSE,-5," out.csv
	run T -q -d excel --no-excel-safe dialect.ndjson
	assert_line --partial '"=HYPERLINK(""x"")",-5,FALSE'
}

@test "tocsv: rfc4180 dialect, exact bytes" {
	T -q -d rfc4180 dialect.ndjson > out.csv
	assert_file_equal "$FX/dialect.rfc4180.csv" out.csv
}

@test "tocsv: options: quote-all, NULL token, booleans, tab, no header, zone, precision" {
	run -0 T -q --max-errors 1 --quote-all --null NULL --booleans 1,0 --delimiter tab \
		--no-header --excel-safe -c 'id:integer,name,ok,at,when:timestamptz=at,day:date=at' \
		--tz America/New_York --time-precision 3 -o out.tsv dialect.ndjson
	assert_file_equal "$FX/dialect.options.tsv" out.tsv
	assert_output --partial 'dialect.ndjson:5: at: not a timestamp: "not a time"'
}

@test "tocsv: --excel-safe in any dialect touches strings only" {
	printf '%s\n' '{"a":"=1+2","b":-3,"c":"+44 20","d":"@x","e":"-","f":"\tx","g":"ok"}' > x.ndjson
	run -0 T -q --excel-safe x.ndjson
	assert_line --index 1 "'=1+2,-3,'+44 20,'@x,'-,'	x,ok"
	run -0 T -q --excel-safe -d clickhouse x.ndjson
	assert_line --index 1 "\"'=1+2\",-3,\"'+44 20\",\"'@x\",\"'-\",\"'	x\",ok"
}

@test "tocsv: time zones, DST and precision" {
	printf '%s\n' '{"t":"2026-03-08T06:59:59.5Z"}' '{"t":"2026-03-08T07:00:00Z"}' \
		'{"t":"2026-11-01T05:30:00Z"}' '{"t":"2026-11-01T06:30:00Z"}' \
		'{"t":"2026-01-01T00:00:00.123456789Z"}' '{"t":1767225600}' > t.ndjson
	run -0 T -q --tz America/New_York -c 't:timestamptz' --no-header t.ndjson
	assert_output "$(printf '%s\n' '2026-03-08 01:59:59.500-05:00' '2026-03-08 03:00:00-04:00' \
		'2026-11-01 01:30:00-04:00' '2026-11-01 01:30:00-05:00' \
		'2025-12-31 19:00:00.123456-05:00' '2025-12-31 19:00:00-05:00')"
	run -0 T -q --tz Asia/Kolkata --time-precision 6 -c 't:timestamp' --no-header t.ndjson
	assert_line --index 0 '2026-03-08 12:29:59.500000'
	assert_line --index 4 '2026-01-01 05:30:00.123456'
	run -0 T -q --time-precision 0 -c 't:timestamp,d:date=t' --no-header t.ndjson
	assert_line --index 0 '2026-03-08 06:59:59,2026-03-08'
	# auto columns: times with an offset become UTC; without one they stay
	printf '%s\n' '{"a":"2026-01-01T01:00:00+01:00","b":"2026-01-01 01:00:00"}' > u.ndjson
	run -0 T -q --no-header u.ndjson
	assert_output '2026-01-01 00:00:00,2026-01-01 01:00:00'
	run -0 T -q --no-header --no-time-detect u.ndjson
	assert_output '2026-01-01T01:00:00+01:00,2026-01-01 01:00:00'
}

@test "tocsv: numbers keep every digit and lose the exponent" {
	printf '%s\n' '{"n":1.5e3}' '{"n":-2E-3}' '{"n":1e21}' '{"n":0.000e5}' '{"n":-0}' \
		'{"n":12345678901234567890123.25}' '{"n":1e-7}' '{"n":9.99E+1}' > n.ndjson
	run -0 T -q --no-header n.ndjson
	assert_output "$(printf '%s\n' 1500 -0.002 1000000000000000000000 0 -0 \
		12345678901234567890123.25 0.0000001 99.9)"
	run --separate-stderr T -q --no-header -c n:integer --max-errors 9 n.ndjson
	assert_success
	assert_output "$(printf '%s\n' 1500 0 0)"
	run -1 T -q --no-header -c n:integer n.ndjson
	assert_line 'cdr-tocsv: n.ndjson:3: n: integer out of the 64-bit range'
}

@test "tocsv: wrong types are dead-lettered byte for byte, never emptied" {
	run -1 T -c call_id:string,duration_s:integer,cost:number,answered:boolean,start_time:timestamp,campaign=meta.campaign_id \
		--dead-letter dl.ndjson -o out.csv types.ndjson
	assert_file_equal "$FX/types.expected.csv" out.csv
	assert_file_equal "$FX/types.dead.ndjson" dl.ndjson
	assert_line 'cdr-tocsv: 7 read, 2 written, 5 rejected, 0 duplicates'
	assert_line 'cdr-tocsv: 5 rejected records: more than --max-errors 0 allows'
	# the dead letters give back the original lines exactly
	jq -r .record dl.ndjson > back.ndjson
	sed -n '3,7p' types.ndjson > want.ndjson
	assert_file_equal want.ndjson back.ndjson
	# within the budget the status is 0; the same files are written
	run -0 T -q -f --max-errors 5 -c call_id:string,duration_s:integer,cost:number,answered:boolean,start_time:timestamp,campaign=meta.campaign_id \
		--dead-letter dl.ndjson -o out.csv types.ndjson
	assert_file_equal "$FX/types.dead.ndjson" dl.ndjson
	run -1 T -q -f --max-error-rate 50% -c duration_s:integer --dead-letter dl.ndjson types.ndjson
	run -0 T -q -f --max-error-rate 80% -c duration_s:integer --dead-letter dl.ndjson types.ndjson
}

@test "tocsv: --stats counts rejections by reason" {
	run -1 T -q --stats st.json -c duration_s:integer,call_id:string --dead-letter dl.ndjson types.ndjson
	jq -e '.tool == "cdr-tocsv" and .read == 7 and .written == 2 and .rejected == 5
	    and .reasons.type == 3 and .reasons.range == 1 and .reasons.parse == 1
	    and .read == .written + .rejected' st.json
}

@test "tocsv: without a dead-letter file rejections are shown on stderr" {
	run -1 T -c duration_s:integer types.ndjson
	assert_line 'cdr-tocsv: types.ndjson:3: duration_s: not an integer: string "abc"'
	assert_line 'cdr-tocsv: types.ndjson:6: column 17: expected '"','"' or '"'}'"
}

@test "tocsv: columns from the first record; a later unknown field is rejected" {
	printf '%s\n' '{"a":1,"b":"x"}' '{"b":"y","a":2}' '{"a":3}' '{"a":4,"c":5}' > k.ndjson
	run -1 T --dead-letter dl.ndjson -o out.csv k.ndjson
	printf 'a,b\n1,x\n2,y\n3,\n' > want.csv
	assert_file_equal want.csv out.csv
	jq -e '.line == 4 and .errors[0].field == "c" and .errors[0].check == "columns"' dl.ndjson
	# a first record without fields cannot give the columns: rejected, counted
	printf '%s\n' '{}' '{"a":1}' '{}' > e.ndjson
	run -1 T -f --dead-letter dl.ndjson -o out.csv e.ndjson
	assert_output --partial '3 read, 2 written, 1 rejected'
	printf 'a\n1\n\n' > want.csv
	assert_file_equal want.csv out.csv
	jq -e '.line == 1 and .errors[0].check == "columns"' dl.ndjson
}

@test "tocsv: paths, renames and jq computed columns" {
	printf '%s\n' '{"id":"a","d":90,"m":{"c":"k1","x":{"y":true}}}' \
		'{"id":"b","d":"x","m":{"c":null}}' '{"id":"c","d":30}' > j.ndjson
	run -1 T --dead-letter dl.ndjson -c 'id,camp=m.c,y:boolean=m.x.y' \
		--jq 'minutes:number=.d / 60' --column 'tag=id' --jq 'both=[.id, (.m.c // "none")] | join(",")' j.ndjson
	assert_output --partial "$(printf '%s\n' 'id,camp,y,minutes,tag,both' 'a,k1,true,1.5,a,"a,k1"' \
		'c,,,0.5,c,"c,none"')"
	jq -e '.errors[0].field == "minutes" and .errors[0].check == "jq"' dl.ndjson
}

@test "tocsv: CSV input: header, NULL and empty kept apart" {
	printf 'a,b,c\n1,"",x\n2,,"y ""z"""\n' > in.csv
	run -0 T -q -d redshift in.csv
	assert_output "$(printf 'a,b,c\n1,"",x\n2,\\N,"y ""z"""')"
	run -0 T -q -c 'a:integer,c' --no-header in.csv
	assert_output "$(printf '1,x\n2,"y ""z"""')"
}

@test "tocsv: --schema gives columns and types" {
	gen 50 7 > calls.ndjson
	run -0 T -q --schema call -o out.csv calls.ndjson
	head -1 out.csv | grep -q '^call_id,tenant_id,call_type,start_time,'
	head -1 out.csv | grep -q ',meta.campaign_id,'
	# typed timestamps: no T, no Z
	! cut -d, -f4 out.csv | grep -q 'T' || fail "start_time not converted"
	[ "$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1]))))' out.csv)" -eq 51 ]
	# an explicit list takes its types from the schema
	run -0 T -q --schema call -c call_id,duration_s,start_time calls.ndjson
	assert_line --index 0 'call_id,duration_s,start_time'
	assert_line --index 1 --regexp '^[0-9a-f-]{36},[0-9]+,2026-[0-9-]+ [0-9:.]+$'
}

@test "tocsv: python3's csv module reads back exactly the JSON values" {
	gen 3000 11 > calls.ndjson
	local in d
	for in in calls oracle; do
		for d in postgres rfc4180 excel; do
			T -q -d $d --no-time-detect --dead-letter dl.$in.$d.ndjson --max-errors 9 \
				-o out.$in.$d.csv $in.ndjson
		done
	done
	# the oracle's line 16 has a field the first record lacks; line 18
	# cannot be loaded by PostgreSQL
	[ "$(jq -s -c 'map(.line)' dl.oracle.postgres.ndjson)" = '[16,18]' ]
	[ "$(jq -s -c 'map(.line)' dl.oracle.excel.ndjson)" = '[16]' ]
	[ ! -s dl.calls.postgres.ndjson ]
	python3 - "$PWD" <<'EOF'
import csv, json, sys, os
from decimal import Decimal
d = sys.argv[1]
for name in ("calls", "oracle"):
    path = os.path.join(d, name + ".ndjson")
    recs = [json.loads(l, parse_float=Decimal) for l in open(path, encoding="utf-8")]
    for dialect, yes, no, bom in (("postgres", "true", "false", False),
                                  ("rfc4180", "true", "false", False),
                                  ("excel", "TRUE", "FALSE", True)):
        enc = "utf-8-sig" if bom else "utf-8"
        with open(os.path.join(d, "out.%s.%s.csv" % (name, dialect)), newline="",
                  encoding=enc) as f:
            rows = list(csv.reader(f))
        dead = {json.loads(l)["line"] for l in
                open(os.path.join(d, "dl.%s.%s.ndjson" % (name, dialect)))}
        header = rows[0]
        assert header == list(recs[0].keys()), (dialect, header)
        kept = [r for i, r in enumerate(recs) if i + 1 not in dead]
        assert len(rows) - 1 == len(kept), (dialect, len(rows), len(kept))
        for row, rec in zip(rows[1:], kept):
            assert len(row) == len(header)
            for k, cell in zip(header, row):
                v = rec.get(k)
                if v is None:
                    assert cell == "", (dialect, k, cell)
                elif v is True or v is False:
                    assert cell == (yes if v else no), (dialect, k, cell)
                elif isinstance(v, (int, Decimal)):
                    assert Decimal(cell) == Decimal(v), (dialect, k, cell, v)
                elif isinstance(v, str):
                    if dialect == "excel" and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
                        v = "'" + v
                    assert cell == v, (dialect, k, cell, v)
                else:
                    assert json.loads(cell, parse_float=Decimal) == v, (dialect, k, cell, v)
print("ok")
EOF
}

@test "tocsv: PostgreSQL loads the split gzip files with one COPY, equal row by row" {
	run -1 T -q --split 3 --no-header -c "$ORACLE_COLS" --dead-letter dl.ndjson -o part oracle.ndjson
	# one COPY of every part, as loaders do
	psql_q -c "drop table if exists t; create table t(id bigint, s text, n numeric,
	    b boolean, ts timestamp, tstz timestamptz, obj jsonb)"
	zcat part.*.csv.gz | psql_q -c "copy t from stdin (format csv)"
	pg_load_jsonb j oracle.ndjson
	# rejected: only the value with a line \. inside
	[ "$(jq -c '[.line, .errors[0].check]' dl.ndjson)" = '[18,"csv"]' ]
	run psql_q -c "select count(*) from t"
	assert_output 17
	# every column compared with what PostgreSQL's JSON parser read
	run psql_q <<'EOF'
set timezone = 'UTC';
select coalesce(string_agg(j.doc->>'id', ' '), 'none') from j left join t on t.id = (j.doc->>'id')::bigint
where (j.doc->>'id')::int <> 18 and not (
	t.id is not null
	and t.s is not distinct from j.doc->>'s'
	and t.n is not distinct from (j.doc->>'n')::numeric
	and t.b is not distinct from (j.doc->>'b')::boolean
	and t.obj is not distinct from nullif(j.doc->'obj', 'null'::jsonb)
	and t.tstz is not distinct from case jsonb_typeof(j.doc->'ts')
		when 'number' then case when (j.doc->>'ts')::numeric > 1e11
			then 'epoch'::timestamptz + (j.doc->>'ts')::numeric * interval '1 millisecond'
			else 'epoch'::timestamptz + (j.doc->>'ts')::numeric * interval '1 second' end
		when 'string' then (j.doc->>'ts')::timestamptz end
	and t.ts is not distinct from (t.tstz at time zone 'UTC'));
EOF
	assert_success
	assert_output none
	# NULL and the empty string stay apart
	run psql_q -c "select id, s is null, s = '' from t where id in (2, 3) order by id"
	assert_output "$(printf '2|f|t\n3|t|')"
}

@test "tocsv: PostgreSQL loads each part with HEADER; cdr-gen volume equal in SQL" {
	gen 20000 5 > calls.ndjson
	run -0 T -q --split 4 -j 2 -c 'call_id:string,tenant_id,start_time:timestamp,answer_time:timestamp,duration_s:integer,caller,meta:json,notes=meta.notes' \
		-o part calls.ndjson
	psql_q -c "drop table if exists c; create table c(call_id text primary key, tenant_id text,
	    start_time timestamp, answer_time timestamp, duration_s int, caller text, meta jsonb, notes text)"
	local f
	for f in part.*.csv.gz; do
		gzip -t "$f"
		zcat "$f" | psql_q -c "copy c from stdin (format csv, header true)"
	done
	pg_load_jsonb cj calls.ndjson
	run psql_q -c "select count(*) from c"
	assert_output 20000
	run psql_q <<'EOF'
set timezone = 'UTC';
select count(*) from cj full join c on c.call_id = cj.doc->>'call_id'
where c.call_id is null or cj.doc is null
   or c.tenant_id is distinct from cj.doc->>'tenant_id'
   or c.start_time is distinct from ((cj.doc->>'start_time')::timestamptz at time zone 'UTC')
   or c.answer_time is distinct from ((cj.doc->>'answer_time')::timestamptz at time zone 'UTC')
   or c.duration_s is distinct from (cj.doc->>'duration_s')::int
   or c.caller is distinct from cj.doc->>'caller'
   or c.meta is distinct from cj.doc->'meta'
   or c.notes is distinct from cj.doc->'meta'->>'notes';
EOF
	assert_success
	assert_output 0
	# unicode and quotes did occur
	run psql_q -c "select count(*) > 0 from c where notes ~ '[^[:ascii:]]'"
	assert_output t
}

@test "tocsv: split files are near-equal, each with its header, rows conserved" {
	gen 5000 3 > calls.ndjson
	run -0 T -q --split 4 -o part calls.ndjson
	local f sizes total=0 rows=0 n
	for f in part.000{0,1,2,3}.csv.gz; do
		[ -f "$f" ] || fail "missing $f"
		gzip -t "$f"
		[ "$(zcat "$f" | head -1)" = "$(T -q calls.ndjson | head -1)" ] || fail "$f: no header"
		n=$(zcat "$f" | wc -c)
		sizes="$sizes $n"
	done
	# uncompressed sizes within two rows of each other
	python3 -c 'import sys; s=[int(x) for x in sys.argv[1:]]; assert max(s)-min(s) < 2000, s' $sizes
	# the rows of all parts are the input's rows
	zcat part.*.csv.gz | python3 -c 'import csv,sys; r=list(csv.reader(sys.stdin)); print(len(r))' | grep -qx 5004
	T -q --no-header calls.ndjson | sort > all.csv
	for f in part.*.csv.gz; do zcat "$f" | tail -n +2; done | sort > parts.csv
	assert_file_equal all.csv parts.csv
	# fewer rows than files: every part is still valid gzip with its header
	head -2 calls.ndjson > two.ndjson
	run -0 T -q --split 5 -o few two.ndjson
	for f in few.000{0,1,2,3,4}.csv.gz; do
		gzip -t "$f"
		[ "$(zcat "$f" | wc -l)" -le 2 ]
	done
	[ "$(zcat few.*.csv.gz | wc -l)" -eq 7 ]
}

@test "tocsv: output is the same bytes whatever the threads; gzip of one file" {
	gen 4000 9 > calls.ndjson
	T -q --split 3 -j 1 -o a calls.ndjson
	T -q --split 3 -j 4 -o b calls.ndjson
	local i
	for i in 0 1 2; do
		cmp a.000$i.csv.gz b.000$i.csv.gz || fail "part $i differs between -j 1 and -j 4"
	done
	T -q -o one.csv.gz calls.ndjson
	T -q -o one.csv calls.ndjson
	gzip -t one.csv.gz
	zcat one.csv.gz > unz.csv
	assert_file_equal one.csv unz.csv
	T -q -z calls.ndjson | zcat > piped.csv
	assert_file_equal one.csv piped.csv
	T -q --no-gzip --split 2 -o plain calls.ndjson
	[ -f plain.0000.csv ] && [ -f plain.0001.csv ]
}

@test "tocsv: Redshift manifest lists every part with its byte size" {
	gen 3000 4 > calls.ndjson
	mkdir out
	run -0 T -q --split 4 -o out/calls --manifest out/calls.manifest \
		--url-prefix s3://bucket/day=2026-11-22/ calls.ndjson
	jq -e '.entries | length == 4' out/calls.manifest
	local i url len
	for i in 0 1 2 3; do
		url=$(jq -r ".entries[$i].url" out/calls.manifest)
		[ "$url" = "s3://bucket/day=2026-11-22/calls.000$i.csv.gz" ] || fail "url $url"
		len=$(jq -r ".entries[$i].meta.content_length" out/calls.manifest)
		[ "$len" -eq "$(stat -c %s out/calls.000$i.csv.gz)" ] || fail "length of part $i"
		jq -e ".entries[$i].mandatory == true" out/calls.manifest
	done
}

@test "tocsv: -o over an existing file needs -f; stale parts are pointed out" {
	echo old > out.csv
	run T -o out.csv oracle.ndjson
	assert_failure 3
	assert_output --partial 'file exists'
	[ "$(cat out.csv)" = old ]
	run T -q -f --max-errors 9 -o out.csv oracle.ndjson
	assert_success
	[ "$(head -1 out.csv)" = 'id,s,n,b,ts,obj' ]
	T -q --split 3 -o p dialect.ndjson
	run T -q --split 3 -o p dialect.ndjson
	assert_failure 3
	run -0 T -q -f --split 2 -o p dialect.ndjson
	assert_output --partial 'p.0002.csv.gz: left from an earlier run'
}

@test "tocsv: writing to a full disk exits 3" {
	run T -q -o /dev/full dialect.ndjson
	assert_failure 3
	assert_output --partial 'No space left on device'
	run bash -c "'$CDR_BIN/cdr-tocsv' -q dialect.ndjson > /dev/full"
	assert_failure 3
	run T -q --dead-letter /dev/full -c id:integer,at:timestamp dialect.ndjson
	assert_failure 3
}

@test "tocsv: a closed pipe ends it quietly" {
	gen 20000 2 > calls.ndjson
	run --separate-stderr bash -c "'$CDR_BIN/cdr-tocsv' -q calls.ndjson | head -1"
	assert_success
	[ -z "$stderr" ]
	assert_output --regexp '^call_id,'
}

@test "tocsv: an interrupted run leaves no partial output" {
	mkfifo slow
	( cat dialect.ndjson; sleep 5 ) > slow &
	"$CDR_BIN/cdr-tocsv" -q --split 2 -o part --dead-letter dl.ndjson --manifest m.json \
		--url-prefix s3://b/ slow &
	pid=$!
	for _ in $(seq 50); do
		[ -n "$(find . -name '.part.0001.csv.gz.tmp.*')" ] && break
		sleep 0.1
	done
	[ -n "$(find . -name '.part.0001.csv.gz.tmp.*')" ] || fail "outputs never opened"
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	[ -z "$(ls part.* dl.ndjson m.json 2>/dev/null)" ] || fail "partial output: $(ls)"
	no_temp_files .
	kill %1 2>/dev/null || true
}
