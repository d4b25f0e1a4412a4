#!/usr/bin/env bats
# banger update with hostile names (issue 24): a target whose directory
# name is shell syntax, a glob, or holds blanks, quotes and a newline is
# just a name; and no shell runs between banger and its helpers, unless
# the operator's own --restart-cmd asks for one.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	STATE=$WORK/state
	mkdir -p "$STATE"
	DB=$STATE/banger.db
	"$BANGERD_R2" --db "$DB" --migrate >/dev/null
	NEW_SHA=$(sha256sum < "$STAGED_BANGERD")
	OLD_SHA=$(sha256sum < "$BANGERD_R2")
}

teardown() {
	[ -f "$WORK/daemon.pid" ] && kill -9 "$(cat "$WORK/daemon.pid")" 2>/dev/null
	common_teardown
}

install_in() {	# DIR: release 2's bangerd as DIR/bangerd
	mkdir -p "$1"
	cp "$BANGERD_R2" "$1/bangerd"
}

update() {	# TARGET [ARG...]
	local target=$1
	shift
	run --separate-stderr "$BANGER_BUILD/banger" update --state-dir "$STATE" --target "$target" \
		--from "$STAGED_BANGERD" "$@"
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	echo "$stderr"
}

@test "a directory named a';touch PWNED;' is a name: nothing runs, the update goes through" {
	dir="$WORK/a';touch PWNED;'"
	install_in "$dir"
	cd "$WORK"
	update "$dir/bangerd" --no-restart
	[ "$status" -eq 0 ]
	[ "$output" = "updated: (not running) -> $("$BANGERD" --version)" ]
	[ "$(sha256sum < "$dir/bangerd")" = "$NEW_SHA" ]
	[ -z "$(find "$WORK" / -maxdepth 1 -name PWNED 2>/dev/null)" ]
}

@test "a directory named j* beside dpkg's /usr/share/doc/jq is not taken for jq's file" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount"
	[ -d /var/lib/dpkg/info ] && command -v dpkg-query >/dev/null || skip "no dpkg"
	dpkg-query -L jq | grep -qx /usr/share/doc/jq/copyright || skip "jq's copyright file not listed"
	# /usr/share/doc/j*/copyright is a glob that dpkg-query -S would match
	# with jq's file; in a private mount namespace a scratch /usr/share/doc
	# holds both names, each our old bangerd.
	install_in "$WORK/doc/j*"
	install_in "$WORK/doc/jq"
	mv "$WORK/doc/j*/bangerd" "$WORK/doc/j*/copyright"
	mv "$WORK/doc/jq/bangerd" "$WORK/doc/jq/copyright"
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run --separate-stderr unshare --mount --propagation private sh -c '
		mount --bind "$1" /usr/share/doc || exit 99
		shift
		"$@" --target "/usr/share/doc/j*/copyright"; echo "glob=$?"
		"$@" --target /usr/share/doc/jq/copyright; echo "jq=$?"' \
		_ "$WORK/doc" "$BANGER_BUILD/banger" update --state-dir "$STATE" --no-restart --from "$STAGED_BANGERD"
	echo "$stderr"
	[[ "$output" == *"glob=0"*"jq=4"* ]]
	[[ "$stderr" == *"/usr/share/doc/jq/copyright belongs to the Debian package jq: update it with apt"* ]]
	[ "$(sha256sum < "$WORK/doc/j*/copyright")" = "$NEW_SHA" ]
	[ "$(sha256sum < "$WORK/doc/jq/copyright")" = "$OLD_SHA" ]
}

@test "a space, a tab, a quote and a backslash in the target's directory: an ordinary update" {
	dir=$WORK/$(printf 'sp ace\tt"q\\b')
	install_in "$dir"
	update "$dir/bangerd" --no-restart
	[ "$status" -eq 0 ]
	[ "$(sha256sum < "$dir/bangerd")" = "$NEW_SHA" ]
	[ "$(sha256sum < "$dir/bangerd.prev")" = "$OLD_SHA" ]
}

@test "a newline in the target's directory: updated, or refused in one line with nothing changed" {
	dir=$WORK/$(printf 'new\nline')
	install_in "$dir"
	update "$dir/bangerd" --no-restart
	if [ "$status" -eq 0 ]; then
		[ "$(sha256sum < "$dir/bangerd")" = "$NEW_SHA" ]
	else
		[ "$(sha256sum < "$dir/bangerd")" = "$OLD_SHA" ]
		[ "$(grep -vc '^banger: \[' <<<"$stderr")" -eq 1 ]
	fi
	[ ! -e "$STATE/update.journal" ]
}

# Every program the update and its children exec'd, one "PATH ARGV" a line.
execs() { grep -E '(execve|execveat)\(' "$1" | grep -v ' = -1 ' ; }

# The strace tests run the test-hook banger, which is never sanitized:
# LeakSanitizer cannot run under ptrace (check-sanitize).
@test "strace of a whole update: no shell runs, no dpkg-query either" {
	command -v strace >/dev/null || skip "no strace"
	install_in "$WORK/inst"
	run --separate-stderr strace -f -qq -s 512 -e trace=execve,execveat -o "$WORK/trace" \
		"$BANGER_BUILD/hooks/banger" update --state-dir "$STATE" --target "$WORK/inst/bangerd" \
		--from "$STAGED_BANGERD" --no-restart
	echo "$stderr"
	[ "$status" -eq 0 ]
	execs "$WORK/trace"
	[ "$(execs "$WORK/trace" | grep -c 'banger", \["')" -ge 1 ]	# the trace saw the update
	if execs "$WORK/trace" | grep -E '/(sh|dash|bash)", |dpkg'; then false; fi
}

@test "strace with --restart-cmd: the one shell is /bin/sh -c with the operator's text" {
	command -v strace >/dev/null || skip "no strace"
	install_in "$WORK/inst"
	cat > "$WORK/restart.sh" <<-SH
	#!/bin/sh
	"$WORK/inst/bangerd" --state-dir "$STATE" >>"$WORK/daemon.log" 2>&1 &
	echo \$! > "$WORK/daemon.pid"
	SH
	chmod +x "$WORK/restart.sh"
	export XDG_RUNTIME_DIR=	# the socket lives in the state dir
	cmd="$WORK/restart.sh"
	# strace -f follows the daemon that the restart starts: once banger is
	# done, that daemon is stopped so that strace ends.
	strace -f -qq -s 512 -e trace=execve,execveat -o "$WORK/trace" \
		"$BANGER_BUILD/hooks/banger" update --state-dir "$STATE" --target "$WORK/inst/bangerd" \
		--from "$STAGED_BANGERD" --restart-cmd "$cmd" --timeout 10 >"$WORK/out" 2>"$WORK/err" &
	local tracer=$!
	for _ in $(seq 600); do
		grep -qE 'done: updated|rollback' "$WORK/err" && [ -s "$WORK/out" ] && break
		kill -0 "$tracer" 2>/dev/null || break
		sleep 0.05
	done
	[ -f "$WORK/daemon.pid" ] && kill "$(cat "$WORK/daemon.pid")"
	local status=0
	wait "$tracer" || status=$?
	cat "$WORK/err"
	[ "$status" -eq 0 ]
	execs "$WORK/trace"
	shells=$(execs "$WORK/trace" | grep -E '/(sh|dash|bash)", ')
	[ "$(wc -l <<<"$shells")" -eq 1 ]
	[[ "$shells" == *'execve("/bin/sh", ["/bin/sh", "-c", "'"$cmd"'"]'* ]]
}
