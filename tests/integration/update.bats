#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each @test runs in a subshell of its own: what one sets is meant for it alone
# banger update end to end: a real old bangerd (release 0.0.2) serving a
# real database on a real socket, replaced by this tree's bangerd through a
# --restart-cmd that stops the running daemon and starts the target again.

load helpers
bats_require_minimum_version 1.5.0

HOOKS=$BANGER_BUILD/hooks

setup() {
	common_setup
	INST=$WORK/inst
	STATE=$WORK/state
	mkdir -p "$INST/bin" "$STATE"
	cp "$BANGERD_R2" "$INST/bin/bangerd"
	cp "$HOOKS/banger" "$INST/bin/banger"	# can pause before a step (test hook)
	DB=$STATE/banger.db
	SOCK=$STATE/bangerd.sock
	write_restart_script
	export XDG_RUNTIME_DIR=	# the socket lives in the state dir
	"$WORK/restart.sh"
	wait_for_daemon
	"$FIXTURE" seed "$DB" 2
	DATA=$("$FIXTURE" list "$DB")
	DUMP=$("$FIXTURE" dump "$DB")	# every row of every table, applied_at included
	OLD_SHA=$(sha256sum < "$INST/bin/bangerd")
}

teardown() {
	[ -f "$WORK/daemon.pid" ] && kill -9 "$(cat "$WORK/daemon.pid")" 2>/dev/null
	[ -n "${PAUSED:-}" ] && kill -9 "$PAUSED" 2>/dev/null
	common_teardown
}

wait_for_daemon() {
	for _ in $(seq 100); do
		"$INST/bin/banger" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

status_field() { "$INST/bin/banger" status --socket "$SOCK" --json | jq -r "$1"; }

update() {
	run --separate-stderr "$INST/bin/banger" update --state-dir "$STATE" --restart-cmd "$WORK/restart.sh" \
		--timeout 10 "$@"
}

# Everything but the daemon's log.
install_state() { dir_state "$WORK" | grep -v 'daemon.log'; }

@test "migrations needed: swapped, migrated, data kept, backup made, new daemon healthy" {
	update --from "$STAGED_BANGERD"
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "updated: 0.0.2 -> $("$BANGERD" --version)" ]
	[ "$(status_field .version)" = "$("$BANGERD" --version)" ]
	[ "$(status_field .schema.state)" = compatible ]
	[ "$("$FIXTURE" list "$DB")" = "$DATA" ]
	[ -f "$DB.pre-update" ]
	[ "$(sha256sum < "$INST/bin/bangerd.prev")" = "$OLD_SHA" ]
	[ "$(stat -c %a "$INST/bin/bangerd")" = 755 ]
	[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
	[[ "$stderr" == *"stage:"*"verify:"*"check (sandboxed):"*"backup:"*"swap:"*"restart:"*"health:"*"done:"* ]]
	[[ "$stderr" != *$'\r'* ]]	# the live elapsed-time line is for a terminal only
}

@test "compatible: swapped and restarted, no backup kept" {
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 0 ]
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 0 ]
	[ ! -e "$DB.pre-update" ]
	[ "$(status_field .schema.state)" = compatible ]
}

@test "incompatible: exit 2, target, database and old daemon untouched" {
	"$FIXTURE" exec "$DB" "INSERT INTO schema_migrations VALUES (99, 'future', 'x')"
	pid=$(status_field .pid)
	before=$(install_state)
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"incompatible: unknown applied [99]"* ]]
	[ "$(install_state)" = "$before" ]
	[ "$(status_field .pid)" = "$pid" ]
}

@test "wrong checksum, bad signature, not an ELF: exit 4, nothing changed" {
	before=$(install_state)
	update --from "$STAGED_BANGERD" --sha256 "$(printf '%064d' 0)"
	[ "$status" -eq 4 ]
	printf 'not an executable' > "$WORK/junk"
	update --from "$WORK/junk"
	[ "$status" -eq 4 ]
	cp "$STAGED_BANGERD" "$WORK/junk"
	printf '\xb7\x00' | dd of="$WORK/junk" bs=1 seek=18 conv=notrunc status=none	# aarch64
	update --from "$WORK/junk"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"another machine"* ]]
	if command -v minisign >/dev/null; then
		minisign -G -W -p "$WORK/pub" -s "$WORK/sec" >/dev/null
		minisign -G -W -p "$WORK/other.pub" -s "$WORK/other.sec" >/dev/null
		cp "$STAGED_BANGERD" "$WORK/new"
		minisign -S -s "$WORK/other.sec" -m "$WORK/new" -x "$WORK/new.minisig" >/dev/null
		update --from "$WORK/new" --minisig "$WORK/new.minisig" --pubkey "$WORK/pub"
		[ "$status" -eq 4 ]
		rm -f "$WORK"/pub "$WORK"/sec "$WORK"/other.* "$WORK"/new "$WORK"/new.minisig
	fi
	rm -f "$WORK/junk"
	[ "$(install_state)" = "$before" ]
}

@test "a new daemon that migrates and crashes: exit 5, binary and data restored, old daemon serves" {
	BANGER_TEST_CRASH_AFTER_OPEN=1 update --from "$HOOKS/bangerd" --timeout 3
	echo "$stderr"
	[ "$status" -eq 5 ]
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
	wait_for_daemon
	[ "$(status_field .version)" = 0.0.2 ]
	[ "$(status_field '.schema.applied | map(tostring) | join(" ")')" = "1 2" ]
	[ "$("$FIXTURE" dump "$DB")" = "$DUMP" ]
	[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
}

# systemd's DynamicUser: the database and its state dir belong to a uid of
# their own, and root's update must leave nothing there that is root's.
@test "a database owned by another user: the backup and restored database stay that user's, the journal is root's and elsewhere" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to own files as another user"
	chown -R 65534:65534 "$STATE"
	BANGER_TEST_PAUSE_AT=swap "$INST/bin/banger" update --state-dir "$STATE" \
		--restart-cmd "$WORK/restart.sh" --from "$STAGED_BANGERD" 2>"$WORK/first.err" &
	PAUSED=$!
	for _ in $(seq 200); do grep -q paused "$WORK/first.err" && break; sleep 0.05; done
	cat "$WORK/first.err"
	[ -f "$BANGER_UPDATE_DIR/update.journal" ] && [ -f "$DB.pre-update" ]
	[ "$(stat -c '%U %a' "$BANGER_UPDATE_DIR/update.journal")" = "root 600" ]
	[ -z "$(find "$STATE" ! -user 65534 -o ! -group 65534)" ]
	kill -9 "$PAUSED"; wait "$PAUSED" 2>/dev/null || true; PAUSED=
	rm -f "$WORK/first.err"
	# a crash rollback restores the database as root
	BANGER_TEST_CRASH_AFTER_OPEN=1 update --from "$HOOKS/bangerd" --timeout 3
	echo "$stderr"
	[ "$status" -eq 5 ]
	[ "$("$FIXTURE" dump "$DB")" = "$DUMP" ]
	# (the socket is the daemon's own, not the updater's: restart.sh runs
	# the restored daemon as root here, where systemd would run it as the
	# dynamic user)
	found=$(find "$STATE" ! -name bangerd.sock \( ! -user 65534 -o ! -group 65534 \))
	[ -z "$found" ] || { echo "not the owner's: $found"; ls -la "$STATE"; false; }
}

@test "a rollback that cannot complete: exit 6 and the message says what to do" {
	run --separate-stderr "$INST/bin/banger" update --state-dir "$STATE" --restart-cmd false \
		--timeout 3 --from "$STAGED_BANGERD"
	[ "$status" -eq 6 ]
	[[ "$stderr" == *"rollback failed"*"start bangerd by hand"* ]]
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
}

@test "two updates at once: the second exits 75 and changes nothing" {
	BANGER_TEST_PAUSE_AT=swap "$INST/bin/banger" update --state-dir "$STATE" \
		--restart-cmd "$WORK/restart.sh" --from "$STAGED_BANGERD" 2>"$WORK/first.err" &
	PAUSED=$!
	for _ in $(seq 200); do grep -q paused "$WORK/first.err" && break; sleep 0.05; done
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 75 ]
	[[ "$stderr" == *"another update is running (it holds $BANGER_UPDATE_DIR)"* ]]
	# a check-only run would answer about a state that is about to change
	run --separate-stderr "$INST/bin/banger" update --check-only --state-dir "$STATE" --from "$STAGED_BANGERD"
	[ "$status" -eq 75 ]
	[ -z "$output" ]
	kill -9 "$PAUSED"; wait "$PAUSED" 2>/dev/null || true; PAUSED=
	rm -f "$WORK/first.err"
	run "$INST/bin/banger" update --recover --state-dir "$STATE"
	[ "$status" -eq 0 ]
}

# kill -9 of banger update before STEP, then --recover: the target is a
# working executable throughout, and recovery leaves the old binary, its
# database and a healthy old daemon.
kill_at() {
	BANGER_TEST_PAUSE_AT=$1 "$INST/bin/banger" update --state-dir "$STATE" \
		--restart-cmd "$WORK/restart.sh" --timeout 10 --from "$STAGED_BANGERD" 2>"$WORK/killed.err" &
	PAUSED=$!
	for _ in $(seq 200); do grep -q paused "$WORK/killed.err" && break; sleep 0.05; done
	grep -q paused "$WORK/killed.err"
	kill -9 "$PAUSED"; wait "$PAUSED" 2>/dev/null || true; PAUSED=
	rm -f "$WORK/killed.err"
	"$INST/bin/bangerd" --version	# a complete executable at this instant
	running=$(cat "$WORK/daemon.pid")
	if [ "$1" = backup ]; then
		: > "$DB.pre-update.tmp"	# what a kill in the middle of the backup leaves
	fi
	run --separate-stderr "$INST/bin/banger" update --recover --state-dir "$STATE"
	echo "$stderr"
	[ "$status" -eq 0 ]
	if [ "$1" = restart ] || [ "$1" = health ]; then
		# the swapped-out binary's daemon (old before the restart, new
		# after it) is stopped before the database is put back under it
		[[ "$stderr" == *"rollback: stopping pid $running, still running the replaced"*"rollback: the database is back"* ]]
	fi
	[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
	[ ! -e "$INST/bin/bangerd.new" ]
	[ ! -e "$DB.pre-update.tmp" ]
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
	wait_for_daemon
	[ "$(status_field .version)" = 0.0.2 ]
	[ "$("$FIXTURE" dump "$DB")" = "$DUMP" ]
}

@test "kill -9 before the backup, then --recover" { kill_at backup; }
@test "kill -9 before the swap, then --recover" { kill_at swap; }
@test "kill -9 after the swap, before the restart, then --recover" { kill_at restart; }
@test "kill -9 after the restart, before the health check, then --recover" { kill_at health; }

@test "a later update finishes the recovery first, then updates" {
	BANGER_TEST_PAUSE_AT=restart "$INST/bin/banger" update --state-dir "$STATE" \
		--restart-cmd "$WORK/restart.sh" --from "$STAGED_BANGERD" 2>"$WORK/killed.err" &
	PAUSED=$!
	for _ in $(seq 200); do grep -q paused "$WORK/killed.err" && break; sleep 0.05; done
	kill -9 "$PAUSED"; wait "$PAUSED" 2>/dev/null || true; PAUSED=
	rm -f "$WORK/killed.err"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"recover:"*"done:"* ]]
	[ "$(status_field .version)" = "$("$BANGERD" --version)" ]
	[ "$("$FIXTURE" list "$DB")" = "$DATA" ]
}

@test "a staging directory that fills up: a clear error, nothing left behind" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a small tmpfs"
	size=$(( $(stat -c %s "$INST/bin/bangerd") + $(stat -c %s "$INST/bin/banger") + 65536 ))
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run --separate-stderr unshare --mount --propagation private sh -c '
		cp -a "$1" "$1.orig" && mount -t tmpfs -o size=$2 tmpfs "$1" && cp -a "$1.orig/." "$1/" &&
		"$1/banger" update --state-dir "$3" --no-restart --from "$4"; rc=$?
		ls -A "$1"; exit $rc' _ "$INST/bin" "$size" "$STATE" "$BANGERD"
	rm -rf "$INST/bin.orig"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"No space left on device"* ]]
	[ "$output" = "$(printf 'banger\nbangerd')" ]
}

# The daemon is stopped (a cleanly closed WAL database), and in a private
# mount namespace the state dir is a copy on a tmpfs with room for the
# journal but not for the backup.
backup_on_full_disk() {
	pid=$(cat "$WORK/daemon.pid"); rm -f "$WORK/daemon.pid"
	kill "$pid"
	# gone, or a zombie that this machine's init has yet to reap
	while [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.02; done
	"$FIXTURE" exec "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
		INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'big' || i, 'sha256:' || printf('%064d', i), i, 'now' FROM n"
	DUMP=$("$FIXTURE" dump "$DB")
	BEFORE=$(cd "$STATE" && ls -A)
	DB_SHA=$(sha256sum < "$DB")
	size=$(( $(du -sb --apparent-size "$STATE" | cut -f1) + 65536 ))
	[ "$(stat -c %s "$DB")" -gt 131072 ]	# the backup cannot fit
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run --separate-stderr unshare --mount --propagation private sh -c '
		cp -a "$1" "$1.orig" && mount -t tmpfs -o size=$2 tmpfs "$1" && cp -a "$1.orig/." "$1/" &&
		"$3" update --state-dir "$1" --no-restart --from "$4"; rc=$?
		cp -a "$1/." "$1.after/" 2>/dev/null || { mkdir "$1.after" && cp -a "$1/." "$1.after/"; }
		exit $rc' _ "$STATE" "$size" "$INST/bin/banger" "$STAGED_BANGERD"
	rm -rf "$STATE.orig"
}

@test "a state dir that fills up during the backup: a clear error, nothing changed or left" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a small tmpfs"
	backup_on_full_disk
	echo "$stderr"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"the backup failed"*"full"* ]]
	[ "$(cd "$STATE.after" && ls -A)" = "$BEFORE" ]
	[ "$(sha256sum < "$STATE.after/banger.db")" = "$DB_SHA" ]
	[ "$("$FIXTURE" dump "$STATE.after/banger.db")" = "$DUMP" ]
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
	[ ! -e "$INST/bin/bangerd.new" ]
}

# An update whose writes to PREFIX fail with EIO after AFTER bytes
# (tests/tools/eio.c, preloaded into the test-hook banger).
update_with_eio() {
	local prefix=$1 after=$2
	shift 2
	PID_BEFORE=$(status_field .pid)
	BEFORE=$(cd "$STATE" && ls -A)
	BIN_BEFORE=$(cd "$INST/bin" && ls -A)
	LD_PRELOAD=$BANGER_BUILD/tests/libeio.so BANGER_EIO_PATH=$prefix BANGER_EIO_AFTER=$after \
		update --from "$STAGED_BANGERD" "$@"
	echo "$stderr"
}

# Nothing changed: the old binary and daemon serve every row.
assert_untouched() {
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
	[ "$(cd "$INST/bin" && ls -A)" = "$BIN_BEFORE" ]
	[ "$(status_field .pid)" = "$PID_BEFORE" ]
	[ "$(status_field .version)" = 0.0.2 ]
	[ "$("$FIXTURE" dump "$DB")" = "$DUMP" ]
	[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
}

@test "EIO while staging: exit 4, a clear error, nothing changed or left" {
	update_with_eio "$INST/bin/" 65536
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"eio: write $INST/bin/#"*"(injected)"* ]]
	[[ "$stderr" == *"cannot stage in $INST/bin: Input/output error"* ]]
	assert_untouched
	[ "$(cd "$STATE" && ls -A)" = "$BEFORE" ]
}

@test "EIO while syncing the staged copy: exit 4, nothing changed or left" {
	BANGER_EIO_OPS=sync update_with_eio "$INST/bin/" 0
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"eio: fsync $INST/bin/#"*"(injected)"* ]]
	[[ "$stderr" == *"cannot stage in $INST/bin: Input/output error"* ]]
	assert_untouched
}

# A file system without O_TMPFILE (tests/tools/notmpfile.c): SWAP could
# not link any other staged copy in, so STAGE refuses it, before anything
# changed.
@test "a file system without O_TMPFILE: refused at STAGE with one line, exit 4, nothing changed or left" {
	PID_BEFORE=$(status_field .pid)
	BEFORE=$(cd "$STATE" && ls -A)
	BIN_BEFORE=$(cd "$INST/bin" && ls -A)
	LD_PRELOAD=$BANGER_BUILD/tests/libnotmpfile.so update --from "$STAGED_BANGERD"
	echo "$stderr"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"notmpfile: $INST/bin: EOPNOTSUPP (injected)"* ]]
	[ "$(grep -c "cannot stage in $INST/bin: its file system has no O_TMPFILE, which the update needs (ext4, xfs, btrfs and tmpfs have it)" <<<"$stderr")" = 1 ]
	assert_untouched
	[ "$(cd "$STATE" && ls -A)" = "$BEFORE" ]
}

@test "EIO while backing up: exit 3, a clear error, nothing changed or left" {
	update_with_eio "$STATE/banger.db.pre-update" 8192
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"eio: "*"$STATE/banger.db.pre-update.tmp: EIO (injected)"* ]]
	[[ "$stderr" == *"the backup failed: $STATE/banger.db.pre-update.tmp: "*"disk I/O error"* ]]
	assert_untouched
	[ "$(cd "$STATE" && ls -A)" = "$BEFORE" ]
}

@test "EIO while syncing the backup: exit 3, nothing changed or left" {
	BANGER_EIO_OPS=sync update_with_eio "$STATE/banger.db.pre-update" 0
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"eio: fsync $STATE/banger.db.pre-update.tmp: EIO (injected)"* ]]
	[[ "$stderr" == *"the backup failed: $STATE/banger.db.pre-update.tmp: Input/output error"* ]]
	assert_untouched
	[ "$(cd "$STATE" && ls -A)" = "$BEFORE" ]
}

@test "EIO while writing the journal: exit 3 before anything changes" {
	update_with_eio "$BANGER_UPDATE_DIR/update.journal" 0
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"eio: "*"update.journal"*"(injected)"* ]]
	[[ "$stderr" == *"update refused"*"Input/output error"* ]]
	assert_untouched
}

@test "EIO under the database after the swap: the new daemon fails, the restore fails, exit 6; --recover finishes" {
	# Every write to the database's -wal fails, in the new daemon (the
	# restart command passes the environment on) and in the rollback.
	update_with_eio "$DB-wal" 0 --timeout 3
	[ "$status" -eq 6 ]
	[[ "$stderr" == *"rollback: the old binary is back"* ]]
	[[ "$stderr" == *"rollback failed: "*"disk I/O error"*"run 'banger update --recover'"*"delete $DB-wal and $DB-shm, copy $DB.pre-update over $DB"* ]]
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
	[ -e "$BANGER_UPDATE_DIR/update.journal" ]	# what --recover needs
	run --separate-stderr "$INST/bin/banger" update --recover --state-dir "$STATE"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
	wait_for_daemon
	[ "$(status_field .version)" = 0.0.2 ]
	[ "$("$FIXTURE" dump "$DB")" = "$DUMP" ]
}

@test "--json prints one result object" {
	update --from "$STAGED_BANGERD" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .result <<<"$output")" = updated ]
	[ "$(jq -r .from_version <<<"$output")" = 0.0.2 ]
	[ "$(jq -r .backup <<<"$output")" = "$DB.pre-update" ]
	update --from "$BANGERD_R2" --json
	[ "$status" -eq 2 ]
	[ "$(jq -r .result <<<"$output")" = incompatible ]
}

@test "a target that a Debian package owns is refused: use apt" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount"
	command -v dpkg-query >/dev/null || skip "no dpkg"
	# shellcheck disable=SC2034 # only whether dpkg lists the file matters
	owned=$(dpkg-query -L jq | grep '^/usr/share/doc/jq/copyright$') || skip "jq's copyright file not listed"
	# In a private mount namespace, jq's doc directory is a scratch copy
	# holding our old bangerd under that name: a broken refusal could only
	# ever replace the scratch file.
	mkdir "$WORK/fakedoc"
	cp "$INST/bin/bangerd" "$WORK/fakedoc/copyright"
	sum=$(sha256sum < "$WORK/fakedoc/copyright")
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run --separate-stderr unshare --mount --propagation private sh -c '
		mount --bind "$1" /usr/share/doc/jq &&
		exec "$2" update --state-dir "$3" --no-restart --target /usr/share/doc/jq/copyright --from "$4"' \
		_ "$WORK/fakedoc" "$INST/bin/banger" "$STATE" "$STAGED_BANGERD"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"belongs to the Debian package jq: update it with apt"* ]]
	[ "$(sha256sum < "$WORK/fakedoc/copyright")" = "$sum" ]
	# shellcheck disable=SC2010,SC2143 # names we made; a bare ! would not fail a bats test
	[ -z "$(ls -A "$WORK/fakedoc" | grep -v copyright)" ]
}

# Issue 27: what a kill inside the first journal write leaves (only
# update.journal.tmp, no journal yet) is removed by --recover and by the
# next update.
@test "a half-written first journal: --recover and the next update remove update.journal.tmp" {
	printf 'step=chec' > "$BANGER_UPDATE_DIR/update.journal.tmp"
	run --separate-stderr "$INST/bin/banger" update --recover --state-dir "$STATE"
	[ "$status" -eq 0 ]
	[ ! -e "$BANGER_UPDATE_DIR/update.journal.tmp" ]
	printf 'step=chec' > "$BANGER_UPDATE_DIR/update.journal.tmp"
	update --from "$STAGED_BANGERD"
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$BANGER_UPDATE_DIR")" ]
}

# Issue 27: killed between link(TARGET, TARGET.prev) and the rename over
# TARGET, both names are the old binary; rename(2) of one over the other
# does nothing, so the rollback removes .prev itself.
@test "a rollback that finds .prev and the target to be one file removes .prev" {
	ln "$INST/bin/bangerd" "$INST/bin/bangerd.prev"
	printf 'step=swapping\ntarget=%s\ndb=%s\nbackup=\nsocket=%s\nrestart=cmd:%s\nnew_version=0.1.0\nold_version=0.0.2\ntimeout_s=10\n' \
		"$INST/bin/bangerd" "$DB" "$SOCK" "$WORK/restart.sh" > "$BANGER_UPDATE_DIR/update.journal"
	chmod 600 "$BANGER_UPDATE_DIR/update.journal"
	run --separate-stderr "$INST/bin/banger" update --recover --state-dir "$STATE"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ ! -e "$INST/bin/bangerd.prev" ]
	[ "$(sha256sum < "$INST/bin/bangerd")" = "$OLD_SHA" ]
	[ ! -e "$BANGER_UPDATE_DIR/update.journal" ]
	wait_for_daemon
	[ "$(status_field .version)" = 0.0.2 ]
}
