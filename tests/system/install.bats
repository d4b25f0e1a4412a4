#!/usr/bin/env bats
# The source install under a real systemd, with the shipped hardened unit
# unchanged (DynamicUser, StateDirectory, Type=notify): the daemon starts,
# the check reads its live database as root without touching it, and
# banger update replaces it, restarts it through systemd, and rolls back.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	box_setup
	install_old_release
	seed_rows
}

teardown() { box_teardown; }

@test "enable --now: ready (Type=notify), status answers, the daemon is the dynamic user with nothing more" {
	[ "$(status_json .version)" = 0.0.2 ]
	[ "$(inbox systemctl show -p DynamicUser --value bangerd.service)" = yes ]
	uid=$(main_status Uid | awk '{print $2}')
	[ "$uid" -ne 0 ]
	[ "$(inbox stat -c %u "$SDB")" = "$uid" ]
	[ "$(main_status CapEff | awk '{print $2}')" = 0000000000000000 ]
	[ "$(main_status NoNewPrivs | awk '{print $2}')" = 1 ]
	[ "$(main_status Seccomp | awk '{print $2}')" = 2 ]
	[ "$(inbox readlink /var/lib/banger)" = private/banger ]
}

@test "bangerd --check-migrations --system as root, on the live database: the verdict, nothing created or changed" {
	before=$(state_listing)
	run --separate-stderr inbox /usr/local/bin/bangerd --check-migrations --system
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "compatible: applied [1 2]" ]
	[ "$(state_listing)" = "$before" ]
	# this tree's bangerd knows one more
	run --separate-stderr inbox "$BANGERD" --check-migrations --system
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [3] (binary will apply on first Open)" ]
	[ "$(state_listing)" = "$before" ]
}

@test "banger update --system --check-only: the verdict, as the database's owner, nothing changed" {
	before=$(state_listing)
	run --separate-stderr inbox banger update --system --check-only --from "$STAGED_BANGERD"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [3] (binary will apply on first Open)" ]
	[ "$(state_listing)" = "$before" ]
	[ "$(box_sha /usr/local/bin/bangerd)" = "$OLD_SHA" ]
	[ "$(inbox ls -A /usr/local/bin)" = "$BIN_BEFORE" ]
}

@test "a full update that migrates, restarted by systemd: healthy, every row kept, nothing of root's in the state dir" {
	old_pid=$(status_json .pid)
	run --separate-stderr inbox strace -f -qq -e trace=execve -e signal=none -s 64 -o /tmp/update.trace \
		banger update --system --from "$STAGED_BANGERD" --timeout 30
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "updated: 0.0.2 -> $("$BANGERD" --version)" ]
	[[ "$stderr" == *"rehearse: applied [3] in"*"restart: systemd:bangerd.service"*"health: bangerd"* ]]
	[[ "$stderr" != *"Job for"* ]]
	# banger asked systemd only for the unit (cat) and the restart: a
	# daemon healthy at the first status request costs no systemctl show
	verbs=$(inbox cat /tmp/update.trace | sed -n 's/.*execve("[^"]*systemctl", \[.*"--", "\([a-z-]*\)".*/\1/p' | tr '\n' ' ')
	echo "systemctl verbs: $verbs"
	[ "$verbs" = "cat restart " ]
	[ "$(inbox systemctl is-active bangerd.service)" = active ]
	[ "$(status_json .version)" = "$("$BANGERD" --version)" ]
	[ "$(status_json .pid)" != "$old_pid" ]
	[ "$(status_json .schema.state)" = compatible ]
	# every image and VM, migrated to schema 3
	[ "$(inbox "$FIXTURE" list "$SDB")" = "$ROWS" ]
	inbox test -f "$SDB.pre-update"
	[ -z "$(root_owned_in_state)" ] || { root_owned_in_state; false; }
	# and the daemon can write its store: a restart opens it read-write
	inbox systemctl restart bangerd.service
	wait_active
}

@test "--check-only --json of a release whose migration fails on this data: 7, the migration named, rehearsed as the database's owner, nothing changed" {
	# release-bad's migration 4, a unique index over images.digest, fails
	# on two images with one digest
	inbox "$FIXTURE" exec "$SDB" "INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'twin', digest, 1, created_at FROM images LIMIT 1"
	before=$(state_listing)
	update_dir=$(inbox find /var/lib/banger-update -printf '%p %u:%g %m %s\n' 2>/dev/null | sort)
	pid=$(status_json .pid)
	run --separate-stderr inbox banger update --system --check-only --json --from "$BANGER_BUILD/release-bad/bangerd"
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 7 ]
	[ "$(jq -r '[.result, .rehearsal, .reason] | @tsv' <<<"$output")" = \
		"$(printf "rehearsal_failed\tfailed\tmigration 4 unique_image_digest: 'UNIQUE constraint failed: images.digest'")" ]
	[ "$(state_listing)" = "$before" ]
	[ "$(inbox find /var/lib/banger-update -printf '%p %u:%g %m %s\n' 2>/dev/null | sort)" = "$update_dir" ]
	[ "$(inbox systemctl is-active bangerd.service)" = active ]
	[ "$(status_json .version)" = 0.0.2 ]
	[ "$(status_json .pid)" = "$pid" ]
	[ "$(box_sha /usr/local/bin/bangerd)" = "$OLD_SHA" ]
	[ "$(inbox ls -A /usr/local/bin)" = "$BIN_BEFORE" ]
	# The rehearsal child runs with every capability cleared
	# (tests/unit/test_sandbox_run.c); reaching migration 4 it read the live
	# database (0600 in a 0700 directory, both the dynamic user's) and wrote
	# its copy into its own tmpfs (mode 0700, uid= the database's owner):
	# both only as the dynamic user.
	uid=$(main_status Uid | awk '{print $2}')
	[ "$uid" -ne 0 ]
	[ "$(jq -r .mount_namespace <<<"$output")" = true ]
	[ "$(inbox stat -c '%u %a' /var/lib/private/banger "$SDB")" = "$(printf '%s 700\n%s 600' "$uid" "$uid")" ]
}

@test "incompatible (2) and a bad checksum (4): refused, nothing changed, no file left" {
	inbox "$FIXTURE" exec "$SDB" "INSERT INTO schema_migrations VALUES (99, 'future', 'x')"
	before=$(state_listing)
	pid=$(status_json .pid)
	run --separate-stderr inbox banger update --system --from "$STAGED_BANGERD"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"incompatible: unknown applied [99]"* ]]
	[ "$(state_listing)" = "$before" ]
	run --separate-stderr inbox banger update --system --from "$STAGED_BANGERD" \
		--sha256 0000000000000000000000000000000000000000000000000000000000000000
	[ "$status" -eq 4 ]
	[ "$(state_listing)" = "$before" ]
	[ "$(box_sha /usr/local/bin/bangerd)" = "$OLD_SHA" ]
	[ "$(inbox ls -A /usr/local/bin)" = "$BIN_BEFORE" ]
	[ "$(status_json .pid)" = "$pid" ]
}

@test "a release that migrates, then dies at every start: exit 5 long before --timeout, systemd's word, the old daemon back" {
	inbox mkdir -p /etc/systemd/system/bangerd.service.d
	printf '[Service]\nEnvironment=BANGER_TEST_CRASH_AFTER_OPEN=1\n' |
		inbox tee /etc/systemd/system/bangerd.service.d/crash.conf >/dev/null
	inbox systemctl daemon-reload
	start=$(date +%s)
	run --separate-stderr inbox banger update --system --from "$HOOKS/bangerd" --timeout 120
	took=$(($(date +%s) - start))
	echo "$stderr"
	echo "took ${took}s"
	[ "$status" -eq 5 ]
	[ "$took" -lt 60 ]
	[[ "$stderr" == *"systemd says bangerd.service"*"Result: "* ]]
	[[ "$stderr" != *"Job for"* ]]
	[ "$(box_sha /usr/local/bin/bangerd)" = "$OLD_SHA" ]
	wait_active
	[ "$(status_json .version)" = 0.0.2 ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
	[ -z "$(root_owned_in_state)" ] || { root_owned_in_state; false; }
}

@test "kill -9 of the updater after the restart, then --recover --system: the unit active, binary and database agree" {
	inbox cp "$HOOKS/banger" /usr/local/bin/banger	# can pause before a step
	inbox sh -c "BANGER_TEST_PAUSE_AT=health /usr/local/bin/banger update --system \
		--from '$STAGED_BANGERD' > /tmp/update.out 2>&1 & echo \$! > /tmp/update.pid"
	for _ in $(seq 200); do inbox grep -q paused /tmp/update.out && break; sleep 0.05; done
	inbox grep -q paused /tmp/update.out
	# shellcheck disable=SC2016 # expanded by the box's sh, not here
	inbox sh -c 'kill -9 $(cat /tmp/update.pid)'
	run --separate-stderr inbox banger update --recover --system
	echo "$stderr"
	[ "$status" -eq 0 ]
	wait_active
	[ "$(status_json .version)" = 0.0.2 ]
	[ "$(box_sha /usr/local/bin/bangerd)" = "$OLD_SHA" ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
	[ -z "$(root_owned_in_state)" ] || { root_owned_in_state; false; }
}

@test "systemd-analyze security of the running unit: no worse than the offline score of the shipped file" {
	running=$(inbox systemd-analyze security bangerd.service 2>&1 |
		sed -n 's/.*Overall exposure level for bangerd.service: \([0-9.]*\).*/\1/p')
	offline=$(systemd-analyze security --offline=true "$REPO/packaging/systemd/bangerd.service" 2>&1 |
		sed -n 's/.*Overall exposure level for bangerd.service: \([0-9.]*\).*/\1/p')
	echo "# exposure of bangerd.service: running $running, offline $offline" >&3
	[ -n "$running" ] && [ -n "$offline" ]
	awk -v r="$running" -v o="$offline" 'BEGIN { exit !(r <= o) }'
}
