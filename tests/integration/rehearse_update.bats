#!/usr/bin/env bats
# banger update's REHEARSE step (issue 23) end to end: a real 0.0.2 bangerd
# serving a real database, and release-bad (0.2.0), whose migration 4 (a
# unique index over images.digest) fails on duplicate digests and succeeds
# otherwise. When migrations are needed, the staged release migrates a
# private copy of the live database in the sandbox first: a release that
# fails on this data is refused with 7 before anything is backed up,
# swapped or restarted.

load helpers
bats_require_minimum_version 1.5.0

BANGERD_BAD=$BANGER_BUILD/release-bad/bangerd

setup() {
	common_setup
	INST=$WORK/inst STATE=$WORK/state
	mkdir -p "$INST/bin" "$STATE"
	cp "$BANGERD_R2" "$INST/bin/bangerd"
	DB=$STATE/banger.db SOCK=$STATE/bangerd.sock
	write_restart_script
	export XDG_RUNTIME_DIR=
	"$WORK/restart.sh"
	wait_for 0.0.2
	"$FIXTURE" seed "$DB" 2
}
teardown() {
	[ -f "$WORK/daemon.pid" ] && kill -9 "$(cat "$WORK/daemon.pid")" 2>/dev/null
	common_teardown
}

status_field() { "$BANGER_BUILD/banger" status --socket "$SOCK" --json 2>/dev/null | jq -r "$1"; }
wait_for() {	# VERSION
	for _ in $(seq 100); do
		[ "$(status_field .version)" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
duplicate_a_digest() {
	"$FIXTURE" exec "$DB" "INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'twin', digest, 1, created_at FROM images LIMIT 1"
}
update() {
	run --separate-stderr "$BANGER_BUILD/banger" update --state-dir "$STATE" --target "$INST/bin/bangerd" \
		--restart-cmd "$WORK/restart.sh" --timeout 10 "$@"
}
check_only() {
	run --separate-stderr "$BANGER_BUILD/banger" update --check-only --state-dir "$STATE" \
		--target "$INST/bin/bangerd" "$@"
}
# Everything but the daemon's log, and root's update directory.
install_state() { dir_state "$WORK" | grep -v 'daemon.log'; dir_state "$BANGER_UPDATE_DIR"; }

@test "--check-only: a release whose migration fails on this data is refused with 7, naming it; nothing changed" {
	duplicate_a_digest
	before=$(install_state)
	check_only --from "$BANGERD_BAD"
	[ "$status" -eq 7 ]
	[ -z "$output" ]
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[[ "$stderr" == *"refused: the new release's migrations fail on a copy of the live database: migration 4 unique_image_digest: 'UNIQUE constraint failed: images.digest'"* ]]
	[ "$(install_state)" = "$before" ]
	check_only --json --from "$BANGERD_BAD"
	[ "$status" -eq 7 ]
	[ "$(jq -r '[.result, .rehearsal, .reason] | @tsv' <<<"$output")" = "$(printf "rehearsal_failed\tfailed\tmigration 4 unique_image_digest: 'UNIQUE constraint failed: images.digest'")" ]
}

@test "update: refused with 7 before any backup or swap; the daemon is never restarted" {
	duplicate_a_digest
	pid=$(status_field .pid)
	dump=$("$FIXTURE" dump "$DB")
	before=$(install_state)
	update --from "$BANGERD_BAD"
	[ "$status" -eq 7 ]
	[[ "$stderr" == *"update refused: the new release's migrations fail on a copy of the live database: migration 4 unique_image_digest: 'UNIQUE constraint failed: images.digest'"* ]]
	[[ "$stderr" != *"backup:"* ]]
	[[ "$stderr" != *"swap:"* ]]
	[ "$(status_field .pid)" = "$pid" ]
	[ "$(status_field .version)" = 0.0.2 ]
	[ "$(install_state)" = "$before" ]
	[ "$("$FIXTURE" dump "$DB")" = "$dump" ]
}

@test "the same release on data it can migrate: rehearsed, then updated, with the forecast reported" {
	update --from "$BANGERD_BAD" --json
	[ "$status" -eq 0 ]
	[[ "$stderr" =~ rehearse:\ applied\ \[3\ 4\]\ in\ [0-9]+\ ms\ on\ a\ copy\ of\ [0-9]+\ bytes ]]
	[[ "$stderr" == *"check (sandboxed):"*"rehearse:"*"backup:"*"swap:"* ]]
	[ "$(jq -r '[.result, .rehearsal, (.rehearsal_ms|type)] | @tsv' <<<"$output")" = "$(printf 'updated\trehearsed\tnumber')" ]
	[ "$(status_field .version)" = 0.2.0 ]
	[ "$(status_field .schema.state)" = compatible ]
	[ -z "$(ls -A "$BANGER_UPDATE_DIR")" ]
}

@test "--no-rehearse says so; the failing migration is then found only after the swap, and rolled back (5)" {
	duplicate_a_digest
	dump=$("$FIXTURE" dump "$DB")
	update --from "$BANGERD_BAD" --no-rehearse
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"rehearse: not rehearsed (--no-rehearse)"* ]]
	[[ "$stderr" == *"swap:"*"rollback:"* ]]
	wait_for 0.0.2
	[ "$("$FIXTURE" dump "$DB")" = "$dump" ]
}

@test "--rehearse-max-mb: a larger database is not rehearsed, with a line that says how to force it" {
	"$FIXTURE" exec "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
		INSERT INTO images (name, digest, size_bytes, created_at) SELECT 'big' || i, printf('%0100d', i), i, 'now' FROM n"
	# what the copy will hold: the database and its live daemon's -wal
	mb=$(( ($(stat -c %s "$DB") + $(stat -c %s "$DB-wal") + 1048575) / 1048576 ))
	[ "$mb" -ge 2 ]
	check_only --from "$BANGERD_BAD" --rehearse-max-mb 1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"rehearse: not rehearsed: the database is $mb MB, over --rehearse-max-mb 1; pass --rehearse-max-mb $mb to rehearse it"* ]]
	check_only --from "$BANGERD_BAD" --rehearse-max-mb "$mb"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"rehearse: applied [3 4] in"* ]]
}

@test "--rehearse-max-mb takes whole megabytes" {
	for bad in 0 -1 abc 1.5 ''; do
		check_only --from "$BANGERD_BAD" --rehearse-max-mb "$bad"
		[ "$status" -eq 64 ]
	done
}

@test "a non-root updater (the database's own uid): no mount namespace, Landlock fences its scratch, nothing left" {
	local u=4321
	chown -R "$u:$u" "$STATE" "$INST"
	chmod 755 "$WORK"
	home=$WORK/home
	mkdir -p "$home" && chown "$u:$u" "$home"
	as_user() {
		run --separate-stderr setpriv --reuid=$u --regid=$u --clear-groups \
			env -u BANGER_UPDATE_DIR HOME="$home" XDG_STATE_HOME="$home/.state" \
			"$BANGER_BUILD/banger" update --check-only --json --from "$BANGERD_BAD" \
			--target "$INST/bin/bangerd" --db "$DB"
	}
	as_user
	[ "$status" -eq 1 ]
	[ "$(jq -r '[.rehearsal, .mount_namespace, (.landlock_abi > 0)] | @tsv' <<<"$output")" = "$(printf 'rehearsed\tfalse\ttrue')" ]
	duplicate_a_digest
	as_user
	[ "$status" -eq 7 ]
	[ -z "$(ls -A "$home/.state/banger-update")" ]	# the scratch is gone
	[ "$(stat -c %u "$DB")" = "$u" ]
	[ ! -e "$DB-journal" ]
}
