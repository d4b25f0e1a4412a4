#!/usr/bin/env bats
# Every command has a man page, and every man page renders without a
# warning from man/groff.

load helpers

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
	source "$BATS_TEST_DIRNAME/../../packaging/completions/$prog"
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	"_$prog"
	echo "${COMPREPLY[*]}"
}

@test "bash completion offers the commands and their options" {
	[ "$(complete_words banger "")" = "status update policy --version --help" ]
	[[ "$(complete_words banger update --che)" = "--check-only" ]]
	[ "$(complete_words banger policy "")" = "check show" ]
	[ "$(complete_words bangerd --check)" = "--check-migrations" ]
	[ "$(complete_words bangerd --li)" = "--list-migrations" ]
}
