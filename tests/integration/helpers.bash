# Shared by the bats suites. BANGER_BUILD is set by tests/run (default: build).
BANGER_BUILD=${BANGER_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
BANGERD=$BANGER_BUILD/bangerd
# shellcheck disable=SC2034 # read by the .bats files that load this one
BANGERD_R1=$BANGER_BUILD/release-1/bangerd	# knows migrations 1
# shellcheck disable=SC2034 # read by the .bats files that load this one
BANGERD_R2=$BANGER_BUILD/release-2/bangerd	# knows migrations 1 2
FIXTURE=$BANGER_BUILD/tests/fixture
# The bangerd that banger stages and runs in the sandbox (unsanitized in
# check-sanitize: see the Makefile).
STAGED_BANGERD=$BANGER_BUILD/plain/bangerd
[ -x "$STAGED_BANGERD" ] || STAGED_BANGERD=$BANGERD

common_setup() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/banger-bats.XXXXXX")
	DB=$WORK/banger.db
	unset BANGER_STATE_DIR XDG_STATE_HOME XDG_RUNTIME_DIR
	# The update's journal and lock: root's own directory (0700), private
	# to the test, never the machine's /var/lib/banger-update; beside
	# WORK, so that what a test sees in WORK is what banger left there.
	BANGER_UPDATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/banger-update.XXXXXX")
	export BANGER_UPDATE_DIR
}

common_teardown() {
	# a writer left running by a failed test must not outlive it
	[ -n "${HOLDER_PID:-}" ] && kill -9 "$HOLDER_PID" 2>/dev/null
	rm -rf "$WORK" "${BANGER_UPDATE_DIR:-}"
}

# A listing of every file in a directory with its bytes' hash, mode and
# size: equal listings before and after mean nothing was created, changed
# or removed.
dir_state() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %s ' -exec sh -c \
		'[ -f "$1" ] && sha256sum < "$1" | cut -c1-64 || echo -' _ {} \; | sort)
}

# Start a writer that stays (fixture hold ...); sets HOLDER_PID and HOLDER_IN.
hold() {
	local fifo=$WORK/.holder-in
	mkfifo "$fifo"
	"$FIXTURE" hold "$@" < "$fifo" > "$WORK/.holder-out" &
	HOLDER_PID=$!
	exec {HOLDER_IN}> "$fifo"
	rm -f "$fifo"
	for _ in $(seq 100); do
		grep -q ready "$WORK/.holder-out" 2>/dev/null && { rm -f "$WORK/.holder-out"; return 0; }
		kill -0 "$HOLDER_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

hold_kill() {
	kill -9 "$HOLDER_PID"
	wait "$HOLDER_PID" 2>/dev/null || true
	exec {HOLDER_IN}>&-
	HOLDER_PID=
}

hold_release() {
	exec {HOLDER_IN}>&-
	wait "$HOLDER_PID"
	HOLDER_PID=
}

# A fully migrated rollback-journal database whose writer was killed in the
# middle of a transaction big enough to spill into the main file: its
# -journal is hot, and only a writer may roll it back.
make_hot_journal() {
	"$BANGERD" --db "$DB" --migrate >/dev/null
	"$FIXTURE" exec "$DB" "PRAGMA journal_mode = DELETE"
	hold "$DB" delete open "INSERT INTO schema_migrations VALUES (99, 'x', 'y');
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO images (name, digest, size_bytes, created_at) SELECT 'i' || i, printf('%0200d', i), i, 'now' FROM n"
	hold_kill
}

# start_daemon [bangerd]: a bangerd of the test's own (daemon.bats,
# crowd.bats) serving $DB on $SOCK, $DAEMON its pid; waits until status
# answers.
start_daemon() {
	"${1:-$BANGERD}" --db "$DB" --socket "$SOCK" 2>"$WORK/daemon.log" &
	DAEMON=$!
	for _ in $(seq 100); do
		"$BANGER_BUILD/banger" status --socket "$SOCK" >/dev/null 2>&1 && return 0
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

# A restart command as a service manager would be, at $WORK/restart.sh:
# stop the daemon of $WORK/daemon.pid, start $WORK/inst/bin/bangerd on
# $WORK/state again (update.bats, rehearse_update.bats).
write_restart_script() {
	cat > "$WORK/restart.sh" <<-'SH'
	#!/bin/sh
	# stop the daemon of the pidfile, start the installed bangerd again
	dir=$(dirname "$0")
	if [ -f "$dir/daemon.pid" ]; then
		pid=$(cat "$dir/daemon.pid"); kill "$pid" 2>/dev/null
		# gone, or a zombie that this machine's init has yet to reap
		while [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.02; done
	fi
	"$dir/inst/bin/bangerd" --state-dir "$dir/state" >>"$dir/daemon.log" 2>&1 &
	echo $! > "$dir/daemon.pid"
	SH
	chmod +x "$WORK/restart.sh"
}

# policy_covers POLICY COMMAND...: run COMMAND under strace; every system
# call it makes (but the execve strace makes to start it) must have a line
# in POLICY, or say which do not (policy_trace*.bats: a policy derived with
# strace stays so).
policy_covers() {
	local policy=$1 missing='' sc
	shift
	strace -f -qq -o "$WORK/.trace" "$@" >/dev/null 2>&1 || true
	while read -r sc; do
		grep -qE "^${sc}\??( |$)" "$policy" || missing="$missing $sc"
	done < <(sed -E 's/^[0-9]+ +//; s/\(.*//' "$WORK/.trace" | grep -E '^[a-z_0-9]+$' |
		grep -vx execve | sort -u)
	rm -f "$WORK/.trace"
	[ -z "$missing" ] || { echo "not in the policy:$missing"; return 1; }
}
