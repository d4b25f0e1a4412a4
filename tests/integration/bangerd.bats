#!/usr/bin/env bats
# bangerd's offline commands, as docs/CONTRACT.md states them, on real databases
# made by real builds: this tree (migrations 1-3) and the "older releases"
# release-1 and release-2 (make BANGER_MAX_MIGRATION=N).

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "missing database: migrations needed, every id pending, exit 1, no file made" {
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [1 2 3] (binary will apply on first Open)" ]
	[ -z "$(ls -A "$WORK")" ]
}

@test "a database whose directory does not exist: exit 3 naming the directory, not a fresh install" {
	# A typo in --db must not read as "every migration pending".
	run --separate-stderr "$BANGERD" --db "$WORK/no-such-dir/x.db" --check-migrations
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[ "$stderr" = "bangerd: cannot inspect $WORK/no-such-dir/x.db: the database's directory $WORK/no-such-dir does not exist" ]
	run --separate-stderr "$BANGERD" --db "$WORK/no-such-dir/x.db" --check-migrations --json
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ ! -e "$WORK/no-such-dir" ]
}

@test "0-byte database: the fresh-install case" {
	: > "$DB"
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [1 2 3] (binary will apply on first Open)" ]
}

@test "no schema_migrations table: every id pending" {
	"$FIXTURE" exec "$DB" "CREATE TABLE other (x)"
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [1 2 3] (binary will apply on first Open)" ]
}

@test "fully migrated: compatible, exit 0" {
	"$BANGERD" --db "$DB" --migrate
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
	[ "$output" = "compatible: applied [1 2 3]" ]
}

@test "database of an older release: newer binary needs migration 3, older says compatible" {
	"$BANGERD_R2" --db "$DB" --migrate
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [3] (binary will apply on first Open)" ]
	run "$BANGERD_R2" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
	[ "$output" = "compatible: applied [1 2]" ]
}

@test "database newer than the binary: incompatible, exit 2" {
	"$BANGERD" --db "$DB" --migrate
	run "$BANGERD_R2" --db "$DB" --check-migrations
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [3] (binary older than DB)" ]
	run "$BANGERD_R1" --db "$DB" --check-migrations
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [2 3] (binary older than DB)" ]
}

@test "synthetic id 99: incompatible" {
	"$BANGERD" --db "$DB" --migrate
	"$FIXTURE" exec "$DB" "INSERT INTO schema_migrations VALUES (99, 'future', 'x')"
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [99] (binary older than DB)" ]
}

@test "cannot inspect: exit 3, nothing on stdout, one line on stderr" {
	echo "definitely not a database, but longer than the one hundred bytes of a SQLite header, by some margin" > "$DB"
	run --separate-stderr "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == *"not a SQLite database"* ]]
}

@test "cannot inspect: a directory, a FIFO (no hang), a symlink, a non-integer id" {
	mkdir "$WORK/dir"
	run "$BANGERD" --db "$WORK/dir" --check-migrations
	[ "$status" -eq 3 ]
	mkfifo "$WORK/fifo"
	run timeout 10 "$BANGERD" --db "$WORK/fifo" --check-migrations
	[ "$status" -eq 3 ]
	"$BANGERD" --db "$WORK/real.db" --migrate
	ln -s real.db "$WORK/link.db"
	run "$BANGERD" --db "$WORK/link.db" --check-migrations
	[ "$status" -eq 3 ]
	"$FIXTURE" exec "$WORK/text.db" "CREATE TABLE schema_migrations (id TEXT, name TEXT, applied_at TEXT); INSERT INTO schema_migrations VALUES ('x', 'y', 'z')"
	run "$BANGERD" --db "$WORK/text.db" --check-migrations
	[ "$status" -eq 3 ]
	[[ "$output" == *"not an integer"* ]]
}

@test "--json prints one object that parses, for each state" {
	run "$BANGERD" --db "$DB" --check-migrations --json
	[ "$status" -eq 1 ]
	[ "$(jq -c . <<<"$output")" = '{"state":"migrations_needed","applied":[],"known":[1,2,3],"pending":[1,2,3],"unknown":[],"version":"'"$("$BANGERD" --version)"'"}' ]
	"$BANGERD" --db "$DB" --migrate
	run "$BANGERD" --db "$DB" --check-migrations --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .state <<<"$output")" = compatible ]
	[ "$(jq -c .applied <<<"$output")" = "[1,2,3]" ]
	run "$BANGERD_R2" --db "$DB" --check-migrations --json
	[ "$status" -eq 2 ]
	[ "$(jq -r .state <<<"$output")" = incompatible ]
	[ "$(jq -c .unknown <<<"$output")" = "[3]" ]
	[ "$(jq -c .known <<<"$output")" = "[1,2]" ]
}

@test "usage errors exit 64 with the usage on stderr" {
	for args in "--bogus" "--check-migrations --migrate" "--json" "--state-dir /a --db /b --check-migrations" \
		    "--check-migrations stray" "--db"; do
		# shellcheck disable=SC2086 # a list of words, split on purpose
		run --separate-stderr "$BANGERD" $args
		[ "$status" -eq 64 ] || { echo "args: $args -> $status"; false; }
		[[ "$stderr" == *"usage: bangerd"* ]]
		[ -z "$output" ]
	done
}

@test "--version prints the build's version; older releases print theirs" {
	run "$BANGERD_R2" --version
	[ "$output" = "0.0.2" ]
	run "$BANGERD" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[A-Za-z0-9.+~:_-]+$ ]]
}

@test "--list-migrations: ID NAME a line, ascending; an older release lists fewer" {
	run "$BANGERD" --list-migrations
	[ "$output" = "$(printf '1 baseline\n2 vm_workspaces\n3 drop_image_arch')" ]
	run "$BANGERD_R1" --list-migrations
	[ "$output" = "1 baseline" ]
}

@test "--migrate from an older release's database keeps its rows" {
	"$FIXTURE" migrate "$DB" 2
	"$FIXTURE" seed "$DB" 2
	before=$("$FIXTURE" list "$DB")
	run "$BANGERD" --db "$DB" --migrate
	[ "$status" -eq 0 ]
	[ "$("$FIXTURE" list "$DB")" = "$before" ]
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
}

@test "--migrate and serve refuse a newer database with exit 2 and change nothing" {
	"$BANGERD" --db "$DB" --migrate
	before=$(dir_state "$WORK")
	run "$BANGERD_R2" --db "$DB" --migrate
	[ "$status" -eq 2 ]
	run "$BANGERD_R2" --db "$DB"
	[ "$status" -eq 2 ]
	[ "$(dir_state "$WORK")" = "$before" ]
}

@test "--state-dir, BANGER_STATE_DIR and XDG_STATE_HOME locate the database" {
	mkdir -p "$WORK/a" "$WORK/xdg/banger"
	"$BANGERD" --db "$WORK/a/banger.db" --migrate
	run "$BANGERD" --state-dir "$WORK/a" --check-migrations
	[ "$status" -eq 0 ]
	BANGER_STATE_DIR=$WORK/a run "$BANGERD" --check-migrations
	[ "$status" -eq 0 ]
	"$BANGERD" --db "$WORK/xdg/banger/banger.db" --migrate
	"$FIXTURE" exec "$WORK/xdg/banger/banger.db" "INSERT INTO schema_migrations VALUES (77, 'x', 'y')"
	XDG_STATE_HOME=$WORK/xdg run "$BANGERD" --check-migrations
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [77] (binary older than DB)" ]
	HOME=$WORK/home run "$BANGERD" --check-migrations
	[ "$status" -eq 1 ]
	[ ! -e "$WORK/home" ]	# the check made no directory either
}

@test "--system resolves /var/lib/banger/banger.db" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount namespace"
	"$BANGERD" --db "$WORK/sys.db" --migrate
	"$FIXTURE" exec "$WORK/sys.db" "INSERT INTO schema_migrations VALUES (42, 'x', 'y')"
	# A private tmpfs over /var/lib, visible to this command only: the host's
	# /var/lib is never touched.
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run unshare --mount --propagation private sh -c '
		mount -t tmpfs tmpfs /var/lib && mkdir /var/lib/banger &&
		cp "$1" /var/lib/banger/banger.db && exec "$2" --system --check-migrations' _ "$WORK/sys.db" "$BANGERD"
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [42] (binary older than DB)" ]
}

@test "cleanly closed WAL database: read correctly, no -wal or -shm left" {
	"$BANGERD" --db "$DB" --migrate
	[ "$(od -An -tu1 -j19 -N1 "$DB" | tr -d ' ')" = 2 ]	# header: WAL
	before=$(dir_state "$WORK")
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
	[ "$(dir_state "$WORK")" = "$before" ]
	[ ! -e "$DB-wal" ]
	[ ! -e "$DB-shm" ]
}

@test "live WAL writer whose last commit is only in the -wal: seen, nothing changed" {
	"$FIXTURE" migrate "$DB" 2
	hold "$DB" wal commit "INSERT INTO schema_migrations VALUES (3, 'drop_image_arch', 'now')"
	[ -e "$DB-wal" ]
	[ -e "$DB-shm" ]
	before=$(dir_state "$WORK")
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
	[ "$output" = "compatible: applied [1 2 3]" ]
	[ "$(dir_state "$WORK")" = "$before" ]
	hold_release
}

@test "WAL writer killed: read with its -shm; without it exit 3, never a guess" {
	"$FIXTURE" migrate "$DB" 2
	hold "$DB" wal commit "INSERT INTO schema_migrations VALUES (3, 'drop_image_arch', 'now')"
	hold_kill
	before=$(dir_state "$WORK")
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
	[ "$output" = "compatible: applied [1 2 3]" ]
	[ "$(dir_state "$WORK")" = "$before" ]
	rm "$DB-shm"
	before=$(dir_state "$WORK")
	run --separate-stderr "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$(dir_state "$WORK")" = "$before" ]
}

@test "hot rollback journal of a killed writer: exit 3 naming SQLite's code, nothing changed" {
	make_hot_journal
	[ -s "$DB-journal" ]
	before=$(dir_state "$WORK")
	run --separate-stderr "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"SQLite extended code 776"* ]]
	[ "$(dir_state "$WORK")" = "$before" ]
}
