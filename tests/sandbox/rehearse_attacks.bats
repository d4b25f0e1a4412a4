#!/usr/bin/env bats
# The rehearsal is the one sandboxed job that writes (DESIGN.md, "The
# rehearsal: a second policy, a scratch that is the only writable place").
# A hostile "bangerd" (tests/sandbox/hostile_rehearse.c) answers the check
# as a real release would and then attacks from inside --rehearse-migrations:
# each test asserts that banger update --check-only exits 3 (the verdict is
# not trusted), that the state dir, the database, the staging dir and the
# update dir are byte for byte as before, and that nothing appeared
# outside - with Landlock, and again without it (the test-hook banger with
# BANGER_TEST_NO_LANDLOCK=1), where the mount namespace (the scratch is a
# tmpfs of the child's own; the state dir is bound read-only) and the
# policy hold on their own.

load ../integration/helpers
bats_require_minimum_version 1.5.0

BANGER=$BANGER_BUILD/banger
HOSTILE=$BANGER_BUILD/tests/hostile-rehearse

setup() {
	common_setup
	mkdir -p "$WORK/state" "$WORK/bin"
	# shellcheck disable=SC2153 # BANGERD is helpers.bash's (load)
	"$BANGERD" --db "$WORK/state/banger.db" --migrate >/dev/null
	"$FIXTURE" seed "$WORK/state/banger.db" 3 >/dev/null
	rm -f /tmp/banger-hostile-created
	BEFORE=$(dir_state "$WORK")
	BEFORE_UPDATE_DIR=$(dir_state "$BANGER_UPDATE_DIR")
}
teardown() {
	rm -f /tmp/banger-hostile-created
	common_teardown
}

# rehearse NAME [no-landlock]: the hostile binary NAME through --check-only.
rehearse() {
	local name=$1 banger=$BANGER env=()
	if [ "${2:-}" = no-landlock ]; then
		banger=$BANGER_BUILD/hooks/banger env=(BANGER_TEST_NO_LANDLOCK=1)
	fi
	run --separate-stderr env "${env[@]}" "$banger" update --check-only --from "$HOSTILE/$name" \
		--target "$WORK/bin/bangerd" --db "$WORK/state/banger.db" --json
	if [ "${2:-}" = no-landlock ]; then
		[ "$(jq -r .landlock_abi <<<"$output")" = 0 ] || { echo "Landlock was applied: $output"; return 1; }
	fi
}

assert_contained() {
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[ "$status" -eq 3 ] || { echo "exit $status, stdout: $output, stderr: $stderr"; return 1; }
	[[ "$stderr" != *"ATTACK WORKED"* ]]
	[ "$(jq -r .rehearsal <<<"$output")" = not_trusted ]
	[ "$(dir_state "$WORK")" = "$BEFORE" ] || { diff <(echo "$BEFORE") <(dir_state "$WORK"); return 1; }
	[ "$(dir_state "$BANGER_UPDATE_DIR")" = "$BEFORE_UPDATE_DIR" ]
	[ ! -e /tmp/banger-hostile-created ]
}

# Each attack with Landlock and without it.
attack() {
	rehearse "$1"
	assert_contained
	rehearse "$1" no-landlock
	assert_contained
}

@test "positive controls: an honest clean rehearsal is relayed (exit 1), an honest failure is 7" {
	rehearse honest_ok
	[ "$status" -eq 1 ]
	[ "$(jq -r '[.rehearsal, (.rehearsal_ms|type), .mount_namespace] | @tsv' <<<"$output")" = "$(printf 'rehearsed\tnumber\ttrue')" ]
	[[ "$stderr" == *"rehearse: applied [4] in 1 ms on a copy of 4096 bytes"* ]]
	rehearse honest_fail
	[ "$status" -eq 7 ]
	[[ "$stderr" == *"migration 4 unique_image_digest: 'UNIQUE constraint failed: images.digest'"* ]]
	[ "$(dir_state "$WORK")" = "$BEFORE" ]
}

@test "the live database cannot be opened for writing" { attack write_live; }
@test "no -wal can be made beside the live database" { attack write_wal; }
@test "no file can be created in the state dir" { attack create_in_state; }
@test "the live database cannot be unlinked" { attack unlink_live; }
@test "the live database cannot be renamed" { attack rename_live; }
@test "nothing can be written outside the scratch (/tmp)" { attack write_outside; }
@test "no file can be linked out of the scratch" { attack link_out; }
@test "filling the scratch ends in the scratch (ENOSPC or the file size limit), not on the disk" {
	local before
	before=$(df --output=used -B1M "$WORK" | tail -1)
	attack fill_scratch
	[ $(( $(df --output=used -B1M "$WORK" | tail -1) - before )) -lt 64 ]
}
@test "no process can be started" { attack fork; }
@test "a rehearsal that spins is killed at its deadline" {
	rehearse spin
	assert_contained
	# (RLIMIT_CPU is a second past the deadline: the clock ends it)
	[[ "$(jq -r .reason <<<"$output")" == *"the rehearsal timed out and was killed"* ]]
}
@test "a 'rehearsed' line with a failing exit, a 'failed' line with exit 0, 'nothing' after 'migrations needed': not trusted" {
	attack lie_rehearsed
	attack lie_failed
	attack lie_nothing
	[[ "$(jq -r .reason <<<"$output")" == *"contradicts the check's 'migrations needed'"* ]]
}
