#!/usr/bin/env bats
# Documentation and installation: man pages and completions agree with
# each tool's --help; make install/uninstall honour DESTDIR and PREFIX.

load helpers/common

TOP=$BATS_TEST_DIRNAME/..

tools() {
	local t
	for t in "$CDR_BIN"/cdr-*; do basename "$t"; done
}

@test "docs: every tool has a man page with SYNOPSIS, OPTIONS, EXIT STATUS and EXAMPLES" {
	local t man
	for t in $(tools); do
		man=$TOP/share/man/man1/$t.1
		[ -f "$man" ] || fail "no man page for $t"
		for sec in SYNOPSIS OPTIONS "EXIT STATUS" EXAMPLES; do
			grep -q "^\.SH \"\?$sec\"\?" "$man" || fail "$t.1 has no $sec section"
		done
	done
}

@test "docs: --help and the man page name the same long options" {
	local t man opt
	for t in $(tools); do
		man=$TOP/share/man/man1/$t.1
		# every option of --help is documented
		for opt in $("$CDR_BIN/$t" --help | grep -oE -- '--[a-z0-9][a-z0-9-]+' | sort -u); do
			grep -qF -- "${opt//-/\\-}" "$man" || fail "$t: $opt is in --help but not in $t.1"
		done
		# every option the man page documents (.TP items) is in --help
		for opt in $(grep -A1 '^\.TP' "$man" | grep -oE '\\-\\-[a-z0-9]+(\\-[a-z0-9]+)*' |
		    sed 's/\\-/-/g' | sort -u); do
			"$CDR_BIN/$t" --help | grep -qF -- "$opt" || fail "$t: $opt is in $t.1 but not in --help"
		done
	done
}

@test "docs: completions are generated from the tools' options and are current" {
	"$TOP/build-aux/gen-completions" "$CDR_BIN" "$BATS_TEST_TMPDIR/c"
	run diff -r "$TOP/completions" "$BATS_TEST_TMPDIR/c"
	assert_success
}

@test "docs: bash completion offers options and their values" {
	source "$TOP/completions/bash/cdr-validate"
	COMP_WORDS=(cdr-validate --dead)
	COMP_CWORD=1
	_cdr_validate
	assert_equal "${COMPREPLY[*]}" "--dead-letter"
	COMP_WORDS=(cdr-validate -i "")
	COMP_CWORD=2
	_cdr_validate
	assert_equal "${COMPREPLY[*]}" "auto ndjson csv"
}

@test "docs: make install and uninstall honour DESTDIR and PREFIX" {
	local d=$BATS_TEST_TMPDIR/root t
	run make -C "$TOP" -s install DESTDIR="$d" PREFIX=/opt/cdr
	assert_success
	for t in $(tools); do
		[ -x "$d/opt/cdr/bin/$t" ] || fail "$t not installed"
		[ -f "$d/opt/cdr/share/man/man1/$t.1" ] || fail "$t.1 not installed"
		[ -f "$d/opt/cdr/share/bash-completion/completions/$t" ] || fail "$t bash completion not installed"
		[ -f "$d/opt/cdr/share/zsh/vendor-completions/_$t" ] || fail "$t zsh completion not installed"
		[ -f "$d/opt/cdr/share/fish/vendor_completions.d/$t.fish" ] || fail "$t fish completion not installed"
	done
	[ -f "$d/opt/cdr/share/cdrpipe/schemas/call.json" ]
	[ -x "$d/opt/cdr/share/cdrpipe/pipelines/demo.sh" ]
	[ ! -e "$d/opt/cdr/share/cdrpipe/man" ]
	# an installed tool finds its schemas without being told
	run env -u CDR_SHARE "$d/opt/cdr/bin/cdr-validate" --list-schemas
	assert_success
	assert_line --regexp '^asterisk-csv +'
	run make -C "$TOP" -s uninstall DESTDIR="$d" PREFIX=/opt/cdr
	assert_success
	run find "$d" -type f
	assert_output ''
}
