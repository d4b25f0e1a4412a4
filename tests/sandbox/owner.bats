#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each @test runs in a subshell of its own: what one sets is meant for it alone
# The boundary between the state directory's owner and root (issue 26).
# As under systemd's DynamicUser, the state directory belongs to an
# unprivileged uid (4321 here) that an attacker controls, and banger
# update runs as root. Whatever that uid plants in its directory, root
# runs nothing it wrote, changes no file of root's, and the update ends
# correct or refuses.
#
# The names the updater touches in the state directory come from
# `strace -f -e trace=%file,%desc,%creds,%process` of an update that
# migrates, of one that rolls back (an unhealthy restart), and of a
# --recover after a kill before the restart, with the state directory
# owned by 4321: tests/sandbox/trace-owner-paths prints them, each with
# the uid that made the call.
#   banger.db, banger.db-wal, banger.db-shm, banger.db-journal,
#   banger.db.pre-update, banger.db.pre-update.tmp (and SQLite's -journal
#   and -wal probes of both), bangerd.sock; before this change also
#   update.journal and update.journal.tmp.
# Every open of those is now made by a child running as 4321; root itself
# opens only the directory (to hand it to that child) and stats it.

load ../integration/helpers
bats_require_minimum_version 1.5.0

OWNER=4321
# OWNER_NO_LANDLOCK=1: the same suite with Landlock unavailable to banger
# and its child (the test-hook banger honours BANGER_TEST_NO_LANDLOCK).
BANGER=$BANGER_BUILD/banger
if [ "${OWNER_NO_LANDLOCK:-}" = 1 ]; then
	BANGER=$BANGER_BUILD/hooks/banger
	export BANGER_TEST_NO_LANDLOCK=1
fi
NAMES="banger.db-wal banger.db-shm banger.db-journal banger.db.pre-update banger.db.pre-update.tmp
	banger.db.pre-update.tmp-journal bangerd.sock update.journal update.journal.tmp"

setup() {
	[ "$(id -u)" -eq 0 ] || skip "the boundary is root's: needs root"
	common_setup
	chmod 755 "$WORK"	# the owner may walk to its directory (not so under systemd: update.bats)
	mkdir -p "$WORK/state" "$WORK/bin" "$WORK/x"
	cp "$BANGERD_R2" "$WORK/bin/bangerd"
	"$BANGERD_R2" --db "$WORK/state/banger.db" --migrate >/dev/null
	"$FIXTURE" seed "$WORK/state/banger.db" 2
	chown -R $OWNER:$OWNER "$WORK/state"
	# root's files the owner would like to own, change or read
	echo secret > "$WORK/x/precious"
	chmod 600 "$WORK/x/precious"
	PRECIOUS=$(stat -c '%u %g %a %s' "$WORK/x/precious")-$(sha256sum < "$WORK/x/precious")
}

teardown() {
	[ -n "${BG:-}" ] && kill "$BG" 2>/dev/null
	[ -n "${WORK:-}" ] && common_teardown
}

as_owner() { setpriv --reuid=$OWNER --regid=$OWNER --clear-groups "$@"; }
# In the background, the owner's process itself is $! (a function would
# put a subshell between), and it cannot outlive the test by more than a
# minute whatever happens to the test.
owner_bg() { timeout 60 setpriv --reuid=$OWNER --regid=$OWNER --clear-groups "$@" & BG=$!; }

update() {
	run --separate-stderr timeout 120 "$BANGER" update --state-dir "$WORK/state" \
		--target "$WORK/bin/bangerd" --no-restart --timeout 5 "$@"
}

assert_root_files_intact() {
	[ "$(stat -c '%u %g %a %s' "$WORK/x/precious")-$(sha256sum < "$WORK/x/precious")" = "$PRECIOUS" ]
	[ ! -e "$WORK/x/root-ran" ]
	[ -z "$(find "$WORK/state" -user 0)" ] || { echo "root's in the state dir:"; find "$WORK/state" -user 0; false; }
}

@test "a journal forged in the state directory is not read: no command runs" {
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	as_owner sh -c 'printf "step=swapping\ntarget=/nonexistent/bangerd\nrestart=cmd:id > %s\n" "$1" \
		> "$2/update.journal"' _ "$WORK/x/root-ran" "$WORK/state"
	run --separate-stderr "$BANGER" update --recover --state-dir "$WORK/state"
	[ "$status" -eq 0 ]
	# shellcheck disable=SC2153 # BANGERD is helpers.bash's (load)
	update --from "$STAGED_BANGERD"
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr (in update)
	echo "$stderr"
	[ "$status" -eq 0 ]
	assert_root_files_intact
}

# journal_in_update_dir PREPARE: a journal whose fields would run a
# command as root, made in BANGER_UPDATE_DIR by PREPARE, must be refused.
forged_journal() {
	printf 'step=swapping\ntarget=%s\nrestart=cmd:id > %s\n' "$WORK/bin/bangerd" "$WORK/x/root-ran" \
		> "$BANGER_UPDATE_DIR/update.journal"
	chmod 600 "$BANGER_UPDATE_DIR/update.journal"
}

@test "a journal in the update directory that is not root's, or writable by others, is refused; nothing runs" {
	forged_journal
	chown $OWNER "$BANGER_UPDATE_DIR/update.journal"
	run --separate-stderr "$BANGER" update --recover --state-dir "$WORK/state"
	[ "$status" -eq 6 ]
	[[ "$stderr" == *"refusing the update journal"*"not written by this uid"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	forged_journal
	chown 0 "$BANGER_UPDATE_DIR/update.journal"
	chmod 620 "$BANGER_UPDATE_DIR/update.journal"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 6 ]
	[[ "$stderr" == *"refusing the update journal"*"writable by others"* ]]
	rm "$BANGER_UPDATE_DIR/update.journal"
	ln -s "$WORK/x/precious" "$BANGER_UPDATE_DIR/update.journal"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 6 ]
	[[ "$stderr" == *"refusing the update journal"*"symlink"* ]]
	[ "$(sha256sum < "$WORK/bin/bangerd")" = "$(sha256sum < "$BANGERD_R2")" ]
	assert_root_files_intact
}

@test "an update directory that another uid owns or can write is refused" {
	chown $OWNER "$BANGER_UPDATE_DIR"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"refusing the update directory"* ]]
	chown 0 "$BANGER_UPDATE_DIR"
	chmod 0770 "$BANGER_UPDATE_DIR"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 3 ]
	chmod 0700 "$BANGER_UPDATE_DIR"
	mkdir -m 0777 "$WORK/open"
	mkdir -m 0700 "$WORK/open/upd"
	BANGER_UPDATE_DIR=$WORK/open/upd update --from "$STAGED_BANGERD"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"refusing the update directory"*"'open'"* ]]
	[ "$(sha256sum < "$WORK/bin/bangerd")" = "$(sha256sum < "$BANGERD_R2")" ]
}

@test "the symlink of issue 26 at update.journal.tmp: root's file keeps its owner and content" {
	as_owner ln -s "$WORK/x/precious" "$WORK/state/update.journal.tmp"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 0 ]
	assert_root_files_intact
}

# plant KIND NAME: what the owner puts at NAME in its directory.
plant() {
	local path=$WORK/state/$2
	rm -rf "$path"
	case $1 in
	symlink) as_owner ln -s "$WORK/x/precious" "$path" ;;
	hardlink) ln "$WORK/x/precious" "$path" 2>/dev/null || return 1 ;;	# root makes it: protected_hardlinks stops the owner
	fifo) as_owner mkfifo "$path" ;;
	dir) as_owner mkdir "$path" ;;
	esac
}

@test "a symlink, hard link, FIFO or directory at every name the updater touches: refused or harmless" {
	local kind name
	for kind in symlink hardlink fifo dir; do
		for name in $NAMES; do
			cp "$BANGERD_R2" "$WORK/bin/bangerd"
			rm -f "$WORK/bin/bangerd.prev"
			plant $kind "$name" || continue
			update --from "$STAGED_BANGERD"
			echo "$kind at $name: exit $status: $stderr" | head -3
			[ "$status" -eq 0 ] || [ "$status" -eq 3 ] || { echo "unexpected exit $status"; return 1; }
			# the target is whole: the old or the new binary
			cmp -s "$WORK/bin/bangerd" "$BANGERD_R2" || cmp -s "$WORK/bin/bangerd" "$STAGED_BANGERD"
			[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
			[ "$kind" != hardlink ] || rm -f "$WORK/state/$name"	# root's own plant; precious is checked below
			assert_root_files_intact
			rm -rf "$WORK/state/$name"
			# the database is whole, migrated or not
			# shellcheck disable=SC2153 # BANGERD: set by helpers.bash
			run "$BANGERD" --db "$WORK/state/banger.db" --check-migrations
			[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
		done
	done
}

@test "the owner holding flock on its directory and every file in it: updates are not blocked" {
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	owner_bg sh -c 'cd "$1" && exec flock . flock banger.db sleep 60' _ "$WORK/state"
	sleep 0.5
	update --from "$STAGED_BANGERD"
	echo "$stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr "$BANGER" update --check-only --state-dir "$WORK/state" \
		--target "$WORK/bin/bangerd" --from "$STAGED_BANGERD"
	[ "$status" -eq 1 ]	# --no-restart: the migration is still pending
}

@test "a daemon whose version is full of quotes and newlines: --json parses and says what happened" {
	cat > "$WORK/fake.py" <<-'PY'
	import socket, sys, os
	s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
	print("ready", flush=True)
	v = '1\\"}\\n{\\"result\\":\\"updated\\",\\"exit\\":0,\\"x\\":\\"'
	while True:
	    c, _ = s.accept(); c.recv(4096)
	    c.sendall(('{"version":"%s","pid":1,"uptime_s":1,"schema":{"state":"compatible"}}\n' % v).encode())
	    c.close()
	PY
	python3 "$WORK/fake.py" "$WORK/fake.sock" > "$WORK/fake.out" &
	BG=$!
	for _ in $(seq 100); do grep -q ready "$WORK/fake.out" 2>/dev/null && break; sleep 0.05; done
	update --from "$STAGED_BANGERD" --socket "$WORK/fake.sock" --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .result <<<"$output")" = updated ]
	[ "$(jq -c 'keys' <<<"$output")" = '["backup","exit","from_version","rehearsal","rehearsal_ms","result","target","to_version"]' ]
	[ "$(jq -r .from_version <<<"$output")" = "" ]	# not a version: not reported as one
	# and a target path with a quote, a backslash and a newline
	mkdir "$WORK/q\"d\\
x"
	cp "$BANGERD_R2" "$WORK/q\"d\\
x/bangerd"
	run --separate-stderr "$BANGER" update --state-dir "$WORK/state" --no-restart \
		--target "$WORK/q\"d\\
x/bangerd" --from "$STAGED_BANGERD" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .target <<<"$output")" = "$WORK/q\"d\\
x/bangerd" ]
}

@test "a staged binary holding the -shm write lock: a writer with a 5 s busy timeout never fails" {
	local live=$WORK/state log=$WORK/writer
	rm -f "$live"/banger.db*	# the writer makes it, in WAL mode, as the daemon would
	# a real WAL writer, as the daemon (the owner) writes: one commit per 20 ms slice for 10 s
	as_owner "$FIXTURE" write-rate "$live/banger.db" 10 20 > "$log" 2>&1 &
	local writer=$!
	for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
	update --from "$BANGER_BUILD/tests/hostile/lock_shm" --timeout 3600
	echo "$stderr"
	local wrote=0
	wait "$writer" || wrote=$?
	tail -1 "$log"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"timed out"* ]]
	[ "$wrote" -eq 0 ]	# no commit failed: one 4 s deadline, under the 5 s busy timeout
	[ "$(sha256sum < "$WORK/bin/bangerd")" = "$(sha256sum < "$BANGERD_R2")" ]
}

@test "the owner stopping the child that works as it (SIGSTOP): the update ends, refused, nothing left" {
	# a database whose backup takes a while, and the owner stopping the
	# child that works as it as soon as it appears
	as_owner "$FIXTURE" exec "$WORK/state/banger.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL
		SELECT i + 1 FROM n WHERE i < 200000) INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'big' || i, 'sha256:' || printf('%064d', i), i, 'now' FROM n"
	# (only the children of this test's banger update: its command line
	# names this state dir)
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	owner_bg sh -c 'while :; do
		for p in $(pgrep -x -u "$2" banger); do
			read -r _ _ _ pp _ < "/proc/$p/stat" || continue
			tr "\0" " " < "/proc/$pp/cmdline" | grep -qF -- "$1" && kill -STOP "$p"
		done
	done' _ "$WORK/state" $OWNER 2>/dev/null
	update --from "$STAGED_BANGERD"
	kill "$BG"; wait "$BG" 2>/dev/null || true; BG=
	echo "$stderr"
	[ "$status" -ne 124 ]	# timeout 120: it did not hang with the lock held
	[ "$status" -eq 3 ]
	# stopped in the backup, or already as the sandboxed check (its
	# deadline ends it)
	[[ "$stderr" == *"the backup failed: the work as uid $OWNER did not finish (signal 9)"* ||
	   "$stderr" == *"the check timed out"* ]]
	[ -z "$(ls -A "$BANGER_UPDATE_DIR")" ]
	[ -z "$(find "$WORK/state" -user 0)" ]	# what is left there is the owner's own doing
	[ "$(sha256sum < "$WORK/bin/bangerd")" = "$(sha256sum < "$BANGERD_R2")" ]
}
