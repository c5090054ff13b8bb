#!/usr/bin/env bats
# Hostile input for every tool: values that become paths (traversal, NUL
# escapes, names longer than NAME_MAX and PATH_MAX, invalid UTF-8), plan
# lines and inventories that leave their tiers, symbolic links planted in
# output trees, archive members with ../, absolute names and links, giant
# lines, deep nesting, numbers and times out of range, bad time zones,
# thousands of partitions under a small descriptor limit.
#
# Every test runs in a sandbox: inputs in in/, outputs in box/, a canary
# directory outside/ that no tool may touch.  "Nothing written outside"
# is the find listing of everything but box/ compared before and after.
# Oracles: python3 (json, tarfile, zipfile, base64), jq, sort | cmp of
# the input lines, and expected values written by hand.

bats_require_minimum_version 1.5.0

load helpers/common

P() { "$CDR_BIN/cdr-partition" "$@"; }
T() { "$CDR_BIN/cdr-tier" "$@"; }
R() { "$CDR_BIN/cdr-resample" "$@"; }
MK=$BATS_TEST_DIRNAME/fixtures/resample/mkwav.py

# The sandbox is a directory of its own: bats keeps files of its own in
# BATS_TEST_TMPDIR.
setup() {
	mkdir "$BATS_TEST_TMPDIR/sb"
	cd "$BATS_TEST_TMPDIR/sb"
	mkdir in box outside
	echo secret > outside/victim
}

# outside_box: every path (and its type and size) in the test's directory,
# a level above the sandbox, but those under box/ (and bats' own files).
outside_box() {
	find "$BATS_TEST_TMPDIR" -path "$BATS_TEST_TMPDIR/sb/box" -prune -o \
	    ! -name 'separate-stderr-*' -printf '%p %y %s\n' | sort
}

# same_outside BEFORE: nothing outside box/ changed since BEFORE.
same_outside() {
	local now
	now=$(outside_box)
	[ "$now" = "$1" ] || fail "written outside box/: $(diff <(echo "$1") <(echo "$now") | head -n 10)"
	[ "$(cat outside/victim)" = secret ] || fail "outside/victim changed"
}

# stats_conserve FILE: read = written + rejected + duplicates + filtered.
stats_conserve() {
	jq -e '.read == .written + .rejected + .duplicates + .filtered' "$1" >/dev/null ||
		fail "not conserved: $(cat "$1")"
}

# inside ROOT: no link anywhere below ROOT (so every name resolves inside
# it) and every component at most NAME_MAX bytes.
inside() {
	[ -d "$1" ] && [ ! -L "$1" ] || fail "$1 is not a directory"
	[ -z "$(find "$1" -type l)" ] || fail "a link in $1: $(find "$1" -type l | head -n 3)"
	find "$1" -print0 | python3 -c '
import sys
for p in sys.stdin.buffer.read().split(b"\0"):
    for c in p.split(b"/"):
        assert len(c) <= 255, c[:80]' || fail "a name longer than NAME_MAX"
}

# ---- cdr-partition: values that become paths ----

@test "partition: traversal, NUL escapes, > NAME_MAX and > PATH_MAX values stay inside DIR; invalid UTF-8 is dead-lettered" {
	python3 - <<'EOF'
import json
vals = ["../../outside", "/etc", "..", ".", "", "a/../../b", "x" * 300, "y/" * 3000, "z" * 5000,
        "../outside/victim", "\\..\\..", "é/" * 2000]
with open("in/in.ndjson", "wb") as f:
    for i, v in enumerate(vals):
        f.write((json.dumps({"id": i, "k": v}) + "\n").encode())
    f.write(b'{"id":90,"k":"\\u002e\\u002e\\u002f\\u002e\\u002e\\u002foutside"}\n')
    f.write(b'{"id":91,"k":"a\\u0000b"}\n')
    f.write(b'{"id":92,"k":"\\u002e\\u002e"}\n')
    f.write(b'{"id":93,"k":"\xff\xfe/../.."}\n')
EOF
	head -n 15 in/in.ndjson > in/good.ndjson
	before=$(outside_box)
	run --separate-stderr P --by '{k}/part.ndjson' -d box/out --dead-letter box/dl.ndjson \
	    --stats box/stats.json in/in.ndjson
	assert_failure 1
	[[ $stderr == *'16 read, 15 written, 1 rejected'* ]] || fail "$stderr"
	same_outside "$before"
	inside box/out
	# The bad line, by source and line, its bytes kept losslessly.
	[ "$(wc -l < box/dl.ndjson)" -eq 1 ]
	jq -e '.source == "in/in.ndjson" and .line == 16 and
	    (.errors[0].message | test("invalid UTF-8"))' box/dl.ndjson
	jq -r .record_base64 box/dl.ndjson | base64 -d | cmp - <(tail -n 1 in/in.ndjson | head -c -1)
	stats_conserve box/stats.json
	# The good records, each exactly once, each directory one decoded value
	# (".." written plainly and as \u002e\u002e is one value).
	find box/out -type f -name part.ndjson -print0 | xargs -0 cat | sort > union
	sort in/good.ndjson | cmp - union
	[ "$(find box/out -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 13 ]
	[ -z "$(find "$PWD/box/out" | awk 'length >= 4096')" ] || fail "a path longer than PATH_MAX"
	for d in box/out/*/; do
		[ "$(jq -c .k "$d/part.ndjson" | sort -u | wc -l)" -eq 1 ] || fail "$d mixes values"
	done
	[ "$(jq -s 'map(.records) | add' <<<"$output")" -eq 15 ]
	# --missing VALUE becomes a path like any value.
	echo '{"id":1}' > in/nokey.ndjson
	before=$(outside_box)
	run -0 P -q --by '{k}/part.ndjson' --missing '../../outside' -d box/miss in/nokey.ndjson
	inside box/miss
	[ "$(find box/miss -type f | wc -l)" -eq 1 ]
	same_outside "$before"
}

@test "partition: time templates at year 0, 9999, 10000, negative epochs, leap seconds and huge numbers" {
	cat > in/t.ndjson <<'EOF'
{"id":1,"start_time":"0000-01-01T00:00:00Z"}
{"id":2,"start_time":"9999-12-31T23:59:59Z"}
{"id":3,"start_time":"10000-01-01T00:00:00Z"}
{"id":4,"start_time":-1}
{"id":5,"start_time":"2016-12-31T23:59:60Z"}
{"id":6,"start_time":1e400}
{"id":7,"start_time":-1e400}
{"id":8,"start_time":18446744073709551617}
{"id":9,"start_time":-9223372036854775809}
{"id":10,"start_time":"1969-12-31T23:59:59.999Z"}
{"id":11,"start_time":"2016-12-31T23:59:61Z"}
{"id":12,"start_time":"2026-01-01T00:00:00+25:00"}
EOF
	before=$(outside_box)
	run --separate-stderr P --by '{start_time:%Y/%m/%d}/calls.ndjson' -d box/out \
	    --dead-letter box/dl.ndjson --stats box/stats.json --max-errors 100 in/t.ndjson
	assert_success
	same_outside "$before"
	(cd box/out && find . -type f | sort) > files
	cat > want <<'EOF'
./0000/01/01/calls.ndjson
./1969/12/31/calls.ndjson
./2017/01/01/calls.ndjson
./9999/12/31/calls.ndjson
EOF
	assert_file_equal want files
	[ "$(jq -s -c 'map(.id)' box/out/1969/12/31/calls.ndjson)" = '[4,10]' ]
	# The leap second is the first second of the next day.
	[ "$(jq -c .id box/out/2017/01/01/calls.ndjson)" = 5 ]
	jq -c '[.source, .line, .errors[0].field]' box/dl.ndjson > got
	for l in 3 6 7 8 9 11 12; do echo "[\"in/t.ndjson\",$l,\"start_time\"]"; done > want
	assert_file_equal want got
	jq -e '.read == 12 and .written == 5 and .rejected == 7' box/stats.json
	stats_conserve box/stats.json
}

@test "partition: 5200 partitions under ulimit -n 256 keep every record (plain and gzip)" {
	python3 -c '
import json
for i in range(20000):
    print(json.dumps({"tenant_id": "t%05d" % (i * 7919 % 5200), "n": i}))' > in/in.ndjson
	run bash -c 'ulimit -n 256 && exec "$0" -q --by "{tenant_id}/calls.ndjson" -d box/out --stats box/stats.json in/in.ndjson > box/m.ndjson' \
	    "$CDR_BIN/cdr-partition"
	assert_success
	jq -e '.read == 20000 and .written == 20000 and .rejected == 0 and .files == 5200' box/stats.json
	[ "$(find box/out -type f ! -name '.*' | wc -l)" -eq 5200 ]
	[ "$(find box/out -type f ! -name '.*' -print0 | xargs -0 cat | wc -l)" -eq 20000 ]
	find box/out -type f -print0 | xargs -0 cat | sort | cmp - <(sort in/in.ndjson)
	[ "$(jq -s 'map(.records) | add' box/m.ndjson)" -eq 20000 ]
	no_temp_files box/out
	run bash -c 'ulimit -n 256 && exec "$0" -q --by "{tenant_id}/calls.ndjson" -z -d box/gz in/in.ndjson > /dev/null' \
	    "$CDR_BIN/cdr-partition"
	assert_success
	[ "$(find box/gz -type f -name '*.gz' | wc -l)" -eq 5200 ]
	find box/gz -type f -print0 | xargs -0 zcat | sort | cmp - <(sort in/in.ndjson)
}

@test "partition: a symbolic link planted deep in the tree is not followed" {
	mkdir -p box/out/acme
	ln -s ../../../outside box/out/acme/2026
	echo '{"tenant_id":"acme","start_time":"2026-03-01T00:00:00Z"}' > in/in.ndjson
	before=$(outside_box)
	run P --by '{tenant_id}/{start_time:%Y}/calls.ndjson' -d box/out in/in.ndjson
	assert_failure 3
	assert_output --partial 'box/out/acme/2026: a symbolic link inside the output directory'
	same_outside "$before"
	[ "$(ls -A outside)" = victim ]
	no_temp_files box
}

# ---- cdr-tier: inventories, plans and archives ----

tier_policy() {
	cat > box/policy.json <<'EOF'
{"tiers": {"hot": {"dir": "box/rec/hot"}, "cold": {"dir": "box/rec/cold"}},
 "rules": {"move_after_days": 90, "move_to": "cold", "archive_after_days": 365,
           "archive_dir": "box/rec/archive", "expire_after_days": 2190}}
EOF
	mkdir -p box/rec/hot/2026/01/01
	echo recording > box/rec/hot/2026/01/01/a.wav
}

@test "tier: plan refuses inventory records whose rel, path or key leave the tier (source:line: field)" {
	tier_policy
	cat > in/inv.ndjson <<'EOF'
{"path":"box/rec/hot/2026/01/01/a.wav","root":"box/rec/hot","rel":"../../../outside/pwn.wav","tier":"hot","call_date":"2026-01-01"}
{"path":"box/rec/hot/2026/01/01/a.wav","root":"box/rec/hot","rel":"/abs/pwn.wav","tier":"hot","call_date":"2026-01-01"}
{"path":"box/rec/hot/2026/01/01/a.wav","root":"box/rec/hot","rel":"2026/../../../../outside/x","tier":"hot","call_date":"2024-01-01"}
{"path":"outside/victim","root":"box/rec/hot","rel":"2026/01/01/a.wav","tier":"hot","call_date":"2016-01-01"}
{"key":"../outside/victim","last_modified":"2016-01-01","storage_class":"STANDARD"}
{"key":"/etc/passwd","last_modified":"2016-01-01","storage_class":"STANDARD"}
{"path":"box/rec/hot/2026/01/01/a.wav","root":"box/rec/hot/","rel":"2026/01/01/a.wav","tier":"hot","call_date":"2026-01-01"}
{"path":"box/rec/hot/2026/01/01/a.wav","root":"box/rec/hot","rel":"","tier":"hot","call_date":"2026-01-01"}
EOF
	before=$(outside_box)
	run --separate-stderr T plan -p box/policy.json --now 2026-06-01 in/inv.ndjson
	assert_failure 1
	assert_output '{"path":"box/rec/hot/2026/01/01/a.wav","to":"box/rec/cold/2026/01/01/a.wav","action":"move","reason":"age 151 d >= move_after_days 90"}'
	want="cdr-tier: in/inv.ndjson:1: rel: not a relative path inside the tier (absolute, empty, or with a '..' component)
cdr-tier: in/inv.ndjson:2: rel: not a relative path inside the tier (absolute, empty, or with a '..' component)
cdr-tier: in/inv.ndjson:3: rel: not a relative path inside the tier (absolute, empty, or with a '..' component)
cdr-tier: in/inv.ndjson:4: path: not root/rel
cdr-tier: in/inv.ndjson:5: key: not a relative key (absolute, empty, or with a '..' component)
cdr-tier: in/inv.ndjson:6: key: not a relative key (absolute, empty, or with a '..' component)
cdr-tier: in/inv.ndjson:8: rel: not a relative path inside the tier (absolute, empty, or with a '..' component)"
	assert_equal "$stderr" "$want"
	same_outside "$before"
	[ "$(cat box/rec/hot/2026/01/01/a.wav)" = recording ]
	# What scan writes for a directory given with slashes is sound.
	run --separate-stderr bash -c '"$0" scan box/rec/hot// | "$0" plan -p box/policy.json --now 2026-06-01' \
	    "$CDR_BIN/cdr-tier"
	assert_success
	assert_output '{"path":"box/rec/hot///2026/01/01/a.wav","to":"box/rec/cold/2026/01/01/a.wav","action":"move","reason":"age 151 d >= move_after_days 90"}'
}

@test "tier: apply refuses plan lines that climb out with '..' or go through symbolic links" {
	tier_policy
	mkdir -p box/rec/cold box/rec/hot/2026/02/02
	ln -s ../../../outside box/rec/cold/2026
	echo other > box/rec/hot/2026/02/02/b.wav
	ln -s ../../../../../../outside/victim box/rec/hot/2026/02/02/c.wav
	cat > in/plan.ndjson <<'EOF'
{"path":"box/rec/hot/2026/01/01/a.wav","to":"box/rec/cold/../../../outside/pwn.wav","action":"move"}
{"path":"box/rec/hot/../../../outside/victim","action":"expire"}
{"path":"box/rec/hot/2026/01/01/a.wav","to":"box/rec/cold/2026/01/01/a.wav","action":"move"}
{"path":"box/rec/hot/2026/02/02/c.wav","action":"expire"}
{"path":"box/rec/hot/2026/02/02/c.wav","member":"2026/02/02/c.wav","to":"box/rec/archive/2026-02-02.tar.zst","action":"archive"}
{"path":"","action":"expire"}
{"path":"box/rec/hot/2026/02/02/b.wav","to":"box/rec/cold/2027/02/02/b.wav","action":"move"}
EOF
	before=$(outside_box)
	run --separate-stderr T apply -j box/journal in/plan.ndjson
	assert_failure 1
	[[ $stderr == *"in/plan.ndjson:1: to: empty, a NUL byte or a '..' after the start"* ]] || fail "$stderr"
	[[ $stderr == *"in/plan.ndjson:2: path: empty, a NUL byte or a '..' after the start"* ]] || fail "$stderr"
	[[ $stderr == *"in/plan.ndjson:3: to: box/rec/cold/2026 is a symbolic link (not followed)"* ]] || fail "$stderr"
	[[ $stderr == *"in/plan.ndjson:4: path: box/rec/hot/2026/02/02/c.wav is a symbolic link (not followed)"* ]] || fail "$stderr"
	[[ $stderr == *"in/plan.ndjson:5: path: box/rec/hot/2026/02/02/c.wav is a symbolic link (not followed)"* ]] || fail "$stderr"
	[[ $stderr == *"in/plan.ndjson:6: path: empty"* ]] || fail "$stderr"
	[[ $stderr == *'1 done, 0 skipped, 6 failed'* ]] || fail "$stderr"
	[ "$(jq -r .result <<<"$output" | sort | uniq -c | tr -s ' ')" = "$(printf ' 1 done\n 6 failed')" ]
	same_outside "$before"
	[ "$(ls -A outside)" = victim ]
	# The refused recordings are where they were; the sound move happened.
	[ "$(cat box/rec/hot/2026/01/01/a.wav)" = recording ]
	[ -L box/rec/hot/2026/02/02/c.wav ]
	[ "$(cat box/rec/cold/2027/02/02/b.wav)" = other ]
	[ ! -e box/rec/hot/2026/02/02/b.wav ]
	[ ! -e box/rec/archive ]
}

@test "tier: scan lists no symbolic link, whether to a file or a directory outside" {
	tier_policy
	ln -s ../../../../../outside box/rec/hot/2026/01/evil
	ln -s ../../../../../../outside/victim box/rec/hot/2026/01/01/victim.wav
	[ "$(cat box/rec/hot/2026/01/evil/victim)" = secret ]
	[ "$(cat box/rec/hot/2026/01/01/victim.wav)" = secret ]
	run --separate-stderr T scan box/rec/hot
	assert_success
	[ "$(jq -r .path <<<"$output")" = box/rec/hot/2026/01/01/a.wav ]
}

@test "tier: a recording whose name is not UTF-8 is not listed, so no plan acts on a look-alike name" {
	tier_policy
	bad=$(printf 'caf\xe9.wav')
	echo old > "box/rec/hot/2026/01/01/$bad"
	# What a lossy name would have been: U+FFFD in its place.
	echo bystander > "box/rec/hot/2026/01/01/$(printf 'caf\xef\xbf\xbd.wav')"
	run --separate-stderr T scan box/rec/hot
	assert_failure 1
	[[ $stderr == *"box/rec/hot/2026/01/01/$bad: name is not valid UTF-8 (not listed)"* ]] || fail "$stderr"
	[ "$(jq -r .rel <<<"$output" | sort | tr '\n' ' ')" = "$(printf '2026/01/01/a.wav 2026/01/01/caf\xef\xbf\xbd.wav ')" ] ||
		fail "$output"
	T plan -p box/policy.json --now 2033-01-01 <<<"$output" > box/plan.ndjson
	run --separate-stderr T apply -j box/journal box/plan.ndjson
	assert_success
	# Both listed files expired; the unlisted one is untouched.
	[ "$(cat "box/rec/hot/2026/01/01/$bad")" = old ]
	[ "$(find box/rec/hot -type f | wc -l)" -eq 1 ]
}

@test "tier: restore reads tar only: an mtree spec naming local files is refused, nothing copied" {
	mkdir -p box/target
	printf '#mtree\n./leak type=file contents=/etc/hostname\n' >spec.mtree
	run T restore -a spec.mtree -C box/target
	assert_failure 3
	assert_output --partial 'spec.mtree: Unrecognized archive format'
	[ -z "$(ls -A box/target)" ]
}

@test "tier: restore writes only plain members inside the target, whatever the names and links" {
	python3 - "$PWD" <<'EOF'
import io, sys, tarfile
root = sys.argv[1]
def add(t, name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
with tarfile.open("in/pack.tar.gz", "w:gz", format=tarfile.PAX_FORMAT) as t:
    add(t, "ok/a.wav", b"A")
    add(t, root + "/outside/abs.wav", b"B")
    add(t, "ok/../../outside/up.wav", b"C")
    add(t, "..", b"C2")
    add(t, "x" * 300 + ".wav", b"D")
    add(t, "/".join(["d" * 200] * 25) + "/deep.wav", b"E")
    add(t, "hard.wav", type=tarfile.LNKTYPE, linkname="ok/a.wav")
    add(t, "hard2.wav", type=tarfile.LNKTYPE, linkname="../outside/victim")
    add(t, "sl", type=tarfile.SYMTYPE, linkname="../outside")
    add(t, "sl/in.wav", b"F")
    add(t, "fifo", type=tarfile.FIFOTYPE)
    add(t, "ok/b.wav", b"G")
EOF
	before=$(outside_box)
	run --separate-stderr T restore -a in/pack.tar.gz -C box/target
	assert_failure 1
	same_outside "$before"
	inside box/target
	[[ $stderr == *'4 done, 0 skipped, 8 failed'* ]] || fail "$stderr"
	for m in "$PWD/outside/abs.wav" ok/../../outside/up.wav .. hard.wav hard2.wav sl fifo; do
		[[ $stderr == *"in/pack.tar.gz: $m: refused (not a plain file inside the target)"* ]] || fail "no refusal of $m: $stderr"
	done
	[[ $stderr == *"in/pack.tar.gz: xxxxxxxxxx"*": File name too long"* ]] || fail "$stderr"
	[ "$(cat box/target/ok/a.wav box/target/ok/b.wav box/target/sl/in.wav)" = AGF ]
	[ ! -L box/target/sl ]
	# A path longer than PATH_MAX, restored below the target.
	[ "$(find box/target -name deep.wav | wc -c)" -gt 5000 ]
	[ "$(find box/target -name deep.wav -execdir cat {} \;)" = E ]
	[ "$(find box/target -type f | wc -l)" -eq 4 ]
}

# ---- cdr-resample: outputs named after inputs ----

@test "resample: a symbolic link inside -d or --keep-original is not followed" {
	mkdir -p in/a box/out box/keep
	python3 "$MK" tone in/a/x.wav 8000 2 0.1
	touch -d '10 days ago' in/a/x.wav
	ln -s ../../outside box/out/a
	ln -s ../../outside box/keep/a
	before=$(outside_box)
	run --separate-stderr R -d box/out --base in --dead-letter box/dl.ndjson in/a/x.wav
	assert_failure 1
	[[ $stderr == *'in/a/x.wav: box/out/a: a symbolic link inside the output directory is not followed'* ]] || fail "$stderr"
	jq -e '.status == "failed"' <<<"$output"
	jq -e '.errors[0].check == "path"' box/dl.ndjson
	same_outside "$before"
	[ "$(ls -A outside)" = victim ]
	cp in/a/x.wav in/orig.wav
	run --separate-stderr R --in-place --min-age 0 --keep-original box/keep --base in in/a/x.wav
	assert_failure 1
	[[ $stderr == *'box/keep/a: a symbolic link inside the --keep-original directory is not followed'* ]] || fail "$stderr"
	[ "$(ls -A outside)" = victim ]
	cmp in/a/x.wav in/orig.wav
}

@test "resample: --from-list paths with '..', absolute, empty, NUL and escapes fail with source:line; nothing outside" {
	mkdir -p in/a
	python3 "$MK" tone in/a/x.wav 8000 2 0.1
	touch -d '10 days ago' in/a/x.wav
	printf '%s\n' '{"path":"in/a/../a/x.wav"}' '{"path":"in/\u002e\u002e/in/a/x.wav"}' \
	    '{"path":"/etc/passwd"}' '{"path":""}' '{"path":"in/a/x.wav\u0000.wav"}' \
	    '{"path":"in/a/x.wav"}' > in/list.ndjson
	before=$(outside_box)
	run --separate-stderr R -d box/out --base . --from-list --max-errors 100 \
	    --dead-letter box/dl.ndjson --stats box/stats.json in/list.ndjson
	assert_success
	same_outside "$before"
	[ "$(find box/out -type f)" = box/out/in/a/x.wav ]
	jq -c '[.source, .line, .errors[0].check]' box/dl.ndjson > got
	cat > want <<'EOF'
["in/list.ndjson",1,"path"]
["in/list.ndjson",2,"path"]
["in/list.ndjson",3,"path"]
["in/list.ndjson",4,"list"]
["in/list.ndjson",5,"list"]
EOF
	assert_file_equal want got
	[[ $stderr == *"in/a/../a/x.wav: a '..' in the path would leave the output directory"* ]] || fail "$stderr"
	[[ $stderr == *'/etc/passwd: an absolute path is not below --base .'* ]] || fail "$stderr"
	[[ $stderr == *'in/list.ndjson:4: "path" is empty or holds a NUL byte'* ]] || fail "$stderr"
	[[ $stderr == *'in/list.ndjson:5: "path" is empty or holds a NUL byte'* ]] || fail "$stderr"
	jq -e '.read == 6 and .converted == 1 and .failed == 5' box/stats.json
}

@test "resample: a file name that is not UTF-8 keeps its bytes in the output tree and in the result line" {
	name=$(printf 'caf\xe9 \xff.wav')
	mkdir -p in/d
	python3 "$MK" tone "in/d/$name" 8000 2 0.1
	touch -d '10 days ago' "in/d/$name"
	printf 'in/d/%s\n' "$name" > in/list.txt
	before=$(outside_box)
	run --separate-stderr R -d box/out --base in --from-list --stats box/stats.json in/list.txt
	assert_success
	same_outside "$before"
	[ -f "box/out/d/$name" ]
	[ "$(find box/out -type f | wc -l)" -eq 1 ]
	[ "$(jq -r .path_base64 <<<"$output" | base64 -d)" = "in/d/$name" ]
	[ "$(jq -r .output_base64 <<<"$output" | base64 -d)" = "box/out/d/$name" ]
	jq -e '.read == 1 and .converted == 1' box/stats.json
}

# ---- cdr-tocsv: prefixes, times, numbers, bytes ----

@test "tocsv: --split prefixes that name a directory are usage errors; a prefix longer than NAME_MAX commits nothing" {
	echo '{"k":"a"}' > in/in.ndjson
	mkdir box/out
	before=$(outside_box)
	for pre in '' box/out/ . .. box/out/. box/out/..; do
		run P_tocsv --split 2 -o "$pre" in/in.ndjson
		[ "$status" -eq 2 ] || fail "prefix '$pre': status $status: $output"
		[[ $output == *'-o needs a file name prefix, not a directory'* ]] || fail "$output"
	done
	[ -z "$(find box -type f)" ]
	long=box/out/$(printf 'p%.0s' $(seq 300))
	run P_tocsv --split 2 -o "$long" in/in.ndjson
	assert_failure 3
	assert_output --partial 'File name too long'
	[ -z "$(find box -type f)" ]
	same_outside "$before"
}

P_tocsv() { "$CDR_BIN/cdr-tocsv" -q "$@"; }

@test "tocsv: times out of range in UTC or in --tz are rejected with the field; leap seconds roll over" {
	cat > in/t.ndjson <<'EOF'
{"id":1,"t":"0000-01-01T00:00:00Z"}
{"id":2,"t":"9999-12-31T23:59:59Z"}
{"id":3,"t":"10000-01-01T00:00:00Z"}
{"id":4,"t":-1}
{"id":5,"t":"2016-12-31T23:59:60Z"}
{"id":6,"t":253402300800}
{"id":7,"t":"2026-06-30T23:59:60+02:00"}
{"id":8,"t":1e400}
EOF
	run --separate-stderr "$CDR_BIN/cdr-tocsv" -c 'id,t:timestamptz' --max-errors 10 \
	    --dead-letter box/dl-utc.ndjson --stats box/st-utc.json in/t.ndjson
	assert_success
	assert_output "id,t
1,0000-01-01 00:00:00+00:00
2,9999-12-31 23:59:59+00:00
4,1969-12-31 23:59:59+00:00
5,2017-01-01 00:00:00+00:00
7,2026-06-30 22:00:00+00:00"
	[ "$(jq -c '[.line, .errors[0].field]' box/dl-utc.ndjson | tr -d '\n')" = '[3,"t"][6,"t"][8,"t"]' ]
	stats_conserve box/st-utc.json
	# Kolkata is ahead of UTC: 9999-12-31T23:59:59Z is year 10000 there.
	run --separate-stderr "$CDR_BIN/cdr-tocsv" -c 'id,t:timestamptz' --tz Asia/Kolkata \
	    --max-errors 10 --dead-letter box/dl-ist.ndjson --stats box/st-ist.json in/t.ndjson
	assert_success
	[ "$(sed -n 2p <<<"$output")" = '1,0000-01-01 05:53:28+05:53:28' ]
	[ "$(wc -l <<<"$output")" -eq 5 ]
	jq -e -s '.[] | select(.line == 2) | .errors[0] | .field == "t" and .check == "range" and
	    .message == "timestamp \"9999-12-31T23:59:59Z\" is out of the years 0000-9999 in time zone Asia/Kolkata"' box/dl-ist.ndjson
	stats_conserve box/st-ist.json
	# New York is behind: year 0 becomes year -1.  Auto columns too.
	run --separate-stderr "$CDR_BIN/cdr-tocsv" -c 'id,t' --tz America/New_York \
	    --max-errors 10 --dead-letter box/dl-ny.ndjson in/t.ndjson
	assert_success
	[ "$(sed -n 2p <<<"$output")" = '2,9999-12-31 18:59:59' ]
	jq -e -s '.[] | select(.line == 1) | .errors[0] | .field == "t" and .check == "range"' box/dl-ny.ndjson
	! grep -q -- '-0001' <<<"$output"
	# (the string 10000-01-01T00:00:00Z is no time: kept as it is)
	! grep -qE '(^|,)[0-9]{5}-[0-9]{2}-[0-9]{2} ' <<<"$output"
}

@test "tocsv: integers out of the 64-bit range and exponent bombs are rejected, never expanded without bound" {
	cat > in/n.ndjson <<'EOF'
{"id":1,"n":1e400}
{"id":2,"n":-1e400}
{"id":3,"n":18446744073709551617}
{"id":4,"n":-9223372036854775809}
{"id":5,"n":9223372036854775807}
{"id":6,"n":-9223372036854775808}
{"id":7,"n":1e999999999}
{"id":8,"n":12}
EOF
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-tocsv" -c 'id:integer,n:integer' \
	    --dead-letter box/dl.ndjson --stats box/stats.json in/n.ndjson
	assert_failure 1
	assert_output "id,n
5,9223372036854775807
6,-9223372036854775808
8,12"
	[ "$(jq -c '[.source, .line, .errors[0].field]' box/dl.ndjson | tr -d '\n')" = \
	    '["in/n.ndjson",1,"n"]["in/n.ndjson",2,"n"]["in/n.ndjson",3,"n"]["in/n.ndjson",4,"n"]["in/n.ndjson",7,"n"]' ]
	jq -e '.read == 8 and .written == 3 and .rejected == 5' box/stats.json
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-tocsv" -c 'id,n:number' --max-errors 10 \
	    --dead-letter box/dl2.ndjson in/n.ndjson
	assert_success
	[ "$(wc -c <<<"$output")" -lt 2000 ]
	jq -e -s '.[] | select(.line == 7) | .errors[0].field == "n"' box/dl2.ndjson
}

@test "tocsv: invalid UTF-8 in CSV cells is dead-lettered losslessly by source and line" {
	printf 'id,name\n1,ok\n2,caf\xe9\n3,"a\xff\xfe"\n4,\xc0\xaf\n5,\xed\xa0\x80\n6,fine\n' > in/u.csv
	run --separate-stderr "$CDR_BIN/cdr-tocsv" --dead-letter box/dl.ndjson --stats box/stats.json in/u.csv
	assert_failure 1
	assert_output "id,name
1,ok
6,fine"
	[ "$(jq -c '[.source, .line]' box/dl.ndjson | tr -d '\n')" = '["in/u.csv",3]["in/u.csv",4]["in/u.csv",5]["in/u.csv",6]' ]
	jq -e 'all(.errors[0].message | test("invalid UTF-8"))' <(jq -s . box/dl.ndjson)
	jq -r '.record_base64' box/dl.ndjson | while read -r b; do echo "$b" | base64 -d; echo; done > got
	sed -n 3,6p in/u.csv | cmp - got
	stats_conserve box/stats.json
}

# ---- archives through common/input.c ----

@test "input: tar members named ../ or absolute are only read; links are skipped with a warning" {
	python3 - <<'EOF'
import io, tarfile, zipfile
def add(t, name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
with tarfile.open("in/in.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "good.ndjson", b'{"k":"a"}\n{"k":"b"}\n')
    add(t, "../../outside/escape.ndjson", b'{"k":"c"}\nnot json\n')
    add(t, "/abs/x.ndjson", b'{"k":"d"}\n')
    add(t, "link.ndjson", type=tarfile.SYMTYPE, linkname="/etc/passwd")
    add(t, "hard.ndjson", type=tarfile.LNKTYPE, linkname="good.ndjson")
    add(t, "dir", type=tarfile.DIRTYPE)
with zipfile.ZipFile("in/in.zip", "w") as z:
    z.writestr("../../outside/z.ndjson", '{"k":"e"}\n')
    z.writestr("/abs/z.ndjson", '{"k":"f"}\nbad\n')
EOF
	before=$(outside_box)
	run --separate-stderr "$CDR_BIN/cdr-validate" --dead-letter box/dl.ndjson --stats box/stats.json in/in.tar
	assert_failure 1
	assert_output '{"k":"a"}
{"k":"b"}
{"k":"c"}
{"k":"d"}'
	[[ $stderr == *'in/in.tar:link.ndjson: symbolic link member skipped'* ]] || fail "$stderr"
	[[ $stderr == *'in/in.tar:hard.ndjson: hard link member skipped'* ]] || fail "$stderr"
	jq -e '.source == "in/in.tar:../../outside/escape.ndjson" and .line == 2' box/dl.ndjson
	jq -e '.read == 5 and .written == 4 and .rejected == 1' box/stats.json
	run --separate-stderr P --by '{k}/x.ndjson' -d box/out --dead-letter box/dlz.ndjson in/in.zip
	assert_failure 1
	jq -e '.source == "in/in.zip:/abs/z.ndjson" and .line == 2' box/dlz.ndjson
	[ "$(cd box/out && find . -type f | sort | tr '\n' ' ')" = './e/x.ndjson ./f/x.ndjson ' ]
	same_outside "$before"
}

# ---- giant lines, deep nesting ----

@test "validate: a 200 MB line passes byte for byte under the default limit" {
	big() {
		printf '{"k":"'
		head -c 200000000 /dev/zero | tr '\0' x
		printf '"}\n{"k":"b"}\n'
	}
	want=$(big | md5sum)
	got=$(big | { rc=0; "$CDR_BIN/cdr-validate" -q --stats box/stats.json || rc=$?; echo $rc > box/rc; } | md5sum)
	[ "$(cat box/rc)" -eq 0 ]
	[ "$got" = "$want" ]
	jq -e '.read == 2 and .written == 2 and .rejected == 0' box/stats.json
}

@test "validate: a line longer than the default limit (256M) is cut into the dead letter; the next record survives" {
	{
		printf '{"k":"'
		head -c 270000000 /dev/zero | tr '\0' x
		printf '"}\n{"k":"b"}\n'
	} | { rc=0; "$CDR_BIN/cdr-validate" -q --dead-letter box/dl.ndjson --stats box/stats.json > box/out || rc=$?; echo $rc > box/rc; }
	[ "$(cat box/rc)" -eq 1 ]
	[ "$(cat box/out)" = '{"k":"b"}' ]
	jq -e '.read == 2 and .written == 1 and .rejected == 1' box/stats.json
	head -c 4096 box/dl.ndjson > head
	grep -qF '{"source":"stdin","line":1,"offset":0,"errors":[{"field":null,"check":"parse","message":"record longer than 268435456 bytes (cut)"}],"truncated":true,"record":"{\"k\":\"xxxx' head
	# The record is the first 256 MiB of the line, JSON-quoted (three
	# quotes escaped), and the line ends there.
	start=$(grep -bo '"record":"' head | cut -d: -f1)
	[ "$(tail -c 3 box/dl.ndjson)" = '"}' ]
	[ $(( $(stat -c %s box/dl.ndjson) - start - 10 - 3 )) -eq $((268435456 + 3)) ]
	rm box/dl.ndjson
}

@test "every tool: a line longer than --max-record is cut into the dead letter and the next record survives" {
	{
		echo '{"k":"before","start_time":"2026-01-01T00:00:00Z"}'
		printf '{"k":"'
		head -c 3000000 /dev/zero | tr '\0' x
		printf '","start_time":"2026-01-01T00:00:00Z"}\n'
		echo '{"k":"after","start_time":"2026-01-01T00:00:00Z"}'
	} > in/long.ndjson
	run --separate-stderr "$CDR_BIN/cdr-validate" --max-record 1M --dead-letter box/dl-v.ndjson \
	    --stats box/st-v.json in/long.ndjson
	assert_failure 1
	[ "$(jq -r .k <<<"$output" | tr '\n' ' ')" = 'before after ' ]
	run --separate-stderr "$CDR_BIN/cdr-tocsv" --max-record 1M --dead-letter box/dl-c.ndjson \
	    --stats box/st-c.json in/long.ndjson
	assert_failure 1
	[ "$(cut -d, -f1 <<<"$output" | tr '\n' ' ')" = 'k before after ' ]
	run --separate-stderr P --max-record 1M --by '{k}/x.ndjson' -d box/out \
	    --dead-letter box/dl-p.ndjson --stats box/st-p.json in/long.ndjson
	assert_failure 1
	[ "$(cd box/out && find . -type f | sort | tr '\n' ' ')" = './after/x.ndjson ./before/x.ndjson ' ]
	run --separate-stderr "$CDR_BIN/cdr-rollup" --max-record 1M --by k --dead-letter box/dl-r.ndjson \
	    --stats box/st-r.json in/long.ndjson
	assert_failure 1
	[ "$(jq -r .k <<<"$output" | sort | tr '\n' ' ')" = 'after before ' ]
	for t in v c p r; do
		jq -e '.source == "in/long.ndjson" and .line == 2 and
		    .errors[0].message == "record longer than 1048576 bytes (cut)"' box/dl-$t.ndjson
		[ "$(jq -r .record box/dl-$t.ndjson | wc -c)" -eq 1048577 ]
	done
	for t in v c p; do
		jq -e '.read == 3 and .written == 2 and .rejected == 1' box/st-$t.json
	done
	# Limits beyond the documented range are usage errors.
	for v in 0 15 4G 1T -1 1e400 99999999999999999999; do
		run "$CDR_BIN/cdr-validate" --max-record "$v" in/long.ndjson
		[ "$status" -eq 2 ] || fail "--max-record $v: status $status"
		assert_output --partial "--max-record $v"
	done
}

@test "every tool: 100000 nested brackets are a parse error at their line, not a crash" {
	python3 -c '
print("[" * 100000)
print("{\"k\":" + "[" * 100000 + "]" * 100000 + "}")
print("{\"k\":" + "{\"a\":" * 100000 + "1" + "}" * 100000 + "}")
print("{\"k\":\"ok\",\"start_time\":\"2026-01-01T00:00:00Z\"}")' > in/deep.ndjson
	for t in validate tocsv rollup partition; do
		args=()
		[ $t = partition ] && args=(--by '{k}/x.ndjson' -d box/out)
		run --separate-stderr "$CDR_BIN/cdr-$t" "${args[@]}" --dead-letter box/dl-$t.ndjson \
		    --stats box/st-$t.json in/deep.ndjson
		[ "$status" -eq 1 ] || fail "$t: status $status: $stderr"
		[ "$(jq -c '[.line, .errors[0].message]' box/dl-$t.ndjson | tr -d '\n')" = \
		    '[1,"column 1: record is not a JSON object"][2,"column 261: nesting deeper than 256"][3,"column 1281: nesting deeper than 256"]' ] ||
			fail "$t: $(cat box/dl-$t.ndjson | cut -c1-200)"
		jq -e '.read == 4 and .rejected == 3' box/st-$t.json
	done
	[ "$(cat box/out/ok/x.ndjson)" = "$(tail -n 1 in/deep.ndjson)" ]
}

@test "validate, partition, rollup: 100000 members or columns are read in linear time; duplicates are still found" {
	python3 - <<'EOF'
n = 100000
parts = ['"k%d":%d' % (i, i) for i in range(n)]
l1 = "{" + ",".join(parts) + "}"
l2 = "{" + ",".join(parts) + ',"k5":0}'
parts[70000] = '"\\u006b5":1'
l3 = "{" + ",".join(parts) + "}"
open("in/wide.ndjson", "w").write("\n".join([l1, l2, l3]) + "\n")
with open("want", "w") as f:
    f.write('[2,"column %d: duplicate key \\"k5\\""]\n' % (l2.rindex('"k5"') + 1))
    f.write('[3,"column %d: duplicate key \\"\\\\u006b5\\""]\n' % (l3.index('"\\u006b5"') + 1))
cols = ["c%d" % i for i in range(n)]
open("in/wide.csv", "w").write(",".join(cols) + "\n" + ",".join(str(i) for i in range(n)) + "\n")
open("in/dup.csv", "w").write(",".join(cols + ["c5"]) + "\n" + ",".join(str(i) for i in range(n + 1)) + "\n")
EOF
	# Before: minutes (every name compared with all earlier ones).
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-validate" --dead-letter box/dl.ndjson in/wide.ndjson
	assert_failure 1
	[ "$(jq 'keys | length' <<<"$output")" -eq 100000 ]
	jq -c '[.line, .errors[0].message]' box/dl.ndjson > got
	assert_file_equal want got
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-validate" in/wide.csv
	assert_success
	[ "$(jq -c '[length, .c0, .c99999]' <<<"$output")" = '[100000,"0","99999"]' ]
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-validate" in/dup.csv
	assert_failure
	[[ $stderr == *'in/dup.csv:1: '*'duplicate column "c5"'* ]] || fail "$stderr"
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-partition" --by '{c99999}/x.csv' -d box/out in/wide.csv
	assert_success
	cmp box/out/99999/x.csv in/wide.csv
	run --separate-stderr timeout 20 "$CDR_BIN/cdr-rollup" --by k99999 --max-errors 5 in/wide.ndjson
	assert_success
	assert_output '{"k99999":99999,"count":1}'
}

# ---- times and time zones ----

@test "every tool: hostile --tz names are usage errors that write nothing" {
	echo '{"k":"a","start_time":"2026-01-01T00:00:00Z"}' > in/one.ndjson
	mkdir -p box/tzdir/Evil
	before=$(outside_box)
	for tz in Nowhere/City ../../etc/passwd /etc/passwd America '' right/UTC "$(printf 'UTC\001')" \
	    "$(printf 'A%.0s' $(seq 5000))"; do
		for t in validate rollup partition tocsv; do
			args=(-o box/out.$t)
			[ $t = partition ] && args=(--by '{k}/x.ndjson' -d box/out.$t)
			run "$CDR_BIN/cdr-$t" "${args[@]}" --tz "$tz" in/one.ndjson
			[ "$status" -eq 2 ] || fail "$t --tz '${tz:0:20}': status $status: $output"
			[[ $output == *'--tz'* ]] || fail "$t: $output"
			# (cdr-rollup's message echoes a long name whole, cut
			# before the reason: only its status is checked then.)
			[[ $t == rollup && ${#tz} -gt 1000 ]] ||
			[[ $output =~ unknown\ time\ zone|bad\ time\ zone\ name|empty\ time\ zone\ name|time\ zone\ name\ too\ long|leap-second ]] ||
				fail "$t --tz '${tz:0:20}': $output"
			[ ! -e box/out.$t ] || fail "$t wrote box/out.$t"
		done
	done
	# A TZDIR entry that is a directory is no zone either.
	run env TZDIR="$PWD/box/tzdir" "$CDR_BIN/cdr-tocsv" --tz Evil in/one.ndjson
	assert_failure 2
	assert_output --partial 'Evil'
	same_outside "$before"
}

@test "validate: timestamps at the edges of the range, leap seconds and integers out of range, by field" {
	base=$("$CDR_BIN/cdr-gen" calls -n 1 --error-rate 0 --seed 1)
	python3 - "$base" <<'EOF'
import json, sys, uuid
b = json.loads(sys.argv[1])
cases = [("start_time", "0000-01-01T00:00:00Z"), ("start_time", "9999-12-31T23:59:59Z"),
         ("start_time", "10000-01-01T00:00:00Z"), ("start_time", "2016-12-31T23:59:60Z"),
         ("start_time", "2016-12-31T23:59:61Z"), ("start_time", "0000-01-01T00:00:00+00:30"),
         ("duration_s", "1e400"), ("duration_s", "18446744073709551617"),
         ("duration_s", "-9223372036854775809"), ("hangup_cause", "99999999999999999999")]
with open("in/v.ndjson", "w") as f:
    for i, (k, v) in enumerate(cases):
        r = dict(b, call_id=str(uuid.UUID(int=i + 1)), duration_s=0, billsec=0)
        if k == "start_time":
            r["start_time"] = r["end_time"] = v
            f.write(json.dumps(r) + "\n")
        else:
            r[k] = 0
            f.write(json.dumps(r).replace('"%s": 0' % k, '"%s": %s' % (k, v)) + "\n")
EOF
	run --separate-stderr "$CDR_BIN/cdr-validate" -s call --normalize --dead-letter box/dl.ndjson \
	    --stats box/stats.json in/v.ndjson
	assert_failure 1
	[ "$(jq -r .start_time <<<"$output" | tr '\n' ' ')" = \
	    '0000-01-01T00:00:00.000Z 9999-12-31T23:59:59.000Z 2017-01-01T00:00:00.000Z ' ]
	jq -c '[.source, .line, .errors[0].field, .errors[0].check]' box/dl.ndjson > got
	cat > want <<'EOF'
["in/v.ndjson",3,"start_time","timestamp"]
["in/v.ndjson",5,"start_time","timestamp"]
["in/v.ndjson",6,"start_time","timestamp"]
["in/v.ndjson",7,"duration_s","type"]
["in/v.ndjson",8,"duration_s","type"]
["in/v.ndjson",9,"duration_s","type"]
["in/v.ndjson",10,"hangup_cause","type"]
EOF
	assert_file_equal want got
	jq -e '.read == 10 and .written == 3 and .rejected == 7' box/stats.json
	stats_conserve box/stats.json
}

@test "rollup: times out of range are rejected by field; --max-groups stops unbounded keys with nothing written" {
	cat > in/t.ndjson <<'EOF'
{"k":"a","start_time":-1}
{"k":"a","start_time":1e400}
{"k":"a","start_time":"10000-01-01T00:00:00Z"}
{"k":"a","start_time":18446744073709551617}
{"k":"a","start_time":"2016-12-31T23:59:60Z"}
EOF
	run --separate-stderr "$CDR_BIN/cdr-rollup" --every 1d --by k --max-errors 10 \
	    --dead-letter box/dl.ndjson --stats box/stats.json in/t.ndjson
	assert_success
	assert_output '{"window_start":"1969-12-31T00:00:00Z","window_end":"1970-01-01T00:00:00Z","grain":"1d","k":"a","count":1}
{"window_start":"2017-01-01T00:00:00Z","window_end":"2017-01-02T00:00:00Z","grain":"1d","k":"a","count":1}'
	[ "$(jq -c '[.line, .errors[0].field]' box/dl.ndjson | tr -d '\n')" = '[2,"start_time"][3,"start_time"][4,"start_time"]' ]
	python3 -c '
import json
for i in range(5000):
    print(json.dumps({"k": "v%d" % i, "start_time": "2026-01-01T00:00:00Z"}))' > in/g.ndjson
	run --separate-stderr "$CDR_BIN/cdr-rollup" --by k --max-groups 1000 -o box/r.ndjson in/g.ndjson
	assert_failure 3
	[[ $stderr == *'more than 1000 groups (--max-groups): nothing written'* ]] || fail "$stderr"
	[ ! -e box/r.ndjson ]
	no_temp_files box
	run --separate-stderr "$CDR_BIN/cdr-rollup" --by k --max-groups 5000 -o box/r.ndjson in/g.ndjson
	assert_success
	[ "$(jq -s 'map(.count) | add' box/r.ndjson)" -eq 5000 ]
	[ "$(wc -l < box/r.ndjson)" -eq 5000 ]
}

@test "every tool: numeric options beyond 64 bits or their range are usage errors that write nothing" {
	echo '{"k":"a","start_time":"2026-01-01T00:00:00Z"}' > in/one.ndjson
	big=18446744073709551617
	huge=99999999999999999999999
	before=$(outside_box)
	while IFS= read -r line; do
		eval "set -- $line"
		run timeout 20 "$CDR_BIN/$@"
		[ "$status" -eq 2 ] || fail "$line: status $status: $output"
		[[ $output == *'Try '* ]] || fail "$line: $output"
	done <<EOF
cdr-partition --by-hash k --shards $big -d box/o in/one.ndjson
cdr-partition --by '{k}' --max-records $big -d box/o in/one.ndjson
cdr-partition --by '{k}' --max-bytes $huge -d box/o in/one.ndjson
cdr-partition --by '{k}' --max-errors $big -d box/o in/one.ndjson
cdr-partition --by '{k}' --max-open $big -d box/o in/one.ndjson
cdr-partition --by '{k}' --max-error-rate 1e400 -d box/o in/one.ndjson
cdr-tocsv --split $big -o box/x in/one.ndjson
cdr-tocsv -j $big -o box/x in/one.ndjson
cdr-tocsv --gzip-level $big -o box/x.gz in/one.ndjson
cdr-validate --horizon ${huge}d --dedupe k -o box/x in/one.ndjson
cdr-validate --dedupe-max-keys $big --dedupe k -o box/x in/one.ndjson
cdr-rollup --every ${huge}h -o box/x in/one.ndjson
cdr-rollup --offset ${huge}h --every 1h -o box/x in/one.ndjson
cdr-rollup --max-groups $big -o box/x in/one.ndjson
cdr-rollup --agg 'percentile(k,1e400)' -o box/x in/one.ndjson
cdr-resample -j $big -d box/o in/one.ndjson
cdr-resample --min-age ${huge}d -d box/o in/one.ndjson
cdr-tier cost --years $big -o box/x
cdr-tier cost --minutes 1e400 -o box/x
cdr-tier plan -p in/one.ndjson --now 99999-01-01 -o box/x in/one.ndjson
cdr-gen calls -n $big -o box/x
cdr-gen calls -n 1 --start 10000-01-01T00:00:00Z -o box/x
EOF
	[ -z "$(ls -A box)" ] || fail "written: $(ls -A box)"
	same_outside "$before"
}
