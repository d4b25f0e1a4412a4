#!/usr/bin/env bats
# crashfs (tests/tools/crashfs.c), the power-cut file system of `make
# powercut`: its positive controls. A crash tool that cannot show a loss
# proves nothing, so each loss below is made on purpose and must be seen,
# and its twin, with the fsync that was missing, must keep everything.

load helpers
bats_require_minimum_version 1.5.0

CRASHFS=$BANGER_BUILD/tests/crashfs

setup() {
	[ "$(id -u)" = 0 ] || skip "crashfs mounts a FUSE file system: root only"
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	common_setup
	mkdir -p "$WORK/back" "$WORK/mnt"
	M=$WORK/mnt
}

teardown() {
	[ -n "${CF_PID:-}" ] && kill "$CF_PID" 2>/dev/null
	umount "$WORK/mnt" 2>/dev/null || umount -l "$WORK/mnt" 2>/dev/null || true
	[ -n "${CF_PID:-}" ] && wait "$CF_PID" 2>/dev/null
	common_teardown
}

mount_cf() {	# extra crashfs options
	"$CRASHFS" --foreground --store "$WORK/store" --out "$WORK/cut" --log "$WORK/log" "$@" \
		"$WORK/back" "$M" 2>"$WORK/crashfs.err" &
	CF_PID=$!
	for _ in $(seq 100); do mountpoint -q "$M" && return 0; sleep 0.05; done
	cat "$WORK/crashfs.err" >&2
	return 1
}

cut() {	# power off: SIGUSR1, then wait for the durable view
	kill -USR1 "$CF_PID"
	for _ in $(seq 200); do [ -d "$WORK/cut" ] && break; sleep 0.05; done
	[ -d "$WORK/cut" ]
	umount "$M"
	wait "$CF_PID"
	CF_PID=
}

@test "crashfs --help documents the cut, the counting mode and the rules" {
	run "$CRASHFS" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *SIGUSR1* ]] && [[ "$output" == *--cut-at* ]] && [[ "$output" == *--log* ]]
	[[ "$output" == *"durable at the directory's"* ]]
}

@test "write a new file, rename it over the old one, no fsync of the file: the cut loses the new content" {
	echo old > "$WORK/back/f"
	mount_cf
	echo new > "$M/f.tmp"
	mv "$M/f.tmp" "$M/f"
	sync "$M"	# the directory: the rename is durable, the data is not
	[ "$(cat "$M/f")" = new ]	# the live view had it
	cut
	[ -e "$WORK/cut/f" ]
	[ "$(cat "$WORK/cut/f")" != new ]
	[ ! -s "$WORK/cut/f" ]	# the new inode's name, without its data
}

@test "control: the same with the file fsynced before the rename keeps the new content" {
	echo old > "$WORK/back/f"
	mount_cf
	echo new > "$M/f.tmp"
	sync "$M/f.tmp"
	mv "$M/f.tmp" "$M/f"
	sync "$M"
	cut
	[ "$(cat "$WORK/cut/f")" = new ]
	[ ! -e "$WORK/cut/f.tmp" ]
}

@test "a rename without the directory's fsync: the cut keeps the old name and the old content" {
	echo old > "$WORK/back/f"
	mount_cf
	echo new > "$M/f.tmp"
	sync "$M/f.tmp"
	mv "$M/f.tmp" "$M/f"
	cut
	[ "$(cat "$WORK/cut/f")" = old ]
	[ ! -e "$WORK/cut/f.tmp" ]
}

# link(2) of an O_TMPFILE by its /proc/self/fd name, as banger's swap
# does (python's os.link calls linkat with AT_SYMLINK_FOLLOW only when
# given a dir fd).
link_tmpfile() {	# DIRSYNC(yes|no)
	python3 - "$M" "$1" <<'PY'
import os, sys
d, dirsync = sys.argv[1], sys.argv[2] == "yes"
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o755)
os.write(fd, b"staged\n")
os.fsync(fd)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
os.link("/proc/self/fd/%d" % fd, "named", dst_dir_fd=dfd, follow_symlinks=True)
if dirsync:
    os.fsync(dfd)
PY
}

@test "link of an fsynced O_TMPFILE without the directory's fsync: the cut loses the name" {
	mount_cf
	link_tmpfile no
	[ "$(cat "$M/named")" = staged ]
	grep -q ' tmpfile ' "$WORK/log"	# the kernel's FUSE_TMPFILE reached crashfs
	cut
	[ ! -e "$WORK/cut/named" ]
}

@test "control: the same with the directory fsynced keeps the name and the data" {
	mount_cf
	link_tmpfile yes
	cut
	[ "$(cat "$WORK/cut/named")" = staged ]
	[ "$(stat -c %a "$WORK/cut/named")" = 755 ]
}

@test "a file created and fsynced, its directory not: the cut loses the name" {
	mount_cf
	echo data > "$M/g"
	sync "$M/g"
	cut
	[ ! -e "$WORK/cut/g" ]
}

@test "chmod and chown wait for the file's next fsync" {
	echo x > "$WORK/back/f"
	chmod 644 "$WORK/back/f"
	mount_cf
	chmod 600 "$M/f"
	chown 4242:4242 "$M/f"
	sync "$M"
	cut
	[ "$(stat -c '%a %u' "$WORK/cut/f")" = "644 0" ]
	rm -rf "$WORK/cut" "$WORK/store" "$WORK/log"
	mount_cf
	sync "$M/f"
	cut
	[ "$(stat -c '%a %u' "$WORK/cut/f")" = "600 4242" ]
}

sqlite_commit() {	# SYNCHRONOUS: a second row, committed in WAL mode
	sqlite3 "$M/db" "PRAGMA synchronous=$1; INSERT INTO t VALUES (2);" >/dev/null
}

seed_wal_db() {
	sqlite3 "$WORK/back/db" "PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);" >/dev/null
}

@test "SQLite with synchronous=OFF: the cut loses the last commit" {
	seed_wal_db
	mount_cf
	sqlite_commit OFF
	[ "$(sqlite3 "$M/db" 'SELECT count(*) FROM t')" = 2 ]
	cut
	[ "$(sqlite3 "$WORK/cut/db" 'PRAGMA integrity_check')" = ok ]
	[ "$(sqlite3 "$WORK/cut/db" 'SELECT count(*) FROM t')" = 1 ]
}

@test "control: SQLite with synchronous=FULL keeps the last commit" {
	seed_wal_db
	mount_cf
	sqlite_commit FULL
	[ "$(sqlite3 "$M/db" 'PRAGMA journal_mode')" = wal ]
	cut
	[ "$(sqlite3 "$WORK/cut/db" 'PRAGMA integrity_check')" = ok ]
	[ "$(sqlite3 "$WORK/cut/db" 'SELECT count(*) FROM t')" = 2 ]
}

@test "after a cut every operation fails with EIO; --cut-at cuts as operation N begins" {
	echo old > "$WORK/back/f"
	mount_cf --cut-at 3
	echo one > "$M/a"	# 1 create, 2 write
	run bash -c "echo two > '$M/b'"	# 3: the cut
	[ "$status" -ne 0 ]
	run cat "$M/f"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	for _ in $(seq 100); do [ -d "$WORK/cut" ] && break; sleep 0.05; done
	[ "$(cat "$WORK/cut/f")" = old ]
	[ ! -e "$WORK/cut/a" ]
	grep -qx '3 cut .*' "$WORK/log"
}

@test "--snapshots: one durable view per durability point, numbered as the log counts them" {
	echo old > "$WORK/back/f"
	mount_cf --snapshots "$WORK/snap"
	echo new > "$M/f.tmp"
	sync "$M/f.tmp"	# point 1
	mv "$M/f.tmp" "$M/f"
	sync "$M"	# point 2
	umount "$M"
	wait "$CF_PID"
	CF_PID=
	[ "$(grep -cE '^[0-9]+ (fsync|fdatasync|fsyncdir) ' "$WORK/log")" = 2 ]
	# shellcheck disable=SC2012 # crashfs names its snapshots 0, 1, 2...: numbers, nothing for ls to mangle
	[ "$(ls "$WORK/snap" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
	[ "$(cat "$WORK/snap/1/f")" = old ] && [ ! -e "$WORK/snap/1/f.tmp" ]
	[ "$(cat "$WORK/snap/2/f")" = new ]
}
