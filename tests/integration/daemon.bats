#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2119 # start_daemon's argument is optional: the calls without one mean no argument; each @test runs in a subshell of its own: what one sets is meant for it alone
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

@test "serves: private socket in a private directory, status answers" {
	start_daemon
	[ "$(stat -c %a "$WORK/run")" = 700 ]
	[ "$(stat -c %a "$SOCK")" = 600 ]
	run "$BANGER" status --socket "$SOCK"
	[ "$status" -eq 0 ]
	# shellcheck disable=SC2153 # BANGERD is helpers.bash's (load)
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
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
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
	for _ in 1 2 3; do
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

# A rollback-journal writer whose transaction spilled into the main file
# holds a pending lock: every attempt to switch to WAL waits out the busy
# handler first. Counting only its own sleeps, the retry loop waited 500
# busy timeouts (about 40 minutes) before it said anything.
@test "serving a database a writer keeps locked: a clear 'locked' error within the busy timeout, not a hang" {
	"$BANGERD" --db "$DB" --migrate >/dev/null
	"$FIXTURE" exec "$DB" "PRAGMA journal_mode = DELETE"
	hold "$DB" delete open "INSERT INTO schema_migrations VALUES (99, 'x', 'y');
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO images (name, digest, size_bytes, created_at) SELECT 'i' || i, printf('%0200d', i), i, 'now' FROM n"
	run --separate-stderr timeout 60 "$BANGERD" --db "$DB" --socket "$SOCK"
	hold_kill
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot open the store: $DB: cannot switch to WAL: database is locked"* ]]
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

# ---- socket activation (LISTEN_FDS / LISTEN_PID, sd_listen_fds(3)) ----

# activated VAR=VALUE...: exec $BANGERD_EXEC $BANGERD_ARGS with LISTEN_PID
# set to its own pid (the shell execs it, and is exec'd itself, so that a
# background "activated ... &" is the daemon's pid) and the given LISTEN_*
# values; fd 3 is the caller's.
activated() {
	exec sh -c 'export LISTEN_PID=$$ "$@"; exec "$BANGERD_EXEC" $BANGERD_ARGS' sh "$@"
}

@test "socket activation: bangerd serves on the passed socket, binds none of its own, and leaves it on SIGTERM" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
	mkdir -p "$WORK/run"
	systemd-socket-activate -l "$WORK/run/passed.sock" \
		"$BANGERD" --db "$DB" --socket "$SOCK" 2>"$WORK/daemon.log" &
	DAEMON=$!
	for _ in $(seq 100); do
		"$BANGER" status --socket "$WORK/run/passed.sock" >/dev/null 2>&1 && break
		sleep 0.05
	done
	run "$BANGER" status --socket "$WORK/run/passed.sock" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .pid <<<"$output")" = "$DAEMON" ]	# systemd-socket-activate execs it
	[ ! -e "$SOCK" ]
	grep -q "on $WORK/run/passed.sock (passed by systemd)" "$WORK/daemon.log"
	# the descriptor is close-on-exec now (O_CLOEXEC in fdinfo's octal flags)
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$DAEMON/fdinfo/3")
	[ $((8#$flags & 8#2000000)) -ne 0 ]
	stop_daemon
	[ -S "$WORK/run/passed.sock" ]	# systemd's, not ours to remove
	[ ! -e "$SOCK" ]
}

@test "SIGTERM: a connection already accepted still gets its answer before bangerd exits" {
	start_daemon
	sleep 0.05	# start_daemon's last connection closed
	local fds
	# shellcheck disable=SC2012 # /proc/PID/fd: its names are numbers, ls only counts them
	fds=$(ls "/proc/$DAEMON/fd" | wc -l)
	coproc CLIENT { "$LISTEN" halves "$SOCK" '{"cmd":"status"}' 5; }
	# copies: bash closes a coprocess's own descriptors when it exits
	exec {from}<&"${CLIENT[0]}" {to}>&"${CLIENT[1]}"
	read -r line <&"$from"
	[ "$line" = ready ]	# connected
	read -r line <&"$from"
	[ "$line" = sent ]	# the request, but for its newline
	# accepted once the daemon holds one more descriptor (a connection
	# without its line has LINE_DEADLINE_MS from its accept: no long sleeps)
	for _ in $(seq 100); do
		# shellcheck disable=SC2012 # /proc/PID/fd: its names are numbers, ls only counts them
		[ "$(ls "/proc/$DAEMON/fd" | wc -l)" -gt "$fds" ] && break
		sleep 0.01
	done
	kill -TERM "$DAEMON"
	sleep 0.1
	kill -0 "$DAEMON"	# still answering the one it has
	echo >&"$to"
	read -r answer <&"$from"
	exec {from}<&- {to}>&-
	[ "$(jq -r .pid <<<"$answer")" = "$DAEMON" ]
	wait "$DAEMON"
	DAEMON=
	[ ! -e "$SOCK" ]
}

@test "LISTEN_PID of another process, or LISTEN_FDS=0: ignored, bangerd binds its own socket" {
	LISTEN_PID=1 LISTEN_FDS=1 start_daemon 3</dev/null
	stop_daemon
	# right pid, no descriptors
	BANGERD_EXEC=$BANGERD BANGERD_ARGS="--db $DB --socket $SOCK" activated LISTEN_FDS=0 \
		2>"$WORK/daemon.log" &
	DAEMON=$!
	for _ in $(seq 100); do "$BANGER" status --socket "$SOCK" >/dev/null 2>&1 && break; sleep 0.05; done
	run "$BANGER" status --socket "$SOCK" --json
	[ "$(jq -r .pid <<<"$output")" = "$DAEMON" ]
	stop_daemon
}

@test "a passed descriptor that is not a listening Unix stream socket: one clear line, exit 1, the store not opened" {
	export BANGERD_EXEC=$BANGERD BANGERD_ARGS="--db $DB --socket $SOCK"
	mkdir -p "$WORK/run"
	run --separate-stderr activated LISTEN_FDS=1 3</dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "bangerd: descriptor 3 passed by systemd (LISTEN_FDS) is not a listening Unix stream socket: not a socket" ]
	run --separate-stderr activated LISTEN_FDS=1 3<&-
	[ "$status" -eq 1 ]
	[[ "$stderr" == "bangerd: descriptor 3 passed by systemd (LISTEN_FDS=1): Bad file descriptor" ]]
	# a datagram socket, a TCP socket and an accepted connection, as
	# systemd-socket-activate passes them
	if command -v systemd-socket-activate >/dev/null; then
		systemd-socket-activate --datagram -l "$WORK/run/dgram.sock" "$BANGERD" --db "$DB" \
			--socket "$SOCK" 2>"$WORK/dgram.log" &
		local a=$!
		for _ in $(seq 200); do [ -S "$WORK/run/dgram.sock" ] && break; sleep 0.05; done
		logger -u "$WORK/run/dgram.sock" --socket-errors=off x
		wait $a || [ $? -eq 1 ]
		grep -qx "bangerd: descriptor 3 passed by systemd (LISTEN_FDS) is not a listening Unix stream socket: a datagram socket" "$WORK/dgram.log"
		port=$((20000 + RANDOM % 20000))
		systemd-socket-activate -l "127.0.0.1:$port" "$BANGERD" --db "$DB" --socket "$SOCK" \
			2>"$WORK/tcp.log" &
		a=$!
		for _ in $(seq 200); do (exec 5<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
		wait $a || [ $? -eq 1 ]
		grep -qx "bangerd: descriptor 3 passed by systemd (LISTEN_FDS) is not a listening Unix stream socket: address family 2, not AF_UNIX" "$WORK/tcp.log"
		systemd-socket-activate --accept -l "$WORK/run/accept.sock" "$BANGERD" --db "$DB" \
			--socket "$SOCK" 2>"$WORK/accept.log" &
		a=$!
		# connect until one came through (the file exists a moment before
		# it listens); each connection is a bangerd of its own
		for _ in $(seq 200); do
			"$LISTEN" ask "$WORK/run/accept.sock" '{"cmd":"status"}' 2 >/dev/null 2>&1 || true
			grep -q 'not listening' "$WORK/accept.log" && break
			sleep 0.05
		done
		kill "$a" 2>/dev/null; wait "$a" 2>/dev/null || true
		grep -q "bangerd: descriptor 3 passed by systemd (LISTEN_FDS) is not a listening Unix stream socket: not listening" "$WORK/accept.log"
	fi
	[ ! -e "$DB" ]
	[ ! -e "$SOCK" ]
}

@test "LISTEN_PID or LISTEN_FDS that is not a number, or more than one descriptor: refused with one line" {
	export BANGERD_EXEC=$BANGERD BANGERD_ARGS="--db $DB --socket $SOCK"
	run --separate-stderr env LISTEN_PID=abc LISTEN_FDS=1 "$BANGERD" --db "$DB" --socket "$SOCK"
	[ "$status" -eq 1 ]
	[ "$stderr" = "bangerd: LISTEN_PID=abc is not a process id" ]
	run --separate-stderr activated LISTEN_FDS=1x 3</dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "bangerd: LISTEN_FDS=1x is not a count of descriptors" ]
	run --separate-stderr activated LISTEN_FDS=2 3</dev/null 4</dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == "bangerd: systemd passed 2 descriptors (LISTEN_FDS); bangerd listens on exactly one"* ]]
	[ ! -e "$DB" ]
}
