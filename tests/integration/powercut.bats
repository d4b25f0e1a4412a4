#!/usr/bin/env bats
# make check's short power-cut table (tests/faults/powercut ... short):
# a cut at every durability point of one good update and of one update
# whose new daemon migrates and crashes (the rollback and the database's
# restore), each judged after `banger update --recover`. `make powercut`
# runs the full table; tests/integration/crashfs.bats shows that crashfs
# does lose what was not fsynced.

load helpers

@test "a power cut at every durability point of an update and of a crash rollback: every one recovered" {
	[ "$(id -u)" = 0 ] || skip "crashfs mounts a FUSE file system and the database is another uid's: root only"
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	run "$BATS_TEST_DIRNAME/../faults/powercut" "$BANGER_BUILD" "${POWERCUT_SEED:-1}" short
	echo "$output"
	[ "$status" -eq 0 ]
	last=$(printf '%s\n' "$output" | tail -1)
	[[ "$last" =~ ^powercut:\ ([0-9]+)\ cuts,\ ([0-9]+)\ recovered,\ 0\ inconsistent$ ]]
	# every durability point of two updates: far more than a handful
	[ "${BASH_REMATCH[1]}" -ge 20 ] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	# banger staged through O_TMPFILE, as on ext4 (it refuses a file system without it)
	[[ "$output" == *"update: the staged copy was made with O_TMPFILE"* ]]
}
