#!/usr/bin/env bats
# The fleet rollout (packaging/ansible, issue 14) with a real Ansible over
# real SSH against real systemd hosts: every host a box running the old
# release (0.0.2) under the shipped unit, with rows in its database.

load helpers
bats_require_minimum_version 1.5.0

setup() { fleet_setup; }
teardown() { fleet_teardown; }

# The version, schema, binary and every row of host K equal what we expect
# of a host that ended on the release.
on_release() {
	local k=$1
	[ "$(status_of "$k" .version)" = "$NEW_VERSION" ]
	[ "$(status_of "$k" .schema.state)" = compatible ]
	[ "$(host_sha "$k" /usr/local/bin/bangerd)" = "$(sha256sum < "$RELEASE" | cut -d' ' -f1)" ]
	[ "$(on "$k" "$FIXTURE" list "$SDB")" = "${ROWS[$k]}" ]
	on "$k" test ! -e /var/lib/banger-update/update.journal
	on "$k" test ! -e /var/lib/banger-rollout
}

remember() {
	local k
	for ((k = 1; k <= N; k++)); do
		# (list refuses a database newer than it: the state below has every row)
		ROWS[k]=$(on "$k" "$FIXTURE" list "$SDB" 2>/dev/null || echo "(newer schema)")
		BEFORE[k]=$(host_state "$k")
	done
}

@test "every host compatible: a canary, then batch by batch, each healthy on the release; a second run changes nothing" {
	remember
	rollout -e banger_release="$RELEASE"
	echo "$output" | tail -40
	[ "$status" -eq 0 ]
	# serial [1, 25 %, 100 %] of 3 hosts: three batches of one, in order
	[ "$(grep -c '^PLAY \[Update in batches' <<< "$output")" -eq 3 ]
	[ "$(grep -E '^(changed|ok|fatal).*Run banger update|^TASK \[banger : Run banger update' <<< "$output" |
		grep -c 'TASK')" -eq 3 ]
	[ "$(sed -n '/TASK \[banger : Run banger update/{n;p}' <<< "$output" | tr -d '\n')" = \
		"changed: [fleet1]changed: [fleet2]changed: [fleet3]" ]
	for ((k = 1; k <= N; k++)); do
		on_release "$k"
		[ "$(summary_of "fleet$k" result)" = updated ]
		[ "$(summary_of "fleet$k" exit)" = 0 ]
		[ "$(summary_of "fleet$k" before)" = 0.0.2 ]
		[ "$(summary_of "fleet$k" after)" = "$NEW_VERSION" ]
	done
	[ "$(jq length "$SUMMARY")" -eq "$N" ]
	[ "$(jq -c '[.[] | keys] | unique' "$SUMMARY")" = '[["after","before","exit","host","result","seconds"]]' ]

	rollout -e banger_release="$RELEASE"
	[ "$status" -eq 0 ]
	recap=$(sed -n '/^PLAY RECAP/,$p' <<< "$output" | grep -E '^fleet')
	echo "$recap"
	[ "$(grep -c 'changed=0 ' <<< "$recap")" -eq "$N" ]
	[ "$(jq -r '[.[].result] | unique | join(" ")' "$SUMMARY")" = unchanged ]
	for ((k = 1; k <= N; k++)); do on_release "$k"; done
}

@test "one host's database knows a migration the release does not: pre-flight stops the rollout, no host changes" {
	on 2 "$FIXTURE" exec "$SDB" "INSERT INTO schema_migrations VALUES (99, 'future', 'x')"
	remember
	rollout -e banger_release="$RELEASE"
	echo "$output" | tail -40
	[ "$status" -ne 0 ]
	grep -E '"fleet2 +incompatible +incompatible: unknown applied \[99\]' <<< "$output"
	grep -F 'pre-flight: fleet2 refused the release' <<< "$output"
	! grep -q '^PLAY \[Update in batches' <<< "$output" || false
	for ((k = 1; k <= N; k++)); do
		[ "$(host_state "$k")" = "${BEFORE[$k]}" ]
	done
	[ "$(summary_of fleet2 result)" = refused ]
	[ "$(summary_of fleet2 exit)" = 2 ]
	[ "$(summary_of fleet1 result)" = not_reached ]
	[ "$(summary_of fleet3 result)" = not_reached ]
}

@test "a release that migrates, then crashes: the canary rolls back (5), healthy on the old version with every row; the others untouched" {
	for ((k = 1; k <= N; k++)); do
		on "$k" mkdir -p /etc/systemd/system/bangerd.service.d
		printf '[Service]\nEnvironment=BANGER_TEST_CRASH_AFTER_OPEN=1\n' |
			on "$k" tee /etc/systemd/system/bangerd.service.d/crash.conf >/dev/null
		on "$k" systemctl daemon-reload
	done
	remember
	dump1=$(on 1 "$FIXTURE" dump "$SDB")
	old_sha=$(host_sha 1 /usr/local/bin/bangerd)
	rollout -e banger_release="$HOOKS/bangerd"
	echo "$output" | tail -40
	[ "$status" -ne 0 ]
	[ "$(grep -c '^PLAY \[Update in batches' <<< "$output")" -eq 1 ]
	grep -E 'fatal: \[fleet1\].*rolled_back \(exit 5\)' <<< "$output"
	[ "$(summary_of fleet1 result)" = rolled_back ]
	[ "$(summary_of fleet1 exit)" = 5 ]
	[ "$(summary_of fleet1 after)" = 0.0.2 ]
	wait_active 1
	[ "$(status_of 1 .version)" = 0.0.2 ]
	[ "$(host_sha 1 /usr/local/bin/bangerd)" = "$old_sha" ]
	[ "$(on 1 "$FIXTURE" dump "$SDB")" = "$dump1" ]
	for ((k = 2; k <= N; k++)); do
		[ "$(host_state "$k")" = "${BEFORE[$k]}" ]
		[ "$(summary_of "fleet$k" result)" = not_reached ]
	done
}

@test "one host busy with another update (its update directory locked): retried, then updated" {
	remember
	rollout_bg -e banger_release="$RELEASE" -e banger_lock_delay=1
	# Host 3's update directory is locked (as banger update locks it: root's
	# /var/lib/banger-update, not the state dir) from the moment the canary
	# swaps until host 3's own update has met the lock.
	wait_swapped 1
	on 3 install -d -m 0700 /var/lib/banger-update
	on 3 sh -c 'flock /var/lib/banger-update sh -c "until [ -e /run/unlock ]; do sleep 0.1; done" \
		</dev/null >/dev/null 2>&1 &'
	for _ in $(seq 100); do on 3 flock -n -s /var/lib/banger-update true || break; sleep 0.05; done
	for _ in $(seq 1200); do
		grep -q 'RETRYING: \[fleet3\]: Run banger update' "$FLEETD/play.log" && break
		sleep 0.05
	done
	on 3 touch /run/unlock
	rollout_wait
	echo "$output" | tail -40
	[ "$status" -eq 0 ]
	grep -E '^FAILED - RETRYING: \[fleet3\]: Run banger update' <<< "$output"
	! grep -E '^FAILED - RETRYING: \[fleet[12]\]' <<< "$output" || false
	for ((k = 1; k <= N; k++)); do
		on_release "$k"
		[ "$(summary_of "fleet$k" result)" = updated ]
	done
}

@test "the controller killed with SIGKILL in the middle of a batch: a re-run converges, every host on one version" {
	remember
	rollout_bg -e banger_release="$RELEASE"
	# the canary is done and host 2's turn has begun: its copy is staged
	wait_swapped 1
	for _ in $(seq 1200); do on 2 test -d /var/lib/banger-rollout && break; sleep 0.02; done
	on 2 test -d /var/lib/banger-rollout
	kill -9 -- "-$PLAY_PID"	# the controller's session: it and all it started
	wait "$PLAY_PID" || true
	PLAY_PID=
	mv "$FLEETD/play.log" "$FLEETD/killed.log"
	tail -5 "$FLEETD/killed.log"
	! grep -q '^PLAY RECAP' "$FLEETD/killed.log" || false
	# (and batches of another size: banger_serial, spelt without spaces)
	rollout -e banger_release="$RELEASE" -e 'banger_serial=[2,"100%"]'
	echo "$output" | tail -30
	[ "$status" -eq 0 ]
	[ "$(grep -c '^PLAY \[Update in batches' <<< "$output")" -eq 2 ]
	for ((k = 1; k <= N; k++)); do
		on_release "$k"
		[[ "$(summary_of "fleet$k" result)" =~ ^(updated|unchanged)$ ]]
	done
	[ "$(summary_of fleet1 result)" = unchanged ]
	[ "$(summary_of fleet3 result)" = updated ]
}

@test "ansible-playbook --check: every host's verdict, what each batch would do, and nothing changed on any host" {
	remember
	rollout --check -e banger_release="$RELEASE"
	echo "$output" | tail -60
	[ "$status" -eq 0 ]
	# pre-flight really asked each host (its read-only commands run in check mode)
	for ((k = 1; k <= N; k++)); do grep -E "\"fleet$k +migrations_needed " <<< "$output"; done
	[ "$(grep -c 'check mode: would update 0.0.2 to the release' <<< "$output")" -eq "$N" ]
	[ "$(grep -c '^PLAY \[Update in batches' <<< "$output")" -eq 3 ]
	! grep -q 'TASK \[banger : Run banger update' <<< "$output" || false
	for ((k = 1; k <= N; k++)); do
		[ "$(host_state "$k")" = "${BEFORE[$k]}" ]
		on "$k" test ! -e /var/lib/banger-rollout
	done
}
