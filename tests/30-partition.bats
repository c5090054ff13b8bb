#!/usr/bin/env bats
# cdr-partition: stable hash shards, tenant/date trees, rotation, gzip,
# batch re-runs, bounded open files, hostile values, crashes, CSV.
#
# Oracles: the input itself (multiset union by sort | cmp), jq, python3
# (csv, zlib.crc32, gzip, and tests/fixtures/partition/xxh3.py: a second
# implementation of XXH3-64, the jump hash and the path encoding), and
# expected files written by hand.

bats_require_minimum_version 1.5.0

load helpers/common

P() { "$CDR_BIN/cdr-partition" "$@"; }
FX=$BATS_TEST_DIRNAME/fixtures/partition
ORACLE=$FX/xxh3.py

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# visible_files DIR: the committed files (not hidden temporaries), sorted.
visible_files() {
	find "$1" -type f ! -name '.*' | sort
}

# same_multiset DIR INPUT: the union of DIR's files is INPUT, record for record.
same_multiset() {
	visible_files "$1" | xargs -r -d '\n' cat | sort > union.sorted
	sort "$2" > input.sorted
	cmp -s union.sorted input.sorted ||
		fail "files under $1 are not the records of $2 ($(wc -l < union.sorted) vs $(wc -l < input.sorted) lines)"
}

# manifest_records MANIFEST: the sum of "records".
manifest_records() {
	jq -s 'map(.records) | add // 0' "$1"
}

# keys N: N records {"k":"k0"} ... with a payload.
keys() {
	python3 -c '
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"k": "k%d" % i, "n": i, "pad": "x" * (i % 50)}))' "$1"
}

# gen N SEED: realistic calls from cdr-gen, valid records only.
gen() {
	"$CDR_BIN/cdr-gen" calls -n "$1" --seed "$2" --error-rate 0 |
		python3 -c '
import sys
for line in sys.stdin.buffer:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        continue
    sys.stdout.buffer.write(line)'
}

# ---- command line ----

@test "partition: --help on stdout, exit 0; every option in help and man page" {
	run --separate-stderr P --help
	assert_success
	assert_output --partial 'usage: cdr-partition --by-hash KEY --shards N -d DIR'
	[ -z "$stderr" ]
	for opt in --by-hash --shards --shard-function --by --tz --missing --directory \
	    --output-format --columns --gzip --gzip-level --max-records --max-bytes \
	    --batch-id --force --no-fsync --max-open --buffer-size --threads --output \
	    --dead-letter --max-errors --max-error-rate --stats --input-format \
	    --max-record --progress --no-progress --quiet --help --version; do
		grep -q -- "${opt//-/\\\\-}" "$BATS_TEST_DIRNAME/../share/man/man1/cdr-partition.1" ||
			fail "man page lacks $opt"
		[[ $output == *"$opt"* ]] || fail "--help lacks $opt"
	done
}

@test "partition: --version names the program and libraries" {
	run P --version
	assert_success
	assert_line --index 0 --regexp '^cdr-partition \(cdrpipe\) [0-9]'
}

@test "partition: usage errors exit 2 and write nothing" {
	run P --bogus
	assert_failure 2
	assert_output --partial "cdr-partition: unrecognized option '--bogus'"
	run P -d out
	assert_failure 2
	assert_output --partial 'one of --by-hash KEY or --by TEMPLATE is required'
	run P --by-hash k -d out
	assert_failure 2
	assert_output --partial '--by-hash needs --shards N'
	run P --by-hash k --shards 0 -d out
	assert_failure 2
	run P --by-hash k --shards 65537 -d out
	assert_failure 2
	run P --by-hash k --shards 4 --by '{k}' -d out
	assert_failure 2
	run P --by-hash k --shards 4
	assert_failure 2
	assert_output --partial '-d DIR is required'
	run P --by-hash k --shards 4 --shard-function ring -d out
	assert_failure 2
	run P --by '{k}' --batch-id '../x' -d out
	assert_failure 2
	run P --by '{k}' --batch-id 'a@b' -d out
	assert_failure 2
	run P --by '{k}' --max-bytes 10Q -d out
	assert_failure 2
	run P --by '{k}' --tz Mars/Olympus -d out
	assert_failure 2
	run P --by '{k}' -O xml -d out
	assert_failure 2
	[ ! -e out ] || fail "a usage error created the output directory"
}

@test "partition: unsafe or ambiguous templates are refused (exit 2)" {
	local t
	for t in '/abs/{k}' '{k}//x' '{k}/../x' '{k}/./x' './{k}' '{k}/.hidden' '{k}/' \
	    '{k}{v}' '{k}_{v}' '{k}-{v}.x' '{k}/{t:%s}{v}' '{k}@x' 'x~{k}' '{}' '{k' \
	    'a}b' '{t:%Q}' '{t:}' "$(printf 'a\tb/{k}')" '{k}.ndjson.gz'; do
		run P --by "$t" -d out
		[ "$status" -eq 2 ] || fail "template '$t' gave status $status: $output"
	done
	# A separator that values never contain makes two placeholders safe.
	echo '{"k":"a","v":"b","t":"2026-03-01T00:00:00Z"}' > one.ndjson
	run P -q --by '{k}={v}/{t:%Y}_{k}.ndjson' -d out one.ndjson
	assert_success
	[ -f 'out/a=b/2026_a.ndjson' ]
}

@test "partition: a missing input exits 3 and commits nothing" {
	keys 10 > in.ndjson
	run P --by-hash k --shards 4 -d out in.ndjson missing-1.ndjson missing-2.ndjson
	assert_failure 3
	assert_output --partial 'missing-1.ndjson: No such file or directory'
	assert_output --partial 'missing-2.ndjson: No such file or directory'
	[ -z "$(find . -path './out/*' -type f)" ] || fail "files committed"
}

@test "partition: -d onto an unwritable place exits 3" {
	keys 10 > in.ndjson
	touch plain-file
	run P --by-hash k --shards 4 -d plain-file/sub in.ndjson
	assert_failure 3
	assert_output --partial 'plain-file/sub'
	run P --by-hash k --shards 4 -d /proc/cdr-partition-test in.ndjson
	assert_failure 3
	run P --by-hash k --shards 4 -d plain-file in.ndjson
	assert_failure 3
	assert_output --partial 'not a directory'
}

@test "partition: a manifest to /dev/full exits 3" {
	keys 10 > in.ndjson
	run P --by-hash k --shards 4 -d out in.ndjson > /dev/full
	run bash -c '"$0" --by-hash k --shards 4 -d out2 in.ndjson > /dev/full' "$CDR_BIN/cdr-partition"
	assert_failure 3
	assert_output --partial 'No space left on device'
}

# ---- hash shards ----

@test "partition: hash shards hold the input multiset, all N files, manifest adds up" {
	gen 3000 11 > in.ndjson
	run --separate-stderr P --by-hash call_id --shards 16 -d out in.ndjson
	assert_success
	echo "$output" > manifest.ndjson
	[ "$(visible_files out | wc -l)" -eq 16 ]
	for i in $(seq -f '%05g' 0 15); do
		[ -f "out/part-$i.ndjson" ] || fail "no out/part-$i.ndjson"
	done
	same_multiset out in.ndjson
	[ "$(manifest_records manifest.ndjson)" -eq "$(wc -l < in.ndjson)" ]
	[[ $stderr == "cdr-partition: 3000 read, 3000 written, 0 rejected, 0 duplicates" ]]
	# Each line names its file, its record count, size, CRC-32 and shard.
	python3 - manifest.ndjson <<'EOF'
import json, os, sys, zlib
for line in open(sys.argv[1]):
    m = json.loads(line)
    data = open(m["path"], "rb").read()
    assert m["bytes"] == len(data) == os.path.getsize(m["path"]), m
    assert m["records"] == data.count(b"\n"), m
    assert m["checksum"] == "crc32:%08x" % zlib.crc32(data), m
    assert m["path"] == "out/part-%05d.ndjson" % m["shard"], m
EOF
	# Sorted by path.
	jq -r .path manifest.ndjson | sort -c
}

@test "partition: shards are XXH3-64 + jump hash (and mod) as documented, checked by a second implementation" {
	# Keys of every length class of XXH3 (0..240 bytes), escapes, UTF-8.
	python3 - <<'EOF'
import json, random
random.seed(5)
alphabet = "abcXYZ019 -_.:/\\\"'é€😀"
ks = [""] + ["k%d" % i for i in range(300)]
for n in list(range(1, 80)) + [100, 127, 128, 129, 150, 200, 239, 240]:
    for _ in range(3):
        ks.append("".join(random.choice(alphabet) for _ in range(n)))
ks = [k for k in dict.fromkeys(ks) if len(k.encode()) <= 240]
with open("in.ndjson", "w") as f, open("keys.txt", "w", encoding="utf-8") as g:
    for k in ks:
        f.write(json.dumps({"k": k}) + "\n")   # ensure_ascii: \u escapes
        g.write(k + "\n")
EOF
	for fn in jump mod; do
		rm -rf out
		P -q --by-hash k --shards 64 --shard-function $fn -d out in.ndjson > manifest.ndjson
		jq -r '"\(.path)\t\(.shard)"' manifest.ndjson | while IFS=$'\t' read -r path shard; do
			jq -r --arg s "$shard" '.k + "\t" + $s' "$path"
		done | sort > tool.txt
		paste keys.txt <("$ORACLE" shard 64 $fn < keys.txt) | sort > oracle.txt
		assert_file_equal oracle.txt tool.txt
	done
	# The values printed in the man page.
	printf 'acme\n' > acme.txt
	[ "$("$ORACLE" hash < acme.txt)" = 44ad98655d8858e1 ]
	[ "$("$ORACLE" shard 64 jump < acme.txt)" = 22 ]
	[ "$("$ORACLE" shard 64 mod < acme.txt)" = 33 ]
}

@test "partition: the same key lands in the same shard whatever the order of records and files" {
	gen 2000 12 > in.ndjson
	P -q --by-hash tenant_id --shards 8 -d a in.ndjson > /dev/null
	shuf --random-source=<(yes) in.ndjson > shuffled.ndjson
	split -n l/3 shuffled.ndjson part.
	P -q --by-hash tenant_id --shards 8 -d b part.ac - part.aa < part.ab > /dev/null
	for d in a b; do
		for f in $(visible_files $d); do
			jq -r --arg f "${f##*/}" '"\(.tenant_id) \($f)"' "$f"
		done | sort -u > $d.map
	done
	assert_file_equal a.map b.map
	# One shard per key, and the string "42" and the number 42 are one key.
	[ "$(cut -d' ' -f1 a.map | uniq -d | wc -l)" -eq 0 ]
	printf '{"k":42,"n":1}\n{"k":"42","n":2}\n{"k":"\\u0034\\u0032","n":3}\n' > num.ndjson
	P -q --by-hash k --shards 64 -d num num.ndjson > num.manifest
	[ "$(jq -s 'map(select(.records > 0)) | length' num.manifest)" -eq 1 ]
}

@test "partition: 100000 keys spread uniformly over 64 shards (chi-square)" {
	keys 100000 > in.ndjson
	for fn in jump mod; do
		rm -rf out
		P -q --by-hash k --shards 64 --shard-function $fn -d out --no-fsync in.ndjson > m.ndjson
		# 63 degrees of freedom: 103.4 is the 0.1% critical value.
		jq -s -e '(100000 / 64) as $e | (map((.records - $e) * (.records - $e) / $e) | add) as $chi
		    | if $chi < 103.4 then true else error("chi-square \($chi)") end' m.ndjson
		[ "$(manifest_records m.ndjson)" -eq 100000 ]
	done
}

@test "partition: jump hash: from 64 to 65 shards only keys for the new shard move" {
	keys 20000 > in.ndjson
	for n in 64 65; do
		P -q --by-hash k --shards $n -d s$n --no-fsync in.ndjson > m$n.ndjson
		jq -r '"\(.path)\t\(.shard)"' m$n.ndjson | while IFS=$'\t' read -r path shard; do
			jq -r --arg s "$shard" '"\(.k) \($s)"' "$path"
		done | sort > map$n
	done
	join map64 map65 | awk '$2 != $3 && $3 != 64 { bad++ } $2 != $3 { moved++ }
	    END { if (bad) { print "keys moved between old shards: " bad; exit 1 }
	          if (moved < 200 || moved > 420) { print "moved " moved; exit 1 } }'
}

@test "partition: empty input still gives every shard its file (NDJSON, CSV header, gzip)" {
	run --separate-stderr P --by-hash k --shards 3 -d out < /dev/null
	assert_success
	[ "$(visible_files out | wc -l)" -eq 3 ]
	[ "$(jq -s 'map(.records) | add' <<< "$output")" -eq 0 ]
	[ ! -s out/part-00002.ndjson ]
	printf 'k,v\r\n' > header-only.csv
	P -q --by-hash k --shards 2 -d csv header-only.csv > /dev/null
	printf 'k,v\n' > expected.csv
	assert_file_equal expected.csv csv/part-00000.csv
	assert_file_equal expected.csv csv/part-00001.csv
	P -q --by-hash k --shards 2 -z -d gz < /dev/null > /dev/null
	gzip -t gz/part-00000.ndjson.gz gz/part-00001.ndjson.gz
	[ -z "$(zcat gz/part-00000.ndjson.gz)" ]
}

@test "partition: stdin, '-' and a file give the same shards" {
	keys 500 > in.ndjson
	P -q --by-hash k --shards 4 -d a in.ndjson > ma
	P -q --by-hash k --shards 4 -d b < in.ndjson > mb
	cat in.ndjson | P -q --by-hash k --shards 4 -d c - > mc
	for i in 0 1 2 3; do
		cmp a/part-0000$i.ndjson b/part-0000$i.ndjson
		cmp a/part-0000$i.ndjson c/part-0000$i.ndjson
	done
}

# ---- templates and time zones ----

@test "partition: tenant/day tree in Asia/Kolkata splits days at 18:30 UTC" {
	run P -q --by '{tenant_id}/{start_time:%Y/%m/%d}/calls.ndjson' --tz Asia/Kolkata \
	    -d out "$FX/kolkata.ndjson"
	assert_success
	for f in $(cd out && find . -type f | sort); do
		echo "$f: $(jq -r .id "out/$f" | tr '\n' ' ')"
	done > got
	cat > want <<'EOF'
./acme/2026/03/01/calls.ndjson: 1 3 
./acme/2026/03/02/calls.ndjson: 2 
./globex/2026/03/01/calls.ndjson: 5 6 
./globex/2026/03/02/calls.ndjson: 4 
./initech/2025/12/31/calls.ndjson: 8 
./initech/2026/01/01/calls.ndjson: 7 
EOF
	assert_file_equal want got
	# The same records by UTC days.
	P -q --by '{tenant_id}/{start_time:%F}.ndjson' -d utc "$FX/kolkata.ndjson" > m.ndjson
	for f in $(cd utc && find . -type f | sort); do
		echo "$f: $(jq -r .id "utc/$f" | tr '\n' ' ')"
	done > got
	cat > want <<'EOF'
./acme/2026-03-01.ndjson: 1 2 3 
./globex/2026-02-28.ndjson: 6 
./globex/2026-03-01.ndjson: 5 
./globex/2026-03-02.ndjson: 4 
./initech/2025-12-31.ndjson: 7 8 
EOF
	assert_file_equal want got
	jq -s -e 'map(select(.path == "utc/globex/2026-02-28.ndjson"))[0]
	    | .values == {"tenant_id": "globex", "start_time:%F": "2026-02-28"}' m.ndjson
}

@test "partition: records in a template tree are the input, each file one tenant and day (python oracle)" {
	gen 5000 13 > in.ndjson
	P -q --by 'tenant={tenant_id}/day={start_time:%Y-%m-%d}/calls.ndjson' --tz America/New_York \
	    -d out in.ndjson > m.ndjson
	same_multiset out in.ndjson
	[ "$(manifest_records m.ndjson)" -eq 5000 ]
	python3 - in.ndjson <<'EOF'
import datetime, json, os, sys, zoneinfo
ny = zoneinfo.ZoneInfo("America/New_York")
want = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = datetime.datetime.fromisoformat(r["start_time"].replace("Z", "+00:00"))
    path = "out/tenant=%s/day=%s/calls.ndjson" % (r["tenant_id"], t.astimezone(ny).strftime("%Y-%m-%d"))
    want.setdefault(path, []).append(line)
got = {}
for root, _, files in os.walk("out"):
    for f in files:
        got[os.path.join(root, f)] = open(os.path.join(root, f)).readlines()
assert got == want, sorted(set(got) ^ set(want))[:5]
EOF
}

@test "partition: records without a usable time or key are dead-lettered with reasons" {
	cat > in.ndjson <<'EOF'
{"tenant_id":"acme","start_time":"2026-03-01T10:00:00Z"}
{"tenant_id":"acme","start_time":"yesterday"}
{"tenant_id":"acme","start_time":"2026-02-30T10:00:00Z"}
{"tenant_id":"acme","start_time":true}
{"tenant_id":"acme"}
{"start_time":"2026-03-01T10:00:00Z"}
{"tenant_id":{"id":1},"start_time":"2026-03-01T10:00:00Z"}
EOF
	run -1 --separate-stderr P --by '{tenant_id}/{start_time:%F}.ndjson' -d out --dead-letter dl.ndjson in.ndjson
	[[ $stderr == *"7 read, 1 written, 6 rejected"* ]]
	jq -c '[.line, .errors[0].field, .errors[0].check]' dl.ndjson > got
	cat > want <<'EOF'
[2,"start_time","time"]
[3,"start_time","time"]
[4,"start_time","type"]
[5,"start_time","required"]
[6,"tenant_id","required"]
[7,"tenant_id","type"]
EOF
	assert_file_equal want got
	# Each dead letter holds its record's bytes.
	jq -r .record dl.ndjson > records
	sed -n '2,7p' in.ndjson > want
	assert_file_equal want records
	# Within the budget the status is 0.
	run -0 P -q --by '{tenant_id}/{start_time:%F}.ndjson' -d out2 --max-errors 6 in.ndjson
	run -1 P -q --by '{tenant_id}/{start_time:%F}.ndjson' -d out3 --max-errors 5 in.ndjson
	run -0 P -q --by '{tenant_id}/{start_time:%F}.ndjson' -d out4 --max-error-rate 90% in.ndjson
	# --missing files keyless records under a chosen value instead.
	run -1 P -q --by '{tenant_id}.ndjson' --missing _none -d out5 in.ndjson
	[ "$(wc -l < out5/_none.ndjson)" -eq 1 ]
	[ "$(wc -l < out5/acme.ndjson)" -eq 5 ]
}

@test "partition: bad records: the dead letter is exact, the rest is committed, status 1" {
	cp "$FX/bad.ndjson" .
	run -1 --separate-stderr P --by-hash call_id --shards 2 -d out --dead-letter dl.ndjson \
	    --stats stats.json bad.ndjson
	assert_file_equal "$FX/bad.deadletter" dl.ndjson
	[[ $stderr == "cdr-partition: 7 read, 2 written, 5 rejected, 0 duplicates" ]]
	jq -e '.read == 7 and .written == 2 and .rejected == 5 and .files == 2' stats.json
	cat out/*.ndjson | sort > got
	printf '%s\n' '{"call_id":"a1","tenant_id":"acme"}' '{"call_id":"a3"}' | sort > want
	assert_file_equal want got
	# Without --dead-letter the reasons go to stderr, and still status 1.
	run -1 --separate-stderr P --by-hash call_id --shards 2 -d out2 bad.ndjson
	[[ $stderr == *"bad.ndjson:2: column 29: unexpected end of record (record rejected)"* ]]
}

# ---- rotation, gzip, batches ----

@test "partition: --max-records rotates batch files, in order, numbered from 00000" {
	python3 -c '
import json
for i in range(100):
    print(json.dumps({"tenant_id": "abc"[i % 7 % 3], "n": i}, separators=(",", ":")))' > in.ndjson
	P -q --by '{tenant_id}/calls.ndjson' --max-records 7 -d out in.ndjson > m.ndjson
	same_multiset out in.ndjson
	for t in a b c; do
		total=$(jq -c --arg t $t 'select(.tenant_id == $t)' in.ndjson | wc -l)
		files=$(( (total + 6) / 7 ))
		[ "$(ls out/$t | wc -l)" -eq $files ] || fail "$t: $(ls out/$t)"
		for s in $(seq 0 $((files - 1))); do
			f=$(printf 'out/%s/calls~%05d.ndjson' $t $s)
			[ "$(wc -l < $f)" -le 7 ] || fail "$f too long"
			cat $f
		done > concatenated
		jq -c --arg t $t 'select(.tenant_id == $t)' in.ndjson > want
		assert_file_equal want concatenated
	done
	jq -s -e 'map(select(.path == "out/a/calls~00000.ndjson"))[0] | .seq == 0 and .records == 7' m.ndjson
}

@test "partition: --max-bytes keeps files within the size, one oversized record alone" {
	python3 -c '
import json
for i in range(300):
    print(json.dumps({"k": "k%d" % (i % 3), "pad": "x" * (i * 7 % 400)}))
print(json.dumps({"k": "k0", "pad": "y" * 5000}))' > in.ndjson
	P -q --by-hash k --shards 2 --max-bytes 2K -d out in.ndjson > m.ndjson
	same_multiset out in.ndjson
	python3 - m.ndjson <<'EOF'
import json, os, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    size = os.path.getsize(m["path"])
    assert size <= 2048 or m["records"] == 1, m
    assert "~%05d." % m["seq"] in m["path"], m
EOF
}

@test "partition: --gzip files are valid gzip, reopened files are multi-member gzip" {
	gen 3000 14 > in.ndjson
	P -q --by '{tenant_id}/{start_time:%F}.ndjson' --gzip --buffer-size 16K --max-open 4 \
	    -d out in.ndjson > m.ndjson
	visible_files out | xargs gzip -t
	for f in $(visible_files out); do zcat "$f"; done | sort > union
	sort in.ndjson | cmp - union
	[ "$(manifest_records m.ndjson)" -eq 3000 ]
	# The checksum is of the bytes as stored; some file has several members.
	python3 - m.ndjson <<'EOF'
import json, sys, zlib
most = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    data = open(m["path"], "rb").read()
    assert m["path"].endswith(".ndjson.gz") and m["bytes"] == len(data)
    assert m["checksum"] == "crc32:%08x" % zlib.crc32(data)
    members = 0
    while data:
        d = zlib.decompressobj(31)
        d.decompress(data)
        data = d.unused_data
        members += 1
    most = max(most, members)
assert most > 1, most
EOF
}

@test "partition: --batch-id reruns replace their own files; other batches add theirs" {
	gen 1000 15 > in.ndjson
	opts=(--by '{tenant_id}/calls.ndjson' --max-records 20 -d out)
	P -q "${opts[@]}" --batch-id b1 in.ndjson > m1.ndjson
	P -q "${opts[@]}" --batch-id b1 in.ndjson > m2.ndjson
	assert_file_equal m1.ndjson m2.ndjson
	same_multiset out in.ndjson
	# Fewer, larger batch files: the extra old ones must go.
	P -q --by '{tenant_id}/calls.ndjson' --max-records 500 -d out --batch-id b1 in.ndjson > m3.ndjson
	same_multiset out in.ndjson
	[ "$(visible_files out | wc -l)" -eq "$(wc -l < m3.ndjson)" ]
	# Now without rotation, and gzip: still exactly one copy.
	P -q --by '{tenant_id}/calls.ndjson' -z -d out --batch-id b1 in.ndjson > m4.ndjson
	for f in $(visible_files out); do zcat "$f"; done | sort > union
	sort in.ndjson | cmp - union
	# Another batch id adds its own copy.
	P -q --by '{tenant_id}/calls.ndjson' -z -d out --batch-id b2 in.ndjson > /dev/null
	[ "$(for f in $(visible_files out); do zcat "$f"; done | wc -l)" -eq 2000 ]
	[ -f out/t0001/calls@b1.ndjson.gz ] && [ -f out/t0001/calls@b2.ndjson.gz ]
}

@test "partition: without --batch-id existing files are refused (3) and kept; -f replaces" {
	keys 200 > in.ndjson
	P -q --by-hash k --shards 4 -d out in.ndjson > m1.ndjson
	keys 10 > small.ndjson
	run P -q --by-hash k --shards 4 -d out small.ndjson
	assert_failure 3
	assert_output --partial 'file exists'
	python3 - m1.ndjson <<'EOF'
import json, sys, zlib
for line in open(sys.argv[1]):
    m = json.loads(line)
    assert m["checksum"] == "crc32:%08x" % zlib.crc32(open(m["path"], "rb").read())
EOF
	no_temp_files out
	run -0 P -q -f --by-hash k --shards 4 -d out small.ndjson
	same_multiset out small.ndjson
	# -o FILE: refused when it exists, replaced with -f.
	touch manifest.ndjson
	run -3 P -q --by-hash k --shards 4 -d out2 -o manifest.ndjson small.ndjson
	[ -z "$(visible_files out2 2>/dev/null)" ] || fail "files committed"
	run -0 P -q -f --by-hash k --shards 4 -d out2 -o manifest.ndjson small.ndjson
	[ "$(manifest_records manifest.ndjson)" -eq 10 ]
}

# ---- many partitions, few descriptors ----

@test "partition: 3000 partitions under ulimit -n 64 (plain and gzip)" {
	python3 -c '
import json, random
random.seed(9)
for i in range(30000):
    print(json.dumps({"tenant_id": "t%04d" % random.randrange(3000), "n": i, "pad": "z" * random.randrange(80)}))' > in.ndjson
	run bash -c 'ulimit -n 64 && exec "$0" -q --by "{tenant_id}/calls.ndjson" --buffer-size 256K -d out in.ndjson > m.ndjson' \
	    "$CDR_BIN/cdr-partition"
	assert_success
	[ "$(visible_files out | wc -l)" -eq 3000 ]
	same_multiset out in.ndjson
	for f in $(visible_files out | sed -n '1p;1500p;3000p'); do
		[ "$(jq -r .tenant_id "$f" | sort -u | wc -l)" -eq 1 ] || fail "$f mixes tenants"
	done
	no_temp_files out
	run bash -c 'ulimit -n 64 && exec "$0" -q --by "{tenant_id}/calls.ndjson" -z --threads 2 --buffer-size 64K -d gz in.ndjson > m.ndjson' \
	    "$CDR_BIN/cdr-partition"
	assert_success
	[ "$(visible_files gz | wc -l)" -eq 3000 ]
	visible_files gz | xargs gzip -t
	visible_files gz | xargs zcat | sort > union
	sort in.ndjson | cmp - union
}

# ---- hostile values ----

@test "partition: hostile key values stay inside DIR and never share a file" {
	python3 - <<'EOF'
import json
vals = ["../../etc", "/abs", "a/b", "a%2Fb", "%2F", "", "\u0000", "\u0000\u0000", ".", "..",
        "...", ".hidden", "-rf", "~", "~root", "\u0001\n\t\r\u007f", "a b", "%_", "%=",
        "x" * 300, "x" * 299 + "y", "é" * 200, "e\u0301", "\u00e9", "\u202egnp.exe",
        "\u2044etc", "\uff0fetc", "😀", "CON", "con", "a@b", "a~00001", "*", "$(id)", "\\"]
with open("in.ndjson", "w") as f:
    for i, v in enumerate(vals * 2):
        f.write(json.dumps({"id": i, "tenant_id": v}) + "\n")
with open("values.ndjson", "w") as f:
    for v in vals:
        f.write(json.dumps(v) + "\n")
EOF
	mkdir box
	run -0 P -q --by '{tenant_id}/calls.ndjson' --batch-id b1 --max-records 1 -d box/out in.ndjson
	# Nothing but box/out in the box; no link; every file exactly two levels down.
	[ "$(ls -A box)" = out ]
	[ -z "$(find box -type l)" ]
	root=$(realpath box/out)
	while read -r f; do
		case $(realpath "$f") in "$root"/*/*/*) fail "too deep: $f" ;; "$root"/*/*) ;; *) fail "outside: $f" ;; esac
	done < <(visible_files box/out)
	same_multiset box/out in.ndjson
	# Distinct values, distinct directories; each directory holds one value.
	nvals=$(wc -l < values.ndjson)
	[ "$(ls box/out | wc -l)" -eq "$nvals" ]
	for d in box/out/*/; do
		[ "$(cat "$d"* | jq -c .tenant_id | sort -u | wc -l)" -eq 1 ] || fail "$d mixes values"
	done
	# Names as documented (python oracle), shortened ones with %= and 32 hex digits.
	"$ORACLE" encode < values.ndjson | while read -r want; do
		if [ ${#want} -le 100 ]; then
			[ -d "box/out/$want" ] || fail "no directory $want"
		fi
	done
	[ "$(ls box/out | grep -cE '^[A-Za-z0-9_%.-]{1,64}%=[0-9a-f]{32}$')" -eq 3 ]
	[ "$(ls box/out | grep -c '^[A-Za-z0-9_%][A-Za-z0-9_%.=-]*$')" -eq "$nvals" ]
}

# ---- interruption ----

# interrupted SIGNAL: a run that has written temporary files is killed.
interrupted() {
	gen 4000 16 > in.ndjson
	head -n 2000 in.ndjson > first.ndjson
	mkfifo feed
	( cat first.ndjson; exec sleep 60 ) > feed 3>&- &
	feeder=$!
	"$CDR_BIN/cdr-partition" -q --by '{tenant_id}/calls.ndjson' --batch-id b1 --buffer-size 16K \
	    -d out < feed > manifest.ndjson 2> err 3>&- &
	pid=$!
	for _ in $(seq 100); do
		[ -n "$(find out -name '.*.tmp.*' 2>/dev/null | head -n 1)" ] && break
		sleep 0.1
	done
	[ -n "$(find out -name '.*.tmp.*' | head -n 1)" ] || fail "no temporary file appeared"
	kill -"$1" $pid
	wait $pid || true
	# The feeder may have died of SIGPIPE already.
	kill $feeder 2>/dev/null || true
	wait $feeder || true
	[ -z "$(visible_files out)" ] || fail "visible files after kill -$1: $(visible_files out | head -3)"
	[ ! -s manifest.ndjson ]
}

@test "partition: kill -9 mid-run leaves no visible file; a rerun of the batch completes it exactly once" {
	interrupted KILL
	[ -n "$(find out -name '.*.tmp.*' | head -n 1)" ]
	run -0 P -q --by '{tenant_id}/calls.ndjson' --batch-id b1 -d out in.ndjson
	same_multiset out in.ndjson
	no_temp_files out
}

# (SIGINT is ignored by background jobs of a script, and stays ignored.)
@test "partition: SIGTERM and SIGHUP remove every temporary file" {
	interrupted TERM
	no_temp_files out
	rm -rf out feed
	interrupted HUP
	no_temp_files out
}

@test "partition: a symbolic link inside DIR is not followed" {
	mkdir -p out elsewhere
	ln -s ../elsewhere out/acme
	echo '{"tenant_id":"acme"}' > in.ndjson
	run P --by '{tenant_id}/calls.ndjson' -d out in.ndjson
	assert_failure 3
	assert_output --partial 'symbolic link'
	[ -z "$(ls -A elsewhere)" ]
	no_temp_files out
}

# ---- CSV ----

@test "partition: CSV in, CSV out: every file has the header, rows byte for byte" {
	run -0 P -q --by '{tenant_id}.csv' -d out "$FX/calls.csv"
	for f in out/*.csv; do
		[ "$(head -n 1 "$f")" = 'call_id,tenant_id,start_time,note' ] || fail "$f: no header"
	done
	python3 - "$FX/calls.csv" <<'EOF'
import csv, glob, sys
want = list(csv.reader(open(sys.argv[1], newline="")))
header, rows = want[0], sorted(want[1:])
got = []
for f in glob.glob("out/*.csv"):
    r = list(csv.reader(open(f, newline="")))
    assert r[0] == header, f
    got += r[1:]
    assert all(row[1] + ".csv" == f[4:] for row in r[1:]), f
assert sorted(got) == rows, (sorted(got), rows)
EOF
	# An empty string stays quoted, a null stays empty.
	grep -qx 'c6,globex,2026-03-03T00:00:00Z,""' out/globex.csv
	grep -qx 'c5,acme,2026-03-02T11:00:00Z,' out/acme.csv
	# Rotated and gzipped CSV: the header in every batch file.
	run -0 P -q --by-hash call_id --shards 2 --max-records 1 -z -d rot "$FX/calls.csv"
	[ "$(visible_files rot | wc -l)" -eq 6 ]
	for f in $(visible_files rot); do
		[ "$(zcat "$f" | head -n 1)" = 'call_id,tenant_id,start_time,note' ] || fail "$f: no header"
	done
}

@test "partition: CSV to NDJSON and NDJSON to CSV" {
	run -0 P -q --by '{tenant_id}.ndjson' -O ndjson -d nd "$FX/calls.csv"
	cat nd/*.ndjson | jq -c '[.call_id, .tenant_id, .start_time, .note]' | sort > got
	python3 -c '
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
for r in rows:
    print(json.dumps([None if c == "" and r[0] == "c5" else c for c in r], separators=(",", ":"), ensure_ascii=False))' \
	    "$FX/calls.csv" | sort > want
	assert_file_equal want got
	run -0 P -q --by-hash tenant_id --shards 2 -O csv -d csv "$FX/kolkata.ndjson"
	python3 - "$FX/kolkata.ndjson" <<'EOF'
import csv, glob, json, sys
want = sorted([str(r["id"]), r["tenant_id"], str(r["start_time"])] for r in map(json.loads, open(sys.argv[1])))
got = []
for f in glob.glob("csv/*.csv"):
    r = list(csv.reader(open(f, newline="")))
    assert r[0] == ["id", "tenant_id", "start_time"], r[0]
    got += r[1:]
assert sorted(got) == want, (sorted(got), want)
EOF
	# A field that is not a column is rejected, not dropped.
	printf '{"a":"1","b":"2"}\n{"a":"3","c":"4"}\n' > two.ndjson
	run -1 P -q --by-hash a --shards 1 --columns a,b -d cols --dead-letter dl.ndjson two.ndjson
	jq -e '.errors[0].check == "columns" and .line == 2' dl.ndjson
	printf 'a,b\n1,2\n' > want.csv
	assert_file_equal want.csv cols/part-00000.csv
}
