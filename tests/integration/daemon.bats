#!/usr/bin/env bats
# bangerd serving on a real Unix socket, and banger status asking it.

load helpers
bats_require_minimum_version 1.5.0

BANGER=$BANGER_BUILD/banger
LISTEN=$BANGER_BUILD/tests/listen

setup() {
	common_setup
	SOCK=$WORK/run/bangerd.sock
}

teardown() {
	[ -n "${DAEMON:-}" ] && kill -9 "$DAEMON" 2>/dev/null
	common_teardown
}

# start_daemon [bangerd]: serve $DB on $SOCK, wait until status answers.
start_daemon() {
	"${1:-$BANGERD}" --db "$DB" --socket "$SOCK" 2>"$WORK/daemon.log" &
	DAEMON=$!
	for _ in $(seq 100); do
		"$BANGER" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_daemon() {
	kill -TERM "$DAEMON"
	wait "$DAEMON"
	local rc=$?
	DAEMON=
	return $rc
}

@test "serves: private socket in a private directory, status answers" {
	start_daemon
	[ "$(stat -c %a "$WORK/run")" = 700 ]
	[ "$(stat -c %a "$SOCK")" = 600 ]
	run "$BANGER" status --socket "$SOCK"
	[ "$status" -eq 0 ]
	[[ "$output" == "bangerd $("$BANGERD" --version), pid $DAEMON, up "*", schema compatible" ]]
	run "$BANGER" status --socket "$SOCK" --json
	[ "$(jq -r .pid <<<"$output")" = "$DAEMON" ]
	[ "$(jq -c .schema.applied <<<"$output")" = "[1,2,3]" ]
	stop_daemon
}

@test "serving an older release's database migrates it and keeps its rows" {
	"$FIXTURE" migrate "$DB" 2
	"$FIXTURE" seed "$DB" 2
	before=$("$FIXTURE" list "$DB")
	start_daemon
	run "$BANGER" status --socket "$SOCK" --json
	[ "$(jq -r .schema.state <<<"$output")" = compatible ]
	stop_daemon
	[ "$("$FIXTURE" list "$DB")" = "$before" ]
}

@test "SIGTERM and SIGINT: exit 0, socket removed, database closed cleanly" {
	for sig in TERM INT; do
		start_daemon
		kill -$sig "$DAEMON"
		wait "$DAEMON"
		DAEMON=
		[ ! -e "$SOCK" ]
		[ ! -e "$DB-wal" ]
		[ ! -e "$DB-shm" ]
	done
}

@test "a second bangerd on the same socket refuses to start; the first keeps serving" {
	start_daemon
	run --separate-stderr "$BANGERD" --db "$DB" --socket "$SOCK"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"another bangerd already serves"* ]]
	run "$BANGER" status --socket "$SOCK"
	[ "$status" -eq 0 ]
	stop_daemon
}

@test "a stale socket file left by a crash is replaced" {
	start_daemon
	kill -9 "$DAEMON"; wait "$DAEMON" 2>/dev/null || true; DAEMON=
	[ -S "$SOCK" ]
	start_daemon
	stop_daemon
}

@test "sd_notify: READY=1 when serving, STOPPING=1 when stopping" {
	"$LISTEN" dgram "$WORK/notify" "$WORK/notified" 5 > "$WORK/.ready" &
	local l=$!
	for _ in $(seq 100); do grep -q ready "$WORK/.ready" 2>/dev/null && break; sleep 0.05; done
	NOTIFY_SOCKET=$WORK/notify start_daemon
	stop_daemon
	kill $l 2>/dev/null; wait $l 2>/dev/null || true
	[ "$(cat "$WORK/notified")" = "$(printf 'READY=1\nSTOPPING=1')" ]
}

@test "clients that connect and say nothing do not block the others" {
	start_daemon
	local silent=()
	for i in 1 2 3; do
		"$LISTEN" silent "$SOCK" - 20 > /dev/null &
		silent+=($!)
	done
	sleep 0.2
	run timeout 5 "$BANGER" status --socket "$SOCK"
	kill "${silent[@]}" 2>/dev/null || true
	[ "$status" -eq 0 ]
	stop_daemon
}

@test "a request that is not one: an error answer, the daemon goes on" {
	start_daemon
	for req in 'hello' '{"cmd":"reboot"}' '{"cmd":' '{"cmd":"status"} trailing'; do
		run "$LISTEN" ask "$SOCK" "$req" 5
		[[ "$output" == *'{"error":"unknown command"}'* ]] || { echo "$req -> $output"; false; }
	done
	run "$LISTEN" ask "$SOCK" '{ "cmd" : "status" }' 5
	[ "$(sed 1d <<<"$output" | jq -r .pid)" = "$DAEMON" ]
	stop_daemon
}

@test "status with nothing listening: exit 1 and one clear line" {
	run --separate-stderr "$BANGER" status --socket "$WORK/nothing.sock"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "banger: status: nothing answers on $WORK/nothing.sock"* ]]
}

@test "serving an incompatible database: exit 2, nothing changed, no socket" {
	"$BANGERD" --db "$DB" --migrate
	before=$(dir_state "$WORK")
	run "$BANGERD_R2" --db "$DB" --socket "$SOCK"
	[ "$status" -eq 2 ]
	[ "$(dir_state "$WORK")" = "$before" ]
	[ ! -e "$SOCK" ]
}

@test "answering status does not drop the daemon's own database locks" {
	# Regression: the daemon classified its database by opening the file
	# beside its own SQLite connection; closing that descriptor dropped all
	# of the process's POSIX locks, and the next process to close its
	# connection took the daemon for gone and deleted the -wal under it.
	start_daemon
	"$BANGER" status --socket "$SOCK" >/dev/null
	[ -e "$DB-wal" ]
	"$FIXTURE" seed "$DB" 3	# another process writes, then closes its connection
	[ -e "$DB-wal" ]
	[ -e "$DB-shm" ]
	run "$BANGER" status --socket "$SOCK" --json
	[ "$(jq -r .schema.state <<<"$output")" = compatible ]
	stop_daemon
}
