#!/usr/bin/env bats
# The units as systemd's own tools judge them. (Starting them needs a
# system whose PID 1 is systemd; this machine's is not.)

load helpers

setup() {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	DEST=$(mktemp -d)
	local sanitize=
	[[ "$BANGER_BUILD" == */sanitize ]] && sanitize=1
	# Installed with PREFIX inside DEST, so that ExecStart= names a real file
	# (a PREFIX of its own puts the user unit under PREFIX/share/systemd/user).
	make -s -C "$REPO" BUILD_DIR="$BANGER_BUILD" SANITIZE=$sanitize install DESTDIR= PREFIX="$DEST/usr" >/dev/null
}

teardown() { rm -rf "$DEST"; }

@test "systemd-analyze verify: both units clean (man pages found, binary executable)" {
	for unit in "$DEST/usr/lib/systemd/system/bangerd.service" "$DEST/usr/share/systemd/user/bangerd.service"; do
		run env MANPATH="$DEST/usr/share/man" systemd-analyze verify "$unit"
		[ "$status" -eq 0 ] || { echo "$unit: $output"; false; }
		[ -z "$output" ] || { echo "$unit: $output"; false; }
	done
}

@test "systemd-analyze security: the system unit's exposure is at most 2.0" {
	run systemd-analyze security --offline=true "$DEST/usr/lib/systemd/system/bangerd.service"
	level=$(sed -n 's/.*Overall exposure level for bangerd.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "exposure: $level"
	[ -n "$level" ]
	awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'
}
