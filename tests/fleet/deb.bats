#!/usr/bin/env bats
# The package path of the fleet rollout (-e banger_deb=PATH): a fleet
# installed from the older release's .deb (0.0.2, knows migrations 1 2) is
# upgraded through Ansible's apt module to this tree's package (1 2 3), and
# the downgrade back to 0.0.2 is refused in pre-flight with nothing
# installed anywhere. make check builds both packages, as root.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	# shellcheck disable=SC2010,SC2012 # our own build's package names: no blanks nor newlines
	DEB_A=$(ls "$BANGER_BUILD"/banger_*.deb 2>/dev/null | grep -v dbgsym | head -1)
	# shellcheck disable=SC2012 # our own build's package names: no blanks nor newlines
	DEB_B=$(ls "$BANGER_BUILD"/deb-0.0.2/banger_0.0.2_*.deb 2>/dev/null | head -1)
	# shellcheck disable=SC2015 # skip when either is missing, as meant
	[ -n "$DEB_A" ] && [ -n "$DEB_B" ] ||
		skip "the packages are not built (make check builds them, as root)"
	fleet_setup install_deb_b
	A=$(dpkg-deb -f "$DEB_A" Version)
}

teardown() { fleet_teardown; }

# Host K from the old package, as an operator installs it, with rows.
install_deb_b() {
	local k=$1
	# This machine's image forbids maintainer scripts to start services
	# (policy-rc.d); a host is a machine where they do. man-db's trigger
	# rebuilds its whole index after every dpkg run.
	on "$k" rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update
	on "$k" dpkg -i "$DEB_B" >/dev/null 2>&1
	wait_active "$k"
	on "$k" "$FIXTURE" seed "$SDB" 2
}

pkg_state() {
	local k=$1
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	on "$k" dpkg-query -W -f='${Status} ${Version}\n' banger
	host_state "$k" | sed 's|/usr/local/bin|/usr/bin|'
	on "$k" sha256sum /usr/bin/bangerd /usr/bin/banger
}

@test "a fleet on the old package: --check changes nothing; upgraded through apt, batch by batch; again: changed=0; the downgrade refused in pre-flight, nothing installed" {
	for ((k = 1; k <= N; k++)); do
		ROWS[k]=$(on "$k" "$FIXTURE" list "$SDB")
		BEFORE[k]=$(pkg_state "$k")
	done
	# first a dry run: every host's verdict, and nothing installed anywhere
	rollout --check -e banger_deb="$DEB_A"
	echo "$output" | tail -30
	[ "$status" -eq 0 ]
	[ "$(grep -c 'check mode: would update 0.0.2 to the release' <<< "$output")" -eq "$N" ]
	for ((k = 1; k <= N; k++)); do
		grep -E "\"fleet$k +migrations_needed +pending 3" <<< "$output"
		[ "$(pkg_state "$k")" = "${BEFORE[$k]}" ]
	done

	rollout -e banger_deb="$DEB_A"
	echo "$output" | tail -30
	[ "$status" -eq 0 ]
	[ "$(grep -c '^PLAY \[Update in batches' <<< "$output")" -eq 3 ]
	for ((k = 1; k <= N; k++)); do
		# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
		[ "$(on "$k" dpkg-query -W -f='${Status} ${Version}' banger)" = "install ok installed $A" ]
		[ "$(status_of "$k" .version)" = "$A" ]
		[ "$(status_of "$k" .schema.state)" = compatible ]
		[ "$(on "$k" "$FIXTURE" list "$SDB")" = "${ROWS[$k]}" ]
		[ "$(summary_of "fleet$k" result)" = updated ]
		[ "$(summary_of "fleet$k" before)" = 0.0.2 ]
		[ "$(summary_of "fleet$k" after)" = "$A" ]
		[ "$(summary_of "fleet$k" exit)" = 0 ]
		on "$k" test ! -e /var/lib/banger-rollout
	done

	rollout -e banger_deb="$DEB_A"
	[ "$status" -eq 0 ]
	recap=$(sed -n '/^PLAY RECAP/,$p' <<< "$output" | grep -E '^fleet')
	echo "$recap"
	[ "$(grep -c 'changed=0 ' <<< "$recap")" -eq "$N" ]
	[ "$(jq -r '[.[].result] | unique | join(" ")' "$SUMMARY")" = unchanged ]

	for ((k = 1; k <= N; k++)); do BEFORE[k]=$(pkg_state "$k"); done
	rollout -e banger_deb="$DEB_B"
	echo "$output" | tail -30
	[ "$status" -ne 0 ]
	grep -E '"fleet1 +incompatible +the database has applied 3, which banger 0.0.2 does not know' <<< "$output"
	! grep -q '^PLAY \[Update in batches' <<< "$output" || false
	for ((k = 1; k <= N; k++)); do
		[ "$(pkg_state "$k")" = "${BEFORE[$k]}" ]
		[ "$(summary_of "fleet$k" result)" = refused ]
		[ "$(summary_of "fleet$k" exit)" = 2 ]
	done
}
