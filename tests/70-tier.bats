#!/usr/bin/env bats
# cdr-tier: scan, plan, journalled apply (with kill -9 fault runs), secure
# restore, and the cost model against hand-computed figures.

load helpers/common

T=$CDR_BIN/cdr-tier

setup() {
	cd "$BATS_TEST_TMPDIR"
	cp "$FIXTURES/tier/policy.json" .
}

# gen N SEED: N five-second stereo PCM recordings under hot/ (call date 2026-11-22
# or near it: cdr-gen dates them around its own clock, so the tests pass --now).
gen() {
	"$CDR_BIN/cdr-gen" wav -n "$1" --duration "${3:-5s}" -d hot --seed "$2" >/dev/null
}

# crash_after LINES MS: run "apply -j j plan" and kill -9 it once the journal
# has LINES lines and MS more milliseconds have passed (or when it ends).
crash_after() {
	"$T" apply -q -j j plan > /dev/null &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null &&
	    [ "$( (wc -l < j) 2>/dev/null || echo 0)" -lt "$1" ]; do
		:
	done
	[ "$2" -gt 0 ] && sleep "0.00$2"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" || true
}

# sums DIR...: "sha256  rel" of every recording, sorted, relative to its tier.
sums() {
	local d
	for d in "$@"; do
		[ -d "$d" ] || continue
		(cd "$d" && find . -name '*.wav' ! -name '.*' -type f -print0 |
		    xargs -0 -r sha256sum)
	done | sort
}

@test "tier: --help exits 0 on stdout, a bad flag 2, no command 2" {
	run "$T" --help
	assert_success
	assert_output --partial "usage: cdr-tier scan"
	run "$T" --no-such-flag
	assert_failure 2
	run "$T"
	assert_failure 2
	run "$T" frobnicate
	assert_failure 2
	run "$T" plan
	assert_failure 2
}

@test "tier: a missing directory, inventory or policy is status 3" {
	run "$T" scan no-such-dir
	assert_failure 3
	run "$T" plan -p policy.json no-such-inventory
	assert_failure 3
	run "$T" plan -p no-such-policy.json /dev/null
	assert_failure 3
	run "$T" restore -a no-such.tar.zst -C out
	assert_failure 3
}

@test "tier: writing to /dev/full is status 3" {
	gen 2 1
	run bash -c "'$T' scan hot > /dev/full"
	assert_failure 3
	run bash -c "'$T' cost > /dev/full"
	assert_failure 3
}

@test "tier: scan reports size, call date from the path, and WAV format" {
	gen 3 7
	run "$T" scan -o inv.ndjson hot
	assert_success
	[ "$(wc -l < inv.ndjson)" -eq 3 ]
	while read -r line; do
		p=$(jq -r .path <<<"$line")
		[ "$(jq -r .size <<<"$line")" -eq "$(stat -c %s "$p")" ]
		# independent date: the YYYY/MM/DD directories of the path
		want=$(sed -E 's|.*/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]*$|\1-\2-\3|' <<<"$p")
		assert_equal "$(jq -r .call_date <<<"$line")" "$want"
		assert_equal "$(jq -r .format <<<"$line")" pcm16
		assert_equal "$(jq -r .tier <<<"$line")" hot
		assert_equal "hot/$(jq -r .rel <<<"$line")" "$p"
	done < inv.ndjson
	# -o over an existing file needs -f
	run "$T" scan -o inv.ndjson hot
	assert_failure 3
	run "$T" scan -f -o inv.ndjson hot
	assert_success
}

@test "tier: plan picks one action per record by age and never changes anything" {
	gen 4 3
	"$T" scan hot > inv
	before=$(sums hot)
	d=$(jq -r .call_date inv | sort -u | head -1)
	day() { date -u -d "$d + $1 days" +%F; }
	for n in 0 29 30 89 90 364 365; do
		"$T" plan -p policy.json --now "$(day $n)" inv > plan.$n
		[ "$(wc -l < plan.$n)" -eq 4 ]
	done
	# every recording of the first day: expected actions by the policy's rules
	p=$(jq -r "select(.call_date == \"$d\") | .path" inv | head -1)
	act() { jq -r --arg p "$p" 'select(.path == $p) | .action' "plan.$1"; }
	assert_equal "$(act 0)" keep
	assert_equal "$(act 29)" keep
	assert_equal "$(act 30)" resample
	assert_equal "$(act 89)" resample
	assert_equal "$(act 90)" move
	assert_equal "$(act 364)" move
	assert_equal "$(act 365)" expire
	assert_equal "$(jq -r --arg p "$p" 'select(.path == $p) | .to' plan.90)" "cold/${p#hot/}"
	assert_equal "$(jq -r --arg p "$p" 'select(.path == $p) | .reason' plan.90)" \
	    "age 90 d >= move_after_days 90"
	assert_equal "$(sums hot)" "$before"
	[ ! -e cold ]
}

@test "tier: plan reads a CSV object listing (key, last_modified, storage_class)" {
	run "$T" plan -p policy.json --now 2026-12-01 "$FIXTURES/tier/listing.csv"
	assert_success
	# the format of a listed object is unknown: old enough to resample, but only
	# PCM recordings are resampled, so it is kept
	assert_line '{"path":"a/2026/01/01/old.wav","action":"keep","reason":"age 334 d"}'
	assert_line '{"path":"b/new.wav","action":"keep","reason":"age 11 d"}'
	assert_line '{"path":"c/2025/01/01/ancient.wav","action":"expire","reason":"age 699 d >= expire_after_days 365"}'
	# the same from stdin, with and without "-"
	want=$output
	run "$T" plan -p policy.json --now 2026-12-01 - < "$FIXTURES/tier/listing.csv"
	assert_output "$want"
	run "$T" plan -p policy.json --now 2026-12-01 < "$FIXTURES/tier/listing.csv"
	assert_output "$want"
	run "$T" plan -p policy.json --now 2026-13-01 /dev/null
	assert_failure 2
}

@test "tier: apply moves every recording, bytes unchanged; a re-run skips; dry-run changes nothing" {
	gen 6 11
	"$T" scan hot > inv
	before=$(sums hot)
	d=$(jq -r .call_date inv | sort | tail -1)
	"$T" plan -p policy.json --now "$(date -u -d "$d + 100 days" +%F)" inv > plan
	[ "$(jq -r .action plan | sort -u)" = move ]
	run "$T" apply --dry-run -j j plan
	assert_success
	[ "$(jq -r .result <<<"$output" | sort -u)" = dry-run ]
	assert_equal "$(sums hot)" "$before"
	[ ! -e j ] && [ ! -e cold ]
	run "$T" apply -q -j j plan
	assert_success
	[ "$(jq -r .result <<<"$output" | sort -u)" = done ]
	assert_equal "$(sums cold)" "$before"
	assert_equal "$(find hot -name '*.wav' | wc -l)" 0
	# the journal logs each action before and after it
	[ "$(grep -c '^begin	move	' j)" -eq 6 ]
	[ "$(grep -c '^done	move	' j)" -eq 6 ]
	run "$T" apply -q -j j plan
	assert_success
	[ "$(jq -r .result <<<"$output" | sort -u)" = skipped ]
	assert_equal "$(sums cold)" "$before"
	no_temp_files cold
}

@test "tier: kill -9 at random points of apply, then a re-run: every recording exactly once and intact" {
	gen 30 5 20s
	"$T" scan hot > inv
	before=$(sums hot)
	d=$(jq -r .call_date inv | sort | tail -1)
	"$T" plan -p policy.json --now "$(date -u -d "$d + 100 days" +%F)" inv > plan
	cp -a hot hot.orig
	for seed in 1 2 3 4 5 6 7 8; do
		rm -rf hot cold j
		cp -a hot.orig hot
		RANDOM=$seed
		# kill after a random number of journal lines (3 a move:
		# begin, copied, done), so the kill lands at a random step
		crash_after $((RANDOM % 90)) $((RANDOM % 3))
		# after the crash: each recording intact in at least one place
		while read -r sum rel; do
			ok=0
			for tdir in hot cold; do
				[ -f "$tdir/$rel" ] && [ "$(sha256sum < "$tdir/$rel" | cut -d' ' -f1)" = "$sum" ] && ok=1
			done
			[ "$ok" = 1 ] || fail "seed $seed: $rel lost after kill -9"
		done <<<"$before"
		run "$T" apply -q -j j plan
		assert_success
		assert_equal "$(sums cold)" "$before"
		assert_equal "$(find hot -type f | wc -l)" 0
		no_temp_files cold
		# exactly once: no name twice across the tiers
		[ -z "$(sums hot cold | awk '{print $2}' | sort | uniq -d)" ]
	done
}

@test "tier: apply resamples through cdr-resample and expires" {
	gen 3 21
	"$T" scan hot > inv
	d=$(jq -r .call_date inv | sort | tail -1)
	"$T" plan -p policy.json --now "$(date -u -d "$d + 40 days" +%F)" inv > plan
	[ "$(jq -r .action plan | sort -u)" = resample ]
	run "$T" apply -q -j j plan
	assert_success
	"$T" scan hot > inv2
	[ "$(jq -r .format inv2 | sort -u)" = alaw ]
	# independent check of the header: WAVE format tag 6 (A-law), 8 kHz
	for p in $(jq -r .path inv2); do
		run python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
i = b.index(b"fmt ")
tag, ch, rate = struct.unpack("<HHI", b[i + 8:i + 16])
print(tag, rate)' "$p"
		assert_output "6 8000"
	done
	"$T" plan -p policy.json --now "$(date -u -d "$d + 400 days" +%F)" inv2 > plan2
	[ "$(jq -r .action plan2 | sort -u)" = expire ]
	run "$T" apply -q -j j plan2
	assert_success
	assert_equal "$(find hot -name '*.wav' | wc -l)" 0
	# expiring again: already gone, skipped
	run "$T" apply -j j plan2
	assert_success
	[ "$(jq -r .result <<<"$output" | sort -u)" = skipped ]
}

@test "tier: restore from tar.zst, tar.xz and tar.gz reproduces the original bytes" {
	gen 3 9
	(cd hot && find . -name '*.wav' | sed 's|^\./||' | sort > ../members)
	for z in zstd xz gzip; do
		tar -C hot --"$z" -cf "a.$z" -T members
		run "$T" restore -q -a "a.$z" -C "out.$z"
		assert_success
		while read -r m; do
			cmp "hot/$m" "out.$z/$m" || fail "$z: $m differs"
		done < members
	done
	# one member by name
	m=$(head -1 members)
	run "$T" restore -q -a a.zstd -C one "$m"
	assert_success
	cmp "hot/$m" "one/$m"
	[ "$(find one -type f | wc -l)" -eq 1 ]
	# an existing file is not replaced without -f
	echo changed > "one/$m"
	run "$T" restore -q -a a.zstd -C one "$m"
	assert_failure 1
	assert_equal "$(cat "one/$m")" changed
	run "$T" restore -q -f -a a.zstd -C one "$m"
	assert_success
	cmp "hot/$m" "one/$m"
}

@test "tier: a crafted archive with ../ names and symlinks cannot write outside the target" {
	mkdir -p outside
	python3 - <<'PY'
import io, tarfile
def add(t, name, data=b"evil", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)
with tarfile.open("evil.tar.gz", "w:gz") as t:
    add(t, "good.wav", b"fine")
    add(t, "../escape.wav")
    add(t, "sub/../../escape2.wav")
    import os
    add(t, os.path.abspath("outside") + "/abs.wav")
    add(t, "link", type=tarfile.SYMTYPE, linkname="../outside")
    add(t, "link/through.wav")
    add(t, "hard", type=tarfile.LNKTYPE, linkname="../outside/victim")
PY
	echo victim > outside/victim
	mkdir target
	run "$T" restore -q -a evil.tar.gz -C target
	assert_failure 1
	# the good member was written; no link was made; nothing escaped
	assert_equal "$(cat target/good.wav)" fine
	assert_equal "$(find target -type l)" ""
	# link/through.wav, with the symlink refused, lands in a real directory
	# inside the target
	assert_equal "$(find target -type f | sort)" "target/good.wav
target/link/through.wav"
	assert_equal "$(ls outside)" victim
	assert_equal "$(cat outside/victim)" victim
	[ ! -e escape.wav ] && [ ! -e ../escape.wav ] && [ ! -e escape2.wav ]
	# GNU tar lists the refused names: the archive really holds them
	tar -tzf evil.tar.gz | grep -qx '../escape.wav'
	# a symlink already in the target is not followed out of it
	mkdir t2
	ln -s ../outside t2/out
	python3 -c '
import io, tarfile
with tarfile.open("via.tar", "w") as t:
    ti = tarfile.TarInfo("out/planted.wav"); ti.size = 4
    t.addfile(ti, io.BytesIO(b"evil"))'
	run "$T" restore -q -a via.tar -C t2
	assert_failure 1
	[ ! -e outside/planted.wav ]
	# with -f the link itself is replaced by a directory inside the target
	run "$T" restore -q -f -a via.tar -C t2
	assert_success
	[ ! -e outside/planted.wav ]
	[ ! -L t2/out ] && [ "$(cat t2/out/planted.wav)" = evil ]
	assert_equal "$(ls outside)" victim
}

@test "tier: cost matches hand-computed figures" {
	# 1000 min/month at 1 MB/min = 1 GB a cohort; resampled 0.25 GB.
	# 12 months; a cohort is (m - c) * 30 days old in month m.
	# keep_hot: cohorts stored over the year = 1+2+...+12 = 78 GB-months
	#   78 * 0.023 = 1.794 -> 1.79
	# policy (resample at 30 d, cold at 60 d):
	#   age 0 (12 cohort-months, 1 GB hot):      12 * 1    * 0.023 = 0.276
	#   age 30 (11 cohort-months, 0.25 GB hot):  11 * 0.25 * 0.023 = 0.06325
	#   age >= 60 (sum_{m=3..12} (m-2) = 55, 0.25 GB cold): 55 * 0.25 * 0.004 = 0.055
	#   total 0.39425 -> 0.39; saving 1.39975 -> 1.40
	run "$T" cost --years 1 --minutes 1000 --mb-per-minute 1 \
	    --mb-per-minute-after 0.25 --resample-after 30 --tier-after 60 \
	    --hot-price 0.023 --cold-price 0.004 --format csv
	assert_success
	assert_output "year,keep_hot,policy,saving
1,1.79,0.39,1.40
total,1.79,0.39,1.40"
	# plus retrieval of 10% of the cold data a month at 0.003/GB:
	#   55 * 0.25 * 0.1 * 0.003 = 0.004125
	# plus resampling at 1.00 per 1000 minutes, once per cohort (11 cohorts
	# reach 30 d in year 1): 11 * 1000/1000 * 1.00 = 11
	#   policy = 0.39425 + 0.004125 + 11 = 11.398375 -> 11.40
	#   saving = 1.794 - 11.398375 = -9.604375 -> -9.60
	run "$T" cost --years 1 --minutes 1000 --mb-per-minute 1 \
	    --mb-per-minute-after 0.25 --resample-after 30 --tier-after 60 \
	    --retrieved-share 10% --retrieval-price 0.003 --resample-price 1 \
	    --format ndjson
	assert_success
	assert_line --index 0 '{"year":1,"keep_hot":1.79,"policy":11.40,"saving":-9.60}'
	# two years: year 2 keep_hot = sum_{m=13..24} m = 222 GB-months * 0.023 = 5.106 -> 5.11
	run "$T" cost --years 2 --minutes 1000 --mb-per-minute 1 --format ndjson
	assert_success
	assert_line --index 1 --partial '{"year":2,"keep_hot":5.11,'
	assert_line --index 2 --partial '{"year":"total","keep_hot":6.90,'
	run "$T" cost --format yaml
	assert_failure 2
	run "$T" cost --retrieved-share 2
	assert_failure 2
}

# members ARCHIVE: "sha256  ./member" of each member, extracted by GNU tar.
members() {
	local x
	x=$(mktemp -d "$BATS_TEST_TMPDIR/x.XXXXXX")
	tar -C "$x" -xf "$1"
	(cd "$x" && find . -type f -print0 | xargs -0 -r sha256sum) | sort
	rm -rf "$x"
}

@test "tier: apply packs one tar.zst a call day with an index; tar extracts the original bytes" {
	cp "$FIXTURES/tier/archive-policy.json" .
	gen 5 2
	"$T" scan hot > inv
	before=$(sums hot)
	d=$(jq -r .call_date inv | sort | tail -1)
	"$T" plan -p archive-policy.json --now "$(date -u -d "$d + 61 days" +%F)" inv > plan
	[ "$(jq -r .action plan | sort -u)" = archive ]
	run "$T" apply -q -j j plan
	assert_success
	[ "$(jq -r .result <<<"$output" | sort -u)" = done ]
	assert_equal "$(find hot -type f | wc -l)" 0
	# one archive per call day named in the plan, zstd-compressed
	for a in $(jq -r .to plan | sort -u); do
		[ -f "$a" ] && [ -f "$a.index.ndjson" ]
		zstd -t -q "$a"
	done
	assert_equal "$(for a in $(jq -r .to plan | sort -u); do members "$a"; done | sort)" "$before"
	# the index lists each member with its size
	a=$(jq -r .to plan | head -1)
	assert_equal "$(jq -r .member "$a.index.ndjson" | sort)" "$(tar -tf "$a" | sort)"
	# restore brings one back byte for byte
	m=$(jq -r .member plan | head -1)
	want=$(grep -F "./$m" <<<"$before" | cut -d' ' -f1)
	run "$T" restore -q -a "$a" -C back "$m"
	assert_success
	assert_equal "$(sha256sum < "back/$m" | cut -d' ' -f1)" "$want"
	# a later recording of the same day joins the existing archive
	gen 2 99
	"$T" scan hot > inv2
	after=$( (echo "$before"; sums hot) | sort)
	"$T" plan -p archive-policy.json --now "$(date -u -d "$d + 61 days" +%F)" inv2 > plan2
	run "$T" apply -q -j j plan2
	assert_success
	assert_equal "$(for a in $(cat plan plan2 | jq -r .to | sort -u); do members "$a"; done | sort)" "$after"
	no_temp_files archive
}

@test "tier: kill -9 at random points of archiving, then a re-run: every recording exactly once and intact" {
	cp "$FIXTURES/tier/archive-policy.json" .
	gen 30 6 20s
	"$T" scan hot > inv
	before=$(sums hot)
	d=$(jq -r .call_date inv | sort | tail -1)
	"$T" plan -p archive-policy.json --now "$(date -u -d "$d + 61 days" +%F)" inv > plan
	cp -a hot hot.orig
	for seed in 11 12 13 14 15 16; do
		rm -rf hot archive j
		cp -a hot.orig hot
		RANDOM=$seed
		# journal: begin archive, archived, done; then a few ms more
		crash_after $((RANDOM % 3)) $((RANDOM % 4))
		run "$T" apply -q -j j plan
		assert_success
		assert_equal "$(find hot -type f | wc -l)" 0
		got=$(for a in archive/*.tar.zst; do members "$a"; done | sort)
		assert_equal "$got" "$before"
		no_temp_files archive
	done
}

@test "tier: the shipped policy and price table are valid and used" {
	run "$T" plan -p "$CDR_SHARE/policies/tier-example.json" /dev/null
	assert_success
	p=$CDR_SHARE/policies/s3-standard-glacier-ir.json
	assert_equal "$(jq -r '.tiers.STANDARD.storage_gb_month' "$p")" 0.023
	assert_equal "$(jq -r '.tiers.GLACIER_IR.storage_gb_month' "$p")" 0.004
	assert_equal "$(jq -r '.tiers.GLACIER_IR.retrieval_gb' "$p")" 0.003
	# a policy that is not JSON, or moves to an unknown tier, is a usage error
	echo '{"rules": {' > bad.json
	run "$T" plan -p bad.json /dev/null
	assert_failure 2
	echo '{"rules": {"move_after_days": 1, "move_to": "nowhere"}}' > bad.json
	run "$T" plan -p bad.json /dev/null
	assert_failure 2
}

@test "tier: cost --inventory prices what is stored, with the minimum billable object size" {
	# STANDARD: 200e9 + 100e9 = 300e9 B = 300 GB * 0.023 = 6.90
	# GLACIER_IR: 100000 B is billed as 131072; 131072 + 999999868928 = 1e12 B
	#   = 1000 GB * 0.004 = 4.00; stored bytes 100000 + 999999868928 = 999999968928
	# total 10.90
	run "$T" cost --inventory "$FIXTURES/tier/priced-listing.csv" \
	    -p "$FIXTURES/tier/priced-policy.json" --format csv
	assert_success
	assert_output "tier,files,bytes,billable_bytes,price_gb_month,month
hot,2,300000000000,300000000000,0.023,6.90
cold,2,999999968928,1000000000000,0.004,4.00
total,4,1299999968928,,,10.90"
	# a record of a tier the policy does not price is counted, and exit 1
	printf 'key,size,last_modified,storage_class\nz.wav,5,2026-01-01,DEEP_ARCHIVE\n' > odd.csv
	run "$T" cost --inventory odd.csv -p "$FIXTURES/tier/priced-policy.json"
	assert_failure 1
	run "$T" cost --inventory odd.csv
	assert_failure 2
	run "$T" cost --inventory missing.csv -p "$FIXTURES/tier/priced-policy.json"
	assert_failure 3
}
