#!/usr/bin/env bats
# policy/rehearse-migrations.policy was derived with strace; this keeps it
# so, as policy_trace.bats does for the check's: the real bangerd that
# rehearses (release-bad: its migration 4 builds a unique index) is traced
# on each kind of database, and every system call it makes must have a
# line in the policy.

load ../integration/helpers
bats_require_minimum_version 1.5.0

POLICY=$BATS_TEST_DIRNAME/../../policy/rehearse-migrations.policy
BANGERD_BAD=$BANGER_BUILD/release-bad/bangerd

setup() {
	common_setup
	command -v strace >/dev/null || skip "strace not installed"
	mkdir "$WORK/scratch"
}
teardown() { common_teardown; }

covered() {
	policy_covers "$POLICY" "$BANGERD_BAD" --db "$DB" --rehearse-migrations \
		--scratch "$WORK/scratch" --json
	[ -z "$(ls -A "$WORK/scratch")" ]	# the copy and its sidecars are gone
}

@test "rehearse: every system call on a missing database is in the policy" { covered; }
@test "rehearse: ... on a seeded database that migrates" {
	"$FIXTURE" migrate "$DB" 3; "$FIXTURE" seed "$DB" 3; covered
}
@test "rehearse: ... on one whose migration fails" {
	"$FIXTURE" migrate "$DB" 3; "$FIXTURE" seed "$DB" 3
	"$FIXTURE" exec "$DB" "INSERT INTO images (name, digest, size_bytes, created_at) SELECT 'twin', digest, 1, created_at FROM images LIMIT 1"
	covered
}
@test "rehearse: ... on a live WAL writer's database" {
	"$FIXTURE" migrate "$DB" 3
	hold "$DB" wal commit "INSERT INTO images (name, digest, size_bytes, created_at) VALUES ('w', 'd', 1, 'now')"
	covered
	hold_release
}
@test "rehearse: ... on a 10 MB database whose index build grows the sorter" {
	"$FIXTURE" migrate "$DB" 3
	"$FIXTURE" exec "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
		INSERT INTO images (name, digest, size_bytes, created_at) SELECT 'i' || i, printf('%0120d', i), i, 'now' FROM n"
	covered
}
