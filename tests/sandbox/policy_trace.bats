#!/usr/bin/env bats
# The policy was derived with strace; this keeps it so. The real bangerd is
# traced on each database state, and every system call it makes must have
# a line in policy/check-migrations.policy (a new glibc or SQLite that calls
# something new fails here, with the name, instead of dying of SIGSYS in
# an operator's update).

load ../integration/helpers
bats_require_minimum_version 1.5.0

POLICY=$BATS_TEST_DIRNAME/../../policy/check-migrations.policy

setup() {
	common_setup
	command -v strace >/dev/null || skip "strace not installed"
}
teardown() { common_teardown; }

# (policy_covers leaves out the execve strace makes to start the program:
# the sandbox's own calls before the policy applies are not traced here.)
covered() { policy_covers "$POLICY" "$STAGED_BANGERD" --db "$DB" --check-migrations; }

@test "every system call on a missing database is in the policy" { covered; }
@test "... on a cleanly closed WAL database" { "$BANGERD" --db "$DB" --migrate; covered; }
@test "... on a rollback-journal database" { "$BANGERD" --db "$DB" --migrate; "$FIXTURE" exec "$DB" "PRAGMA journal_mode = DELETE"; covered; }
@test "... on a live WAL writer's database" {
	"$FIXTURE" migrate "$DB" 2
	hold "$DB" wal commit "INSERT INTO schema_migrations VALUES (3, 'x', 'now')"
	covered
	hold_release
}
@test "... on a crashed writer's -wal without -shm, and a hot journal" {
	"$FIXTURE" migrate "$DB" 2
	hold "$DB" wal commit "INSERT INTO schema_migrations VALUES (3, 'x', 'now')"
	hold_kill
	covered
	rm "$DB-shm"
	covered
}
@test "... on a file that is not a database" { echo "not a database, not at all, not even a little bit, not in the least, no" > "$DB"; covered; }
