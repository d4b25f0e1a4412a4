#!/usr/bin/env bats
# bangerd --rehearse-migrations --scratch DIR (CONTRACT.md): the pending
# migrations applied to a copy of the live database in DIR; the live
# database and its directory byte for byte unchanged in every case, and
# nothing left in DIR. release-bad (0.2.0) has a migration 4 that builds a
# unique index over images(digest): fine on distinct digests, refused on
# duplicates, as real data breaks real migrations.
load helpers
bats_require_minimum_version 1.5.0

BANGERD_BAD=$BANGER_BUILD/release-bad/bangerd

setup() {
	common_setup
	STATE=$WORK/state SCRATCH=$WORK/scratch
	mkdir -p "$STATE" "$SCRATCH"
	DB=$STATE/banger.db
}
teardown() { common_teardown; }

seed_current() {
	"$FIXTURE" migrate "$DB" 3 >/dev/null
	"$FIXTURE" seed "$DB" 3 >/dev/null
}
duplicate_a_digest() {
	"$FIXTURE" exec "$DB" "INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'twin', digest, 1, created_at FROM images LIMIT 1"
}

@test "a migration that succeeds on this data: rehearsed, exit 0, nothing changed or left" {
	seed_current
	before=$(dir_state "$STATE")
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^rehearsed:\ applied\ \[4\]\ in\ [0-9]+\ ms\;\ copy\ of\ [0-9]+\ bytes\ is\ consistent$ ]]
	bytes=$(stat -c %s "$DB")
	[[ "$output" == *"copy of $bytes bytes"* ]]
	[ "$(dir_state "$STATE")" = "$before" ]
	[ -z "$(ls -A "$SCRATCH")" ]
}

@test "a migration that fails on this data: exit 2 naming it and SQLite's message, nothing changed" {
	seed_current
	duplicate_a_digest
	before=$(dir_state "$STATE")
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 2 ]
	[ "$output" = "rehearsal failed: migration 4 unique_image_digest: UNIQUE constraint failed: images.digest" ]
	[ "$(dir_state "$STATE")" = "$before" ]
	[ -z "$(ls -A "$SCRATCH")" ]
	# and the real migration does fail the same way: the rehearsal told the truth
	run "$BANGERD_BAD" --db "$DB" --migrate
	[ "$status" -eq 3 ]
	[[ "$output" == *"UNIQUE constraint failed: images.digest"* ]]
}

@test "--json: one object in the contract's shape for rehearsed, failed and nothing" {
	seed_current
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH" --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.result, .applied, .failed, .error, (.ms|type), (.bytes > 0)]' <<<"$output")" = '["rehearsed",[4],null,null,"number",true]' ]
	duplicate_a_digest
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH" --json
	[ "$status" -eq 2 ]
	[ "$(jq -c '[.result, .applied, .failed, .error]' <<<"$output")" = '["failed",[],4,"UNIQUE constraint failed: images.digest"]' ]
	run --separate-stderr "$BANGERD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH" --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.result, .applied, .failed, .error, .bytes]' <<<"$output")" = '["nothing",[],null,null,0]' ]
}

@test "nothing pending: nothing to rehearse, nothing copied" {
	seed_current
	run --separate-stderr "$BANGERD" --db "$DB" --rehearse-migrations --scratch "$WORK/not-even-there"
	[ "$status" -eq 0 ]
	[ "$output" = "nothing to rehearse: compatible" ]
	[ ! -e "$WORK/not-even-there" ]
}

@test "a database newer than the binary: exit 2 with the check's line, nothing copied" {
	seed_current
	before=$(dir_state "$STATE")
	run --separate-stderr "$BANGERD_R1" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [2 3] (binary older than DB)" ]
	[ "$(dir_state "$STATE")" = "$before" ]
	[ -z "$(ls -A "$SCRATCH")" ]
}

@test "a fresh install (no database yet): every migration rehearsed on an empty copy" {
	run --separate-stderr "$BANGERD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^rehearsed:\ applied\ \[1\ 2\ 3\]\ in\ [0-9]+\ ms\;\ copy\ of\ 0\ bytes\ is\ consistent$ ]]
	[ ! -e "$DB" ]
	[ -z "$(ls -A "$SCRATCH")" ]
}

@test "a live WAL writer's last commit, only in its -wal, is in the copy" {
	seed_current
	"$FIXTURE" exec "$DB" "PRAGMA journal_mode = WAL" >/dev/null
	# the duplicate that breaks migration 4 exists only in the writer's -wal
	hold "$DB" wal commit "INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'twin', digest, 1, created_at FROM images LIMIT 1"
	[ -s "$DB-wal" ]
	before=$(dir_state "$STATE")
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 2 ]
	[[ "$output" == "rehearsal failed: migration 4 unique_image_digest: "* ]]
	[ "$(dir_state "$STATE")" = "$before" ]
	hold_release
}

@test "an unusable scratch or an unreadable database: exit 3, one line, nothing changed" {
	seed_current
	before=$(dir_state "$STATE")
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$WORK/missing"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[[ "$stderr" == "bangerd: cannot rehearse: the scratch $WORK/missing is not a directory" ]]
	# a scratch that already holds a copy is not ours to overwrite
	echo precious > "$SCRATCH/banger.db"
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"the scratch is unusable: $SCRATCH/banger.db: File exists"* ]]
	[ "$(cat "$SCRATCH/banger.db")" = precious ]
	rm "$SCRATCH/banger.db"
	printf 'not a database at all, but long enough to have a header of some kind......' > "$DB"
	before=$(dir_state "$STATE")
	run --separate-stderr "$BANGERD_BAD" --db "$DB" --rehearse-migrations --scratch "$SCRATCH"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[ -z "$(ls -A "$SCRATCH")" ]
	[ "$(dir_state "$STATE")" = "$before" ]
}

@test "usage: --scratch and --rehearse-migrations go together" {
	run --separate-stderr "$BANGERD" --db "$DB" --rehearse-migrations
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"--rehearse-migrations and --scratch DIR go together"* ]]
	run --separate-stderr "$BANGERD" --db "$DB" --check-migrations --scratch "$SCRATCH"
	[ "$status" -eq 64 ]
	run --separate-stderr "$BANGERD" --db "$DB" --migrate --json
	[ "$status" -eq 64 ]
}
