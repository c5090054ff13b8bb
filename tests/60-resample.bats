#!/usr/bin/env bats
# cdr-resample: samples against ffmpeg and sox, WAV edge cases, in place,
# idempotence, lists, dead letters, interruption.

load helpers/common

R() { "$CDR_BIN/cdr-resample" "$@"; }
MK=$BATS_TEST_DIRNAME/fixtures/resample/mkwav.py
mk() { python3 "$MK" "$@"; }

# ffraw IN CODEC FORMAT OUT [ffmpeg output options]: ffmpeg's samples, raw.
ffraw() {
	local in=$1 codec=$2 fmt=$3 out=$4
	shift 4
	ffmpeg -nostdin -v error -y -i "$in" "$@" -c:a "$codec" -f "$fmt" "$out"
}

# samples WAV OUT: the data chunk, read by the fixture script, not by us.
samples() { mk data "$1" >"$2"; }

setup() {
	cd "$BATS_TEST_TMPDIR"
	command -v ffmpeg >/dev/null && command -v sox >/dev/null ||
		fail "ffmpeg and sox are needed (build-aux/packages/resample.list)"
}

@test "resample: --help on stdout, exit 0; help and man page list every option" {
	run --separate-stderr R --help
	assert_success
	assert_output --partial 'usage: cdr-resample'
	[ -z "$stderr" ]
	for opt in --encoding --channels --rate --quality --in-place --keep-original \
	    --output-dir --output --base --force --min-age --allow-truncated \
	    --from-list --input-format --path-field --jobs --dead-letter \
	    --max-errors --stats --progress --no-progress --quiet --version; do
		grep -q -- "${opt//-/\\\\-}" "$BATS_TEST_DIRNAME/../share/man/man1/cdr-resample.1" ||
			fail "man page lacks $opt"
		[[ $output == *"$opt"* ]] || fail "--help lacks $opt"
	done
}

@test "resample: --version names libsoxr" {
	run R --version
	assert_success
	assert_line --index 0 --regexp '^cdr-resample \(cdrpipe\) [0-9]'
	assert_output --partial 'libsoxr'
}

@test "resample: usage errors exit 2 and touch nothing" {
	mk tone a.wav 8000 2 0.1
	cp a.wav b.wav
	run R --bogus a.wav
	assert_failure 2
	assert_output --partial "Try 'cdr-resample --help'"
	for args in "a.wav" "--in-place -d out a.wav" "-o x.wav a.wav b.wav" \
	    "-d out --keep-original k a.wav" "--in-place -e gsm a.wav" \
	    "--in-place -c stereo a.wav" "--in-place -r 5 a.wav" \
	    "--in-place -j 0 a.wav" "--in-place --min-age 1y a.wav" \
	    "--in-place --base . a.wav" "--in-place" "--in-place -" \
	    "-o - a.wav" "--in-place -i csv a.wav" "--in-place --quality best a.wav"; do
		run R $args
		[ "$status" -eq 2 ] || fail "cdr-resample $args: status $status"
	done
	cmp a.wav b.wav
	[ ! -e out ] && [ ! -e x.wav ]
}

@test "resample: A-law of 8 kHz input equals ffmpeg's, every 16-bit value and stereo downmix" {
	mk all16 all.wav
	mk pairs st.wav 100000
	R -q -d out all.wav st.wav >/dev/null
	for f in all st; do
		ffraw $f.wav pcm_alaw alaw $f.ff -ac 1 -ar 8000
		samples out/$f.wav $f.ours
		assert_file_equal $f.ff $f.ours
	done
	# The downmix itself: floor((L + R + 1) / 2), as ffmpeg's PCM output.
	R -q -e pcm16 -d pcm st.wav >/dev/null
	ffraw st.wav pcm_s16le s16le st.ff16 -ac 1 -ar 8000
	samples pcm/st.wav st.ours16
	assert_file_equal st.ff16 st.ours16
	python3 - st.wav st.ours16 <<-'EOF'
	import struct, subprocess, sys
	b = open(sys.argv[1], 'rb').read()
	i = b.index(b'data') + 8
	n = struct.unpack('<I', b[i - 4:i])[0] // 4
	lr = struct.unpack('<%dh' % (2 * n), b[i:i + 4 * n])
	got = struct.unpack('<%dh' % n, open(sys.argv[2], 'rb').read())
	want = [(lr[2 * k] + lr[2 * k + 1] + 1) >> 1 for k in range(n)]
	sys.exit(0 if list(got) == want else 'downmix is not floor((L+R+1)/2)')
	EOF
}

@test "resample: mu-law and 16-bit PCM outputs equal ffmpeg's" {
	mk all16 all.wav
	mk pairs st.wav 50000
	R -q -e ulaw -d u all.wav st.wav >/dev/null
	R -q -e pcm16 -d p all.wav >/dev/null
	for f in all st; do
		ffraw $f.wav pcm_mulaw mulaw $f.ffu -ac 1 -ar 8000
		samples u/$f.wav $f.u
		assert_file_equal $f.ffu $f.u
	done
	ffraw all.wav pcm_s16le s16le all.ffp -ac 1 -ar 8000
	samples p/all.wav all.p
	assert_file_equal all.ffp all.p
}

@test "resample: every input encoding, mono and stereo, equals ffmpeg (A-law mono, PCM kept channels)" {
	mk formats in
	R -q -d a in/*.wav >/dev/null
	R -q -e pcm16 -c keep -d p in/*.wav >/dev/null
	for f in in/*.wav; do
		b=${f##*/}
		ffraw "$f" pcm_alaw alaw ff.a -ac 1 -ar 8000
		samples a/$b ours.a
		cmp -s ff.a ours.a || fail "$b: A-law differs from ffmpeg"
		if [ "${b%-*}" = pcm16 ] || [ "${b%-*}" = extensible ]; then
			# Already 16-bit PCM: copied byte for byte.
			cmp -s "$f" p/$b || fail "$b: not copied unchanged"
			continue
		fi
		ffraw "$f" pcm_s16le s16le ff.p -ar 8000
		samples p/$b ours.p
		cmp -s ff.p ours.p || fail "$b: 16-bit PCM differs from ffmpeg"
	done
}

@test "resample: --channels keep keeps agent and customer apart, equal to ffmpeg" {
	mk pairs st.wav 20000
	R -q -c keep -d k st.wav >/dev/null
	ffraw st.wav pcm_alaw alaw ff -ar 8000
	samples k/st.wav ours
	assert_file_equal ff ours
	run mk header k/st.wav
	assert_output '6 2 8000 16000 2 8 18 20011 40022 fmt,fact,data'
}

@test "resample: output headers: A-law and mu-law with an 18-byte fmt and a fact chunk, PCM plain or EXTENSIBLE" {
	mk tone st.wav 8000 2 0.5
	mk tone six.wav 8000 6 0.1
	R -q -d a st.wav >/dev/null
	R -q -e ulaw -d u st.wav >/dev/null
	R -q -e pcm16 -d p st.wav >/dev/null
	R -q -e pcm16 -c keep -r 16000 -d x six.wav >/dev/null
	run mk header a/st.wav
	assert_output '6 1 8000 8000 1 8 18 4000 4000 fmt,fact,data'
	run mk header u/st.wav
	assert_output '7 1 8000 8000 1 8 18 4000 4000 fmt,fact,data'
	run mk header p/st.wav
	assert_output '1 1 8000 16000 2 16 16 - 8000 fmt,data'
	run mk header x/six.wav
	assert_output '65534 6 16000 192000 12 16 40 - 19200 fmt,data'
}

@test "resample: rate conversion is close to sox (same libsoxr) and to ffmpeg" {
	for rate in 11025 16000 44100 48000; do
		mk tone r$rate.wav $rate 2 1
		R -q -e pcm16 -d p r$rate.wav >/dev/null
		samples p/r$rate.wav ours
		sox -D r$rate.wav -t raw -e signed -b 16 -c 1 sox.raw rate -h 8000
		ffraw r$rate.wav pcm_s16le s16le ff.raw -ac 1 -ar 8000
		snr=$(mk snr sox.raw ours)
		awk -v s="$snr" 'BEGIN {exit !(s >= 70)}' || fail "$rate Hz: SNR against sox $snr dB"
		snr=$(mk snr ff.raw ours)
		awk -v s="$snr" 'BEGIN {exit !(s >= 40)}' || fail "$rate Hz: SNR against ffmpeg $snr dB"
		# A-law: the G.711 quantisation noise bounds the agreement.
		R -q -d a r$rate.wav >/dev/null
		ffmpeg -nostdin -v error -y -i a/r$rate.wav -f s16le ours.a
		sox -D r$rate.wav -t raw -e signed -b 16 -c 1 sox.a rate -h 8000
		snr=$(mk snr sox.a ours.a)
		awk -v s="$snr" 'BEGIN {exit !(s >= 35)}' || fail "$rate Hz A-law: SNR $snr dB"
	done
	# Up as well as down, channels kept.
	mk tone low.wav 8000 2 1
	R -q -e pcm16 -c keep -r 16000 -d up low.wav >/dev/null
	samples up/low.wav ours
	sox -D low.wav -t raw -e signed -b 16 sox.raw rate -h 16000
	snr=$(mk snr sox.raw ours)
	awk -v s="$snr" 'BEGIN {exit !(s >= 70)}' || fail "up-sampling: SNR $snr dB"
}

@test "resample: in place keeps mode, owner and times; a second run skips every file" {
	mk tone a.wav 8000 2 1
	mk tone b.wav 16000 1 1
	cp a.wav a.orig
	ffraw a.wav pcm_alaw alaw a.ff -ac 1 -ar 8000
	chmod 640 a.wav
	touch -d '2024-01-02 03:04:05.123456789' a.wav
	run --separate-stderr R --in-place a.wav b.wav
	assert_success
	[ "$(stat -c '%a %y' a.wav)" = "640 2024-01-02 03:04:05.123456789 +0000" ] ||
		fail "mode/time not kept: $(stat -c '%a %y' a.wav)"
	samples a.wav a.ours
	assert_file_equal a.ff a.ours
	[ "$(echo "$output" | jq -r .status | tr '\n' ' ')" = "converted converted " ]
	[ "$(echo "$output" | jq -c '[.in.bytes, .out.bytes, .out.encoding, .duration_s]' | head -n 1)" = \
	  "[32044,8058,\"alaw\",1]" ]
	cp a.wav a.once
	cp b.wav b.once
	run --separate-stderr R --in-place a.wav b.wav
	assert_success
	[ "$(echo "$output" | jq -r .status | tr '\n' ' ')" = "skipped skipped " ]
	assert_line --index 0 --partial '"reason":"already alaw, 1 channel, 8000 Hz"'
	cmp a.wav a.once && cmp b.wav b.once
	no_temp_files .
}

@test "resample: --keep-original links the original into a tree; a kept copy that differs stops the file" {
	mkdir -p rec/2026/05 keep
	mk tone rec/2026/05/x.wav 8000 2 0.5
	mk tone rec/2026/05/y.wav 8000 1 0.5
	cp rec/2026/05/x.wav x.orig
	cp rec/2026/05/y.wav y.orig
	# y was kept by an interrupted run already (identical): fine.
	mkdir -p keep/2026/05 && cp y.orig keep/2026/05/y.wav
	run --separate-stderr R --in-place --keep-original keep --base rec rec/2026/05/x.wav rec/2026/05/y.wav
	assert_success
	cmp x.orig keep/2026/05/x.wav && cmp y.orig keep/2026/05/y.wav
	assert_line --index 0 --partial '"kept":"keep/2026/05/x.wav"'
	run mk header rec/2026/05/x.wav
	assert_output --partial '6 1 8000'
	# A different file under the kept name: the original stays as it is.
	mk tone rec/z.wav 8000 2 0.3
	cp rec/z.wav z.orig
	mk tone keep/z.wav 8000 2 0.2
	run --separate-stderr R --in-place --keep-original keep --base rec rec/z.wav
	assert_failure 1
	assert_output --partial '"status":"failed"'
	assert_output --partial 'exists and is not the original'
	cmp z.orig rec/z.wav
	no_temp_files .
}

@test "resample: -d writes a tree, re-runs skip, clashes fail, -f replaces, target format is copied" {
	mkdir -p in/a in/b
	mk tone in/a/x.wav 8000 2 0.5
	mk tone in/b/x.wav 16000 2 0.5
	run --separate-stderr R -d out --base in in/a/x.wav in/b/x.wav
	assert_success
	[ -f out/a/x.wav ] && [ -f out/b/x.wav ]
	cmp <(mk data out/a/x.wav) <(ffmpeg -nostdin -v error -i in/a/x.wav -ac 1 -c:a pcm_alaw -f alaw -)
	run --separate-stderr R -d out --base in in/a/x.wav
	assert_success
	assert_output --partial '"status":"skipped"'
	assert_output --partial '"reason":"already converted"'
	# Without --base both inputs map to out2/x.wav: the second must not clobber.
	run --separate-stderr R -j 1 -d out2 in/a/x.wav in/b/x.wav
	assert_failure 1
	assert_line --index 1 --partial 'out2/x.wav exists (use -f to replace it)'
	cmp <(mk data out2/x.wav) <(mk data out/a/x.wav)
	run --separate-stderr R -f -d out2 in/b/x.wav
	assert_success
	cmp out2/x.wav out/b/x.wav
	# Already A-law mono 8 kHz: copied byte for byte into the output tree.
	run --separate-stderr R -d out3 out/a/x.wav
	assert_success
	assert_output --partial '"status":"copied"'
	cmp out/a/x.wav out3/x.wav
	run --separate-stderr R -o single.wav in/b/x.wav
	assert_success
	cmp single.wav out/b/x.wav
	run R --base .. -d out4 in/a/x.wav
	assert_failure 1
	no_temp_files .
}

@test "resample: --min-age leaves fresh recordings alone" {
	mk tone old.wav 8000 2 0.2
	mk tone new.wav 8000 2 0.2
	touch -d '3 days ago' old.wav
	cp new.wav new.orig
	run --separate-stderr R --in-place --min-age 2d old.wav new.wav
	assert_success
	assert_line --index 0 --partial '"status":"converted"'
	assert_line --index 1 --partial '"status":"skipped"'
	assert_line --index 1 --partial 'within --min-age'
	cmp new.wav new.orig
}

@test "resample: --from-list takes paths and NDJSON records; bad records dead-lettered byte for byte" {
	mk tone a.wav 8000 2 0.2
	mk tone b.wav 8000 2 0.2
	mk tone c.wav 8000 2 0.2
	printf '%s\n' a.wav '{"key":"x","path":"b.wav"}' '' '{"path":7}' \
		'{"file":"c.wav"}' 'missing.wav' '{"path":"c.wav"' '{"path":"c.wav"}' > list
	run --separate-stderr R --from-list --in-place --dead-letter dl.ndjson - < list
	assert_failure 3
	[ "$(echo "$output" | jq -r '(.path // "-") + " " + .status' | tr '\n' ',')" = \
	  "a.wav converted,b.wav converted,- failed,- failed,missing.wav failed,- failed,c.wav converted," ]
	cat > want.ndjson <<-'EOF'
	{"source":"stdin","line":4,"offset":34,"errors":[{"field":"path","check":"list","message":"stdin:4: \"path\" is not a string"}],"record":"{\"path\":7}"}
	{"source":"stdin","line":5,"offset":45,"errors":[{"field":"path","check":"list","message":"stdin:5: no \"path\" field"}],"record":"{\"file\":\"c.wav\"}"}
	{"source":"stdin","line":6,"offset":62,"errors":[{"field":null,"check":"io","message":"cannot open: No such file or directory"}],"record":"missing.wav"}
	{"source":"stdin","line":7,"offset":74,"errors":[{"field":"path","check":"list","message":"stdin:7: column 16: unexpected end of record"}],"record":"{\"path\":\"c.wav\""}
	EOF
	assert_file_equal want.ndjson dl.ndjson
	[[ $stderr == *'cdr-resample: stdin:4: "path" is not a string'* ]]
	# cdr-gen's own NDJSON, and CSV with another field name.
	"$CDR_BIN/cdr-gen" wav -n 3 --duration 1s -d gen --seed 2 > gen.ndjson
	run --separate-stderr R --from-list -d out --base gen gen.ndjson
	assert_success
	[ "$(echo "$output" | grep -c '"status":"converted"')" -eq 3 ]
	printf 'id,file\n1,c.wav\n' > list.csv
	run --separate-stderr R --from-list -i csv --path-field file -d csvout list.csv
	assert_success
	[ -f csvout/c.wav ]
}

@test "resample: a missing file is a failed result line, dead-lettered, exit 3; the others still convert" {
	mk tone a.wav 8000 2 0.2
	run --separate-stderr R -d out --dead-letter dl.ndjson a.wav missing.wav
	assert_failure 3
	assert_line --index 0 --partial '"status":"converted"'
	assert_line --index 1 '{"path":"missing.wav","status":"failed","reason":"cannot open: No such file or directory"}'
	[[ $stderr == *"cdr-resample: missing.wav: cannot open: No such file or directory"* ]]
	echo '{"source":"arguments","line":2,"offset":0,"errors":[{"field":null,"check":"io","message":"cannot open: No such file or directory"}],"record":"missing.wav"}' > want
	assert_file_equal want dl.ndjson
	[ -f out/a.wav ]
}

@test "resample: malformed WAV corpus: clear reasons, no crash, originals untouched" {
	mk corpus c
	rm c/expect.tsv.tmp 2>/dev/null || true
	mv c/expect.tsv expect.tsv
	cp -a c orig
	mkfifo c/fifo.wav
	mkdir c/dir.wav
	run --separate-stderr R -q -j 2 --in-place --dead-letter dl.ndjson --stats st.json c/*.wav
	assert_failure 1
	echo "$output" | jq -r '[.path[2:], .status, (.reason // "")] | @tsv' > got.tsv
	awk -F'\t' 'NR == FNR { st[$1] = $2; re[$1] = $3; next }
		!($1 in st) { print "no result line: " $1; bad = 1; next }
		st[$1] != $2 || index(re[$1], $3) == 0 {
			print $1 ": " st[$1] ", " re[$1] " (want " $2 ", " $3 ")"; bad = 1 }
		END { exit bad }' got.tsv expect.tsv || fail "unexpected results"
	for name in $(awk -F'\t' '$2 == "failed" { print $1 }' expect.tsv); do
		cmp -s "orig/$name" "c/$name" || fail "$name: original changed"
	done
	[ "$(echo "$output" | jq -r 'select(.path == "c/fifo.wav" or .path == "c/dir.wav") | .reason' |
	    uniq -c | tr -s ' ')" = " 2 not a regular file" ]
	jq -e '.read == .written + .rejected + .filtered and .read == 51' st.json >/dev/null
	[ "$(wc -l < dl.ndjson)" -eq "$(jq .rejected st.json)" ]
	no_temp_files .
	# Converted files are readable WAV that ffmpeg accepts.
	for f in $(echo "$output" | jq -r 'select(.status == "converted") | .path'); do
		mk header "$f" >/dev/null || fail "$f: bad output"
		ffprobe -v error "$f" || fail "$f: ffprobe rejects it"
	done
}

@test "resample: the malformed corpus and every encoding under valgrind (or ASan): no errors, no leaks" {
	mk corpus c
	mk formats c/f
	mk tone c/r.wav 44100 2 0.2
	local check=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
	# An AddressSanitizer build (make asan) checks itself; valgrind cannot run it.
	if grep -q __asan_init "$CDR_BIN/cdr-resample"; then
		check=(env ASAN_OPTIONS=exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=99)
	else
		command -v valgrind >/dev/null || fail "valgrind is needed"
	fi
	run "${check[@]}" "$CDR_BIN/cdr-resample" -q -j 2 -d out c/*.wav c/f/*.wav
	[ "$status" -eq 1 ] || fail "status $status: $output"
	run "${check[@]}" "$CDR_BIN/cdr-resample" -q -j 1 -e pcm16 -c keep -r 22050 -d out2 c/f/*.wav c/r.wav
	assert_success
}

@test "resample: streaming headers (0, 0xffffffff) and --allow-truncated convert what is there, as ffmpeg" {
	mk corpus c
	R -q -d out c/data-size-ffffffff.wav c/data-size-0.wav >/dev/null
	for f in data-size-ffffffff data-size-0; do
		ffraw c/$f.wav pcm_alaw alaw ff -ac 1 -ar 8000
		samples out/$f.wav ours
		assert_file_equal ff ours
	done
	run --separate-stderr R -d out c/data-runs-past.wav
	assert_failure 1
	[ ! -e out/data-runs-past.wav ]
	run --separate-stderr R --allow-truncated -d out c/data-runs-past.wav
	assert_success
	assert_output --partial '"truncated":true'
	ffraw c/data-runs-past.wav pcm_alaw alaw ff -ac 1 -ar 8000
	samples out/data-runs-past.wav ours
	assert_file_equal ff ours
	# LIST chunks ride along.
	R -q -d out c/list-after-data.wav >/dev/null
	run mk header out/list-after-data.wav
	assert_output '6 1 8000 8000 1 8 18 800 800 fmt,fact,LIST,data'
}

@test "resample: -j 4 writes results in input order" {
	for i in $(seq 1 24); do mk tone f$i.wav 8000 2 0.05; done
	sox -n -r 8000 -c 2 -b 16 big.wav synth 300 pinknoise
	run --separate-stderr R -j 4 -d out big.wav f*.wav
	assert_success
	[ "$(echo "$output" | jq -r .path | tr '\n' ' ')" = "$(printf '%s ' big.wav f*.wav)" ]
}

@test "resample: a symbolic link is followed in place and stays a link" {
	mk tone real.wav 8000 2 0.2
	ln -s real.wav link.wav
	run --separate-stderr R --in-place link.wav
	assert_success
	[ -L link.wav ]
	run mk header real.wav
	assert_output --partial '6 1 8000'
}

# interrupted SIGNAL JOBS: starts a conversion of 8 recordings, sends SIGNAL
# once the first file is done (so one is most likely in flight), and checks
# that every recording is its original or its complete conversion.  No
# assumption on timing: whenever the signal lands, this must hold.
interrupted() {
	local sig=$1 jobs=$2 i f pid
	mkdir rec
	for i in 1 2 3 4 5 6 7 8; do
		sox -n -r 48000 -c 2 -b 16 rec/r$i.wav synth 90 pinknoise 2>/dev/null
	done
	cp -a rec orig
	# Not through the function R: $! must be cdr-resample itself.
	"$CDR_BIN/cdr-resample" -j "$jobs" --quality very-high --in-place rec/*.wav \
		> out.ndjson 2> err &
	pid=$!
	for i in $(seq 1 3000); do
		[ -s out.ndjson ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.01
	done
	kill -"$sig" $pid 2>/dev/null || true
	wait $pid || true
	for f in rec/r*.wav; do
		cmp -s "$f" "orig/${f#rec/}" && continue
		[ "$(mk header "$f")" = "6 1 8000 8000 1 8 18 720000 720000 fmt,fact,data" ] ||
			fail "$f: neither the original nor a whole conversion"
	done
	[ "$(find rec -name '*.wav' | wc -l)" -eq 8 ] || fail "recordings lost"
}

@test "resample: SIGTERM mid-conversion leaves every file whole (original or converted) and no temporary file" {
	interrupted TERM 1
	no_temp_files rec
	# A re-run finishes the job.
	run --separate-stderr R --in-place rec/*.wav
	assert_success
	for f in rec/r*.wav; do
		[ "$(mk header "$f")" = "6 1 8000 8000 1 8 18 720000 720000 fmt,fact,data" ] ||
			fail "$f: not converted after the re-run"
	done
}

@test "resample: kill -9 mid-conversion: originals intact or converted, never a partial file under the final name" {
	interrupted KILL 2
	# Leftover temporaries are hidden names, never the recording's own.
	for t in $(find rec -name '.*.tmp.*'); do
		[[ ${t##*/} == .r?.wav.tmp.?????? ]] || fail "odd temporary $t"
	done
	run --separate-stderr R --in-place rec/*.wav
	assert_success
	for f in rec/r*.wav; do
		[ "$(mk header "$f")" = "6 1 8000 8000 1 8 18 720000 720000 fmt,fact,data" ] ||
			fail "$f: not converted after the re-run"
	done
}

@test "resample: a write error (file size limit) fails the file, keeps the original, exit 3" {
	mk tone big.wav 8000 2 30
	cp big.wav big.orig
	run bash -c "trap '' XFSZ; ulimit -f 64; '$CDR_BIN/cdr-resample' --in-place big.wav"
	assert_failure 3
	assert_output --partial 'write error: File too large'
	cmp big.wav big.orig
	no_temp_files .
}

@test "resample: stdout on /dev/full exits 3" {
	mk tone a.wav 8000 2 0.1
	run bash -c "'$CDR_BIN/cdr-resample' -d out a.wav > /dev/full"
	assert_failure 3
	assert_output --partial 'stdout'
	no_temp_files .
}

@test "resample: the dead-letter file is not replaced without -f; --stats counts" {
	mk tone a.wav 8000 2 0.1
	echo old > dl.ndjson
	run R -d out --dead-letter dl.ndjson a.wav
	assert_failure 3
	[ "$(cat dl.ndjson)" = old ]
	[ ! -e out/a.wav ]
	run --separate-stderr R -f -d out --dead-letter dl.ndjson --stats st.json a.wav
	assert_success
	[ ! -s dl.ndjson ]
	jq -e '.converted == 1 and .read == 1 and .bytes_in == 3244 and .bytes_out == 858' st.json >/dev/null
	[[ $stderr == *"1 files: 1 converted, 0 copied, 0 skipped, 0 failed"* ]]
}
