#!/usr/bin/env bats
# The real bangerd under the sandbox gives the same answer as bangerd run
# directly, on every database state of the store tests, and neither
# changes a byte.

load ../integration/helpers
bats_require_minimum_version 1.5.0

BANGER=$BANGER_BUILD/banger

setup() { common_setup; mkdir -p "$WORK/bin"; }
teardown() { common_teardown; }

# Both ways, compare exit codes and lines, and the directory before/after.
same_answer() {
	local expect=$1 before bare bare_rc sandboxed sandboxed_rc
	before=$(dir_state "$WORK")
	bare_rc=0 sandboxed_rc=0
	# shellcheck disable=SC2153 # BANGERD is helpers.bash's (load)
	bare=$("$BANGERD" --db "$DB" --check-migrations 2>/dev/null) || bare_rc=$?
	[ "$(dir_state "$WORK")" = "$before" ]
	sandboxed=$("$BANGER" update --check-only --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd" \
		--db "$DB" 2>"$WORK/.err") || sandboxed_rc=$?
	rm -f "$WORK/.err"
	[ "$(dir_state "$WORK")" = "$before" ]
	echo "bare: $bare_rc '$bare'; sandboxed: $sandboxed_rc '$sandboxed'"
	[ "$bare_rc" -eq "$expect" ]
	[ "$sandboxed_rc" -eq "$bare_rc" ]
	[ "$sandboxed" = "$bare" ]
}

@test "missing database" { same_answer 1; }
@test "0-byte database" { : > "$DB"; same_answer 1; }
@test "fully migrated, cleanly closed WAL" { "$BANGERD" --db "$DB" --migrate; same_answer 0; }
@test "an older release's database" { "$BANGERD_R2" --db "$DB" --migrate; same_answer 1; }
@test "a newer database" { "$BANGERD" --db "$DB" --migrate; "$FIXTURE" exec "$DB" "INSERT INTO schema_migrations VALUES (99, 'x', 'y')"; same_answer 2; }
@test "no schema_migrations table" { "$FIXTURE" exec "$DB" "CREATE TABLE t (x)"; same_answer 1; }
@test "rollback-journal database" { "$BANGERD" --db "$DB" --migrate; "$FIXTURE" exec "$DB" "PRAGMA journal_mode = DELETE"; same_answer 0; }
@test "not a database" { printf 'x%.0s' $(seq 200) > "$DB"; same_answer 3; }
@test "a directory" { mkdir "$DB"; same_answer 3; }
@test "a non-integer id" { "$FIXTURE" exec "$DB" "CREATE TABLE schema_migrations (id, name, applied_at); INSERT INTO schema_migrations VALUES ('x', 'y', 'z')"; same_answer 3; }

@test "a live WAL writer whose last commit is only in the -wal" {
	"$FIXTURE" migrate "$DB" 2
	hold "$DB" wal commit "INSERT INTO schema_migrations VALUES (3, 'drop_image_arch', 'now')"
	same_answer 0
	hold_release
}

@test "a killed WAL writer, with and without its -shm" {
	"$FIXTURE" migrate "$DB" 2
	hold "$DB" wal commit "INSERT INTO schema_migrations VALUES (3, 'drop_image_arch', 'now')"
	hold_kill
	same_answer 0
	rm "$DB-shm"
	same_answer 3
}

@test "a hot rollback journal" {
	make_hot_journal
	same_answer 3
}

@test "check-only on a live daemon's WAL database creates no -wal or -shm of its own" {
	"$BANGERD" --db "$DB" --migrate
	run "$BANGER" update --check-only --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd" --db "$DB"
	[ "$status" -eq 0 ]
	[ ! -e "$DB-wal" ]
	[ ! -e "$DB-shm" ]
	[ -z "$(ls -A "$WORK/bin")" ]	# and nothing staged is left behind
}
