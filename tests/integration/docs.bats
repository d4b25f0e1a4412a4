#!/usr/bin/env bats
# Every command has a man page that renders without a warning from
# man/groff, and a --help whose options it accepts and the bash completion
# offers, no more, no fewer.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

MAN=$BATS_TEST_DIRNAME/../../packaging/man

@test "every command and the policy format have a man page" {
	for page in bangerd.8 banger.1 banger-update.8 banger-policy.5; do
		[ -f "$MAN/$page" ] || { echo "missing $page"; false; }
	done
}

@test "man --warnings renders each page without a warning" {
	command -v man >/dev/null || skip "man-db not installed"
	for page in "$MAN"/*.[1-8]; do
		warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		[ -z "$warnings" ] || { echo "$page: $warnings"; false; }
		[ -n "$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null)" ]
	done
}

# mandoc's strictest lint, and man-pages(7)'s order of the sections it
# names (a page's own sections, such as STEPS, may stand between them).
@test "mandoc -T lint -W all: no finding; the sections in man-pages(7)'s order" {
	command -v mandoc >/dev/null || { echo "mandoc is not installed: make deps installs it"; return 1; }
	run mandoc -T lint -W all "$MAN"/*.[1-8]
	[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$output"; return 1; }
	local order="NAME SYNOPSIS CONFIGURATION DESCRIPTION OPTIONS EXIT_STATUS RETURN_VALUE ERRORS
		ENVIRONMENT FILES ATTRIBUTES VERSIONS STANDARDS HISTORY NOTES CAVEATS BUGS EXAMPLES
		AUTHORS REPORTING_BUGS COPYRIGHT SEE_ALSO" page sections rank last name
	for page in "$MAN"/*.[1-8]; do
		sections=$(sed -n 's/^\.SH "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$page" | tr ' ' _)
		last=0
		for name in $sections; do
			rank=$(tr -s ' \t\n' '\n' <<<"$order" | grep -nx "$name" | cut -d: -f1)
			[ -n "$rank" ] || continue	# a section of the page's own
			[ "$rank" -gt "$last" ] || { echo "$(basename "$page"): $name out of order: $(tr "\n" " " <<<"$sections")"; return 1; }
			last=$rank
		done
	done
	# what each page was missing (issue 25)
	grep -qx '.SH DESCRIPTION' "$MAN/banger.1"
	grep -qx '.SH EXAMPLES' "$MAN/banger-policy.5"
	for name in ENVIRONMENT FILES EXAMPLES; do
		grep -qx ".SH $name" "$MAN/banger-update.8" || { echo "banger-update.8: no $name"; return 1; }
	done
	[ "$(sed -n 's/^\.SH //p' "$MAN/banger-update.8" | sed -n '4p')" = OPTIONS ]	# before the long sections
	local env
	env=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$MAN/banger-update.8")
	for word in BANGER_ALLOW_INCOMPATIBLE BANGER_STATE_DIR BANGER_UPDATE_DIR; do
		grep -q "$word" <<<"$env" || { echo "banger-update.8: ENVIRONMENT lacks $word"; return 1; }
	done
	env=$(sed -n '/^\.SH FILES/,/^\.SH /p' "$MAN/banger-update.8")
	for word in 'update.journal' 'TARGET.prev' 'DB.pre\\-update'; do
		grep -q "$word" <<<"$env" || { echo "banger-update.8: FILES lacks $word"; return 1; }
	done
	env=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$MAN/bangerd.8")
	for word in BANGER_STATE_DIR XDG_STATE_HOME XDG_RUNTIME_DIR LISTEN_FDS LISTEN_PID NOTIFY_SOCKET; do
		grep -q "$word" <<<"$env" || { echo "bangerd.8: ENVIRONMENT lacks $word"; return 1; }
	done
}

@test "the man pages name every exit code of banger update" {
	for code in 0 1 2 3 4 5 6 64 75; do
		grep -q "^\.B $code\$" "$MAN/banger-update.8" || { echo "exit $code missing"; false; }
	done
}

@test "make install puts binaries, policy and man pages in FHS places; uninstall removes them" {
	local repo dest sanitize=
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	dest=$(mktemp -d)
	[[ "$BANGER_BUILD" == */sanitize ]] && sanitize=1
	make -s -C "$repo" BUILD_DIR="$BANGER_BUILD" SANITIZE=$sanitize install DESTDIR="$dest" PREFIX=/usr >/dev/null
	[ "$(stat -c %a "$dest/usr/bin/bangerd")" = 755 ]
	[ "$(stat -c %a "$dest/usr/bin/banger")" = 755 ]
	[ -f "$dest/usr/share/banger/policy/check-migrations.policy" ]
	[ -f "$dest/usr/share/banger/policy/rehearse-migrations.policy" ]
	[ -f "$dest/usr/share/man/man8/bangerd.8.gz" ]
	[ -f "$dest/usr/share/man/man1/banger.1.gz" ]
	[ "$(MANPATH=$dest/usr/share/man man -w banger-policy)" = "$dest/usr/share/man/man5/banger-policy.5.gz" ]
	# the installed banger finds the installed bangerd beside it
	"$dest/usr/bin/bangerd" --db "$dest/banger.db" --migrate >/dev/null
	run "$dest/usr/bin/banger" update --check-only --from "$STAGED_BANGERD" --db "$dest/banger.db"
	[ "$status" -eq 0 ]
	make -s -C "$repo" BUILD_DIR="$BANGER_BUILD" SANITIZE=$sanitize uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
	rm -f "$dest/banger.db"
	[ -z "$(find "$dest" -type f)" ]
	rm -rf "$dest"
}

# complete WORDS...: what bash completion offers for the last word.
complete_words() {
	local prog=$1
	# shellcheck disable=SC1090 # the completion named by $prog: tests/shellcheck checks each on its own
	source "$BATS_TEST_DIRNAME/../../packaging/completions/$prog"
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	"_$prog"
	echo "${COMPREPLY[*]}"
}

# The words a --help lists, sorted, one a line: its option and command
# lines are the ones indented by exactly two spaces.
help_words() {
	"$@" --help | sed -nE 's/^  ([a-z][a-z-]*|--[a-z0-9-]+).*/\1/p' | sort
}

# Every option a --help lists, with its argument's name when it takes one:
# "--from PATH", "--json".
help_options() {
	"$@" --help | sed -nE 's/^  (--[a-z0-9-]+)( [A-Z]+)? .*/\1\2/p'
}

sorted() { tr ' ' '\n' | sed '/^$/d' | sort; }

@test "help lists what the bash completion offers: every command, subcommand and option" {
	local banger=$BANGER_BUILD/banger
	[ -n "$(help_words "$banger" update)" ]
	[ "$(complete_words banger "" | sorted)" = "$(help_words "$banger")" ]
	for cmd in status update; do
		[ "$(complete_words banger "$cmd" - | sorted)" = "$(help_words "$banger" "$cmd")" ] ||
			{ echo "banger $cmd: offers '$(complete_words banger "$cmd" -)'"; false; }
	done
	[ "$(complete_words banger policy "" | sorted)" = "$(help_words "$banger" policy)" ]
	[ "$(complete_words banger help "" | sorted)" = "$(help_words "$banger" | grep -v '^-')" ]
	[ "$(complete_words bangerd - | sorted)" = "$(help_words "$BANGERD")" ]
}

@test "bash completion completes an option's argument with a file or nothing, a flag with options" {
	local banger=$BANGER_BUILD/banger opt arg words
	cd "$WORK"
	touch a-file
	for prog in "banger status" "banger update" bangerd; do
		local bin=$BANGER_BUILD/$prog
		# shellcheck disable=SC2086 # "banger status": the program and its command, split on purpose
		while read -r opt arg; do
			words=$(complete_words $prog "$opt" "")
			if [ -n "$arg" ]; then
				! sorted <<<"$words" | grep -q '^--' || { echo "$prog $opt $arg: offers '$words'"; false; }
			else
				sorted <<<"$words" | grep -q '^--' || { echo "$prog $opt: offers '$words'"; false; }
			fi
		done < <(help_options $bin)
	done
	[ "$(complete_words banger update --from "")" = a-file ]
	[ "$(complete_words banger policy check "")" = a-file ]
	[ "$(complete_words banger update --che)" = --check-only ]
	[ "$(complete_words bangerd --li)" = --list-migrations ]
}

@test "every option --help lists is one the command accepts" {
	local prog bin opt arg
	for prog in "banger status" "banger update" bangerd; do
		bin=$BANGER_BUILD/$prog
		# shellcheck disable=SC2086 # the program and its command, and no x when the option takes none: split on purpose
		while read -r opt arg; do
			# A trailing argument stops every command before it acts.
			run --separate-stderr $bin "$opt" ${arg:+x} unexpected
			# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
			[[ "$stderr" != *"unknown option"* ]] || { echo "$prog $opt: $stderr"; false; }
		done < <(help_options $bin)
	done
}
