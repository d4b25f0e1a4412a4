#!/usr/bin/env bats
# Faults: a daemon that accepts and never answers, one that answers
# garbage, a database locked by a writer past every timeout. After each: a
# clear error in bounded time, nothing changed. (ENOSPC, EIO and kill -9
# before each update step are in update.bats; kill -9 at random points of
# every step is `make faults`; docs/FAULTS.md lists them all.)

load helpers
bats_require_minimum_version 1.5.0

BANGER=$BANGER_BUILD/banger
LISTEN=$BANGER_BUILD/tests/listen

setup() { common_setup; mkdir -p "$WORK/bin"; }
teardown() {
	[ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null
	common_teardown
}

serve_fake() {	# serve_fake MODE LINE: a fake daemon on $WORK/sock
	rm -f "$WORK/.ready"
	"$LISTEN" "$1" "$WORK/sock" "$2" 20 > "$WORK/.ready" &
	SERVER=$!
	for _ in $(seq 100); do grep -q ready "$WORK/.ready" 2>/dev/null && break; sleep 0.05; done
}

@test "a daemon socket that accepts and never answers: status gives up in time, says so" {
	serve_fake mute -
	start=$SECONDS
	run --separate-stderr timeout 20 "$BANGER" status --socket "$WORK/sock"
	[ "$status" -eq 1 ]
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[[ "$stderr" == *"no answer within 3000 ms"* ]]
	[ $((SECONDS - start)) -lt 10 ]
}

@test "a daemon that answers garbage: a clear error, no crash" {
	for garbage in 'hello' '{"version":"1"}' '{"version":"1","pid":-4,"schema":{"state":"x"}}' \
		       '{"version":"1","pid":4,"schema":{"state":"compatible"' "$(printf '%5000s' x)"; do
		serve_fake reply "$garbage"
		run --separate-stderr "$BANGER" status --socket "$WORK/sock"
		[ "$status" -eq 1 ] || { echo "garbage '$garbage' -> $status"; false; }
		[[ "$stderr" == *"not a status"* || "$stderr" == *"longer than"* || "$stderr" == *"without an answer"* ]]
		kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=
		rm -f "$WORK/sock"
	done
}

@test "a database locked by a writer past every timeout: exit 3 naming BUSY, in seconds, nothing changed" {
	# shellcheck disable=SC2153 # BANGERD is helpers.bash's (load)
	"$BANGERD" --db "$DB" --migrate
	"$FIXTURE" exec "$DB" "PRAGMA journal_mode = DELETE"
	hold "$DB" delete open "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO images (name, digest, size_bytes, created_at) SELECT 'i' || i, printf('%0200d', i), i, 'now' FROM n"
	before=$(dir_state "$WORK")
	start=$SECONDS
	run --separate-stderr "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"locked"* ]]
	[ $((SECONDS - start)) -lt 10 ]
	run --separate-stderr "$BANGER" update --check-only --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd" --db "$DB"
	[ "$status" -eq 3 ]
	[ "$(dir_state "$WORK")" = "$before" ]
	hold_release
	run "$BANGERD" --db "$DB" --check-migrations
	[ "$status" -eq 0 ]
}
