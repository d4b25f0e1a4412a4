#!/usr/bin/env bats
# The judge of make faults (judge.bash), on the stand-in install that
# kill-table uses: it passes what is consistent (an untouched install, a
# finished update), and each of its judgements fails an install spoiled
# in the one way that judgement is about. Without these, a table of zeros
# could come from a judge that cannot fail.

BANGER_BUILD=${BANGER_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "the stand-in runs its daemon as another user: needs root"
	# shellcheck source=tests/faults/judge.bash
	. "$BATS_TEST_DIRNAME/judge.bash"
	# shellcheck source=tests/faults/standin.bash
	. "$BATS_TEST_DIRNAME/standin.bash"
	NEW=$BANGER_BUILD/plain/bangerd
	[ -x "$NEW" ] || NEW=$BANGER_BUILD/bangerd
	standin_setup "$BANGER_BUILD"
	J_NEW_SHA=$(judge_sha "$NEW") J_NEW_VERSION=$("$NEW" --version)
}

teardown() { standin_cleanup; }

update() {
	"$BANGER_BUILD/banger" update --target "$J_TARGET" --state-dir "$SI_STATE" \
		--restart-cmd "$SI_RESTART" --timeout 10 --from "$NEW" >/dev/null 2>&1
}

fails_with() {	# what J_WHY must say
	if judge; then
		echo "the judge passed: $J_OUTCOME"
		return 1
	fi
	echo "$J_WHY"
	[ "$J_OUTCOME" = failed ]
	[[ "$J_WHY" == *"$1"* ]]
}

@test "an untouched install passes, as rolled back" {
	judge || { echo "$J_WHY"; false; }
	[ "$J_OUTCOME" = rolled ]
}

@test "a finished update passes, as completed, with the backup and TARGET.prev it keeps" {
	update
	[ -f "$SI_DB.pre-update" ] && [ -f "$J_TARGET.prev" ]
	judge || { echo "$J_WHY"; false; }
	[ "$J_OUTCOME" = completed ]
}

@test "a truncated binary fails: neither the old nor the new" {
	head -c 4096 "$SI_WORK/old-bangerd" > "$SI_WORK/short"
	chmod 0755 "$SI_WORK/short"
	mv "$SI_WORK/short" "$J_TARGET"	# (a rename: the daemon runs the file it replaces)
	fails_with "the target is neither the old nor the new binary"
}

@test "a deleted row fails: the seeded rows" {
	"$J_FIXTURE" exec "$SI_DB" "DELETE FROM vms WHERE id = (SELECT max(id) FROM vms)"
	fails_with "the seeded rows are not all there"
}

@test "a root-owned file in the state directory fails: the daemon's user's" {
	chown 0:0 "$SI_DB"
	fails_with "not the daemon's user's (uid $SI_UID): $SI_DB (uid 0)"
	[[ "$J_WHY" != *"left behind"* ]]
}

@test "a stray .tmp fails: left behind, in the state directory or the update's directory" {
	install -o "$SI_UID" -m 0600 /dev/null "$SI_STATE/update.journal.tmp"
	fails_with "left behind: $SI_STATE/update.journal.tmp"
	[[ "$J_WHY" != *"not the daemon's user's"* ]]
	rm "$SI_STATE/update.journal.tmp"
	judge
	touch "$BANGER_UPDATE_DIR/update.journal.tmp"
	fails_with "left behind: $BANGER_UPDATE_DIR/update.journal.tmp"
}

@test "TARGET.prev beside the old binary (after a rollback) fails: left behind" {
	ln "$J_TARGET" "$J_TARGET.prev"
	fails_with "left behind: $J_TARGET.prev"
}

@test "a database the target does not know fails: --check-migrations" {
	"$J_FIXTURE" exec "$SI_DB" "INSERT INTO schema_migrations VALUES (99, 'future', 'x')"
	fails_with "the target's --check-migrations exits 2"
}

@test "a damaged page fails: integrity_check" {
	standin_stop_daemons
	# page 3 of the database (4096-byte pages): a table's b-tree
	dd if=/dev/urandom of="$SI_DB" bs=4096 seek=2 count=1 conv=notrunc status=none
	"$SI_RESTART"
	fails_with "integrity_check:"
}

@test "no daemon fails: not serving" {
	standin_stop_daemons
	fails_with "not serving 0.0.2: active no"
}
