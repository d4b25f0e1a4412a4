#!/usr/bin/env bats
# The Debian package, installed for real with dpkg on this machine and
# purged again. (make check builds it first with make deb, as root.)

load helpers
bats_require_minimum_version 1.5.0

setup() {
	[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
	DEB=$(ls "$BANGER_BUILD"/banger_*.deb 2>/dev/null | head -1)
	[ -n "$DEB" ] || skip "no package built (make deb)"
	if dpkg -s banger >/dev/null 2>&1; then
		skip "a banger package is already installed here; not touching it"
	fi
	common_setup
}

teardown() {
	dpkg --purge banger >/dev/null 2>&1 || true
	common_teardown
}

@test "lintian: no error, no warning" {
	command -v lintian >/dev/null || skip "lintian not installed"
	run lintian --fail-on error,warning "$DEB"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "dpkg -i, bangerd --check-migrations --system, banger refuses the packaged binary, dpkg --purge leaves nothing" {
	dpkg -i "$DEB" >/dev/null
	[ -x /usr/bin/bangerd ]
	[ -f /usr/share/man/man8/bangerd.8.gz ]
	[ -f /usr/lib/systemd/system/bangerd.service ]
	files=$(dpkg -L banger)
	run /usr/bin/bangerd --check-migrations --system
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [1 2 3] (binary will apply on first Open)" ]
	[ ! -e /var/lib/banger ]	# the check created nothing
	# an update of the packaged binary is apt's job
	before=$(sha256sum < /usr/bin/bangerd)
	run --separate-stderr /usr/bin/banger update --from "$STAGED_BANGERD" --state-dir "$WORK" --no-restart
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"belongs to the Debian package banger: update it with apt"* ]]
	[ "$(sha256sum < /usr/bin/bangerd)" = "$before" ]
	dpkg --verify banger	# every packaged file as dpkg installed it
	dpkg --purge banger >/dev/null
	for f in $files; do
		[ -d "$f" ] && continue
		[ ! -e "$f" ] || { echo "left behind: $f"; false; }
	done
	[ ! -e /usr/share/banger ]
	[ ! -e /var/lib/banger ]
	[ -z "$(ls /etc/systemd/system/*/bangerd.service 2>/dev/null)" ]
}
