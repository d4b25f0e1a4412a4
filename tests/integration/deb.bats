#!/usr/bin/env bats
# The Debian packages as built (make check builds them first, as root: this
# tree's, and the older release 0.0.2 that knows migrations 1 2). Installing,
# upgrading and purging them is proved in a box under a real systemd
# (tests/system/deb.bats), never on this machine.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	DEBS=$(ls "$BANGER_BUILD"/banger_*.deb "$BANGER_BUILD"/deb-0.0.2/banger_*.deb 2>/dev/null || true)
	[ -n "$DEBS" ] || skip "no package built (make check builds them, as root)"
	common_setup
}

teardown() { common_teardown; }

@test "lintian: no error, no warning" {
	command -v lintian >/dev/null || skip "lintian not installed"
	for deb in $DEBS; do
		run lintian --fail-on error,warning "$deb"
		echo "$deb: $output"
		[ "$status" -eq 0 ]
	done
}

@test "the maintainer scripts pass sh -n and shellcheck" {
	command -v shellcheck >/dev/null || skip "shellcheck not installed"
	for deb in $DEBS; do
		rm -rf "$WORK/control"
		dpkg-deb -e "$deb" "$WORK/control"
		for script in preinst postinst prerm postrm; do
			[ -f "$WORK/control/$script" ] || { echo "$deb: no $script"; false; }
			sh -n "$WORK/control/$script" || { echo "$deb: $script"; false; }
			shellcheck -s sh "$WORK/control/$script" || { echo "$deb: $script"; false; }
		done
	done
}

@test "each package's preinst knows exactly its bangerd's migrations and its version" {
	for deb in $DEBS; do
		rm -rf "$WORK/control" "$WORK/root"
		dpkg-deb -e "$deb" "$WORK/control"
		dpkg-deb -x "$deb" "$WORK/root"
		ids=$("$WORK/root/usr/bin/bangerd" --list-migrations | cut -d' ' -f1 | paste -sd' ')
		version=$(dpkg-deb -f "$deb" Version)
		grep -qx "KNOWN=\"$ids\"" "$WORK/control/preinst" || { echo "$deb: not $ids"; false; }
		grep -qx "VERSION=\"$version\"" "$WORK/control/preinst" || { echo "$deb: not $version"; false; }
		[ "$("$WORK/root/usr/bin/bangerd" --version)" = "$version" ]
	done
}
