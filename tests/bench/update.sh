#!/usr/bin/env bash
# 4. banger update's downtime, with real daemons, as tests/integration/
# update.bats runs them: the installed bangerd serves a state dir; banger
# update (installed beside it) replaces it through a --restart-cmd script
# that stops the pidfile's daemon and starts the installed binary again.
# A poller (measure poll-status) asks for the status every millisecond;
# the downtime is from the old daemon's last answer to the new one's
# first. Two scenarios:
#   migrate     0.0.2 (release-2, migrations 1-2) -> this build: backup,
#               swap, restart, and the new daemon applies migration 3
#               before it listens
#   compatible  this build -> this build: swap and restart, no migration
set -euo pipefail
# shellcheck source=tests/bench/lib.bash
source "$(dirname "$0")/lib.bash"

new_version=$("$BANGERD" --version)
export XDG_RUNTIME_DIR=	# the socket lives in the state dir
unset BANGER_STATE_DIR XDG_STATE_HOME

# one_update SCENARIO N: prints "DOWNTIME_MS UPDATE_MS STOP_MS".
one_update() {
	local scenario=$1 dir=$WORK/update/$1-$2 old old_version
	case $scenario in
	migrate) old=$BUILD/release-2/bangerd ;;
	compatible) old=$BANGERD ;;
	esac
	old_version=$("$old" --version)
	mkdir -p "$dir/inst/bin" "$dir/state"
	cp "$old" "$dir/inst/bin/bangerd"
	cp "$BANGER" "$dir/inst/bin/banger"
	# How the bench restarts its service: stop the pidfile's daemon
	# (SIGTERM, then wait for its exit through a pidfd: no polling
	# interval is added), start the installed binary. A systemd restart
	# would do the same: stop, wait for the exit, start.
	cat > "$dir/restart.sh" <<-SH
	#!/bin/sh
	dir=\$(dirname "\$0")
	[ -f "\$dir/daemon.pid" ] && "$MEASURE" stop "\$(cat "\$dir/daemon.pid")" >> "\$dir/stop.log"
	"\$dir/inst/bin/bangerd" --state-dir "\$dir/state" >>"\$dir/daemon.log" 2>&1 &
	echo \$! > "\$dir/daemon.pid"
	echo "\$! \$(cut -d' ' -f22 /proc/\$!/stat)" >> "$WORK/pids"
	SH
	chmod +x "$dir/restart.sh"
	"$dir/restart.sh"
	local sock=$dir/state/bangerd.sock
	for _ in $(seq 200); do
		"$dir/inst/bin/banger" status --socket "$sock" >/dev/null 2>&1 && break
		sleep 0.02
	done
	"$FIXTURE" seed "$dir/state/banger.db" "$([ "$scenario" = migrate ] && echo 2 || echo 3)"
	"$MEASURE" poll-status "$sock" "$old_version" "$new_version" 60 > "$dir/poll.out" &
	local poller=$!
	started "$poller"
	sleep 0.2	# the poller has seen the old daemon
	local rc=0
	"$dir/inst/bin/banger" update --state-dir "$dir/state" --restart-cmd "$dir/restart.sh" \
		--timeout 30 --from "$BANGERD" > "$dir/update.out" 2> "$dir/update.err" || rc=$?
	wait "$poller" || true
	"$MEASURE" stop "$(cat "$dir/daemon.pid")" >/dev/null || true
	if [ "$rc" != 0 ] || ! grep -q 'downtime_ms=[0-9]' "$dir/poll.out"; then
		log "$scenario run $2: update exited $rc; poller: $(cat "$dir/poll.out")"
		sed 's/^/  /' "$dir/update.err" >&2
		return 1
	fi
	local down total stop
	down=$(sed -n 's/.*downtime_ms=\([0-9.]*\).*/\1/p' "$dir/poll.out")
	# banger's own progress lines: "banger: [  123 ms] done: ..."
	total=$(sed -n 's/^banger: \[ *\([0-9]*\) ms\] done.*/\1/p' "$dir/update.err" | tail -1)
	stop=$(sed -n 's/.* ms=\([0-9.]*\).*/\1/p' "$dir/stop.log" | head -1)
	echo "$down ${total:-?} ${stop:-?}"
	rm -rf "$dir"
}

log "$BENCH_UPDATE_RUNS updates per scenario, alternating"
mkdir -p "$WORK/update"
: > "$WORK/update/migrate" ; : > "$WORK/update/compatible"
for ((r = 1; r <= BENCH_UPDATE_RUNS; r++)); do
	for scenario in migrate compatible; do
		one_update "$scenario" "$r" >> "$WORK/update/$scenario"
	done
done

med() { awk -v c="$2" '{ print $c }' "$WORK/update/$1" | median; }
mig=$(fmt '%.1f' "$(med migrate 1)") comp=$(fmt '%.1f' "$(med compatible 1)")
result 4a "update downtime, 0.0.2 -> $new_version (migration 3 applied on start), median of $BENCH_UPDATE_RUNS" "$mig ms" "-" "-"
result 4b "update downtime, $new_version -> $new_version (no migration), median of $BENCH_UPDATE_RUNS" "$comp ms" "-" "-"

{
	cat <<-MD
	## 4. Update downtime

	Real daemons, as \`tests/integration/update.bats\` runs them: the
	installed bangerd serves a state dir (seeded by the fixture); \`banger
	update --from build/bangerd --restart-cmd restart.sh\` (installed beside
	it) stages, verifies, checks in the sandbox, backs up when migrations
	are needed, swaps, runs the restart script, and waits for the new
	daemon's health. The restart script stops the daemon of the pidfile
	(\`measure stop\`: SIGTERM, then its exit seen through a pidfd, no
	polling) and starts the installed binary in the background. A poller
	(\`measure poll-status\`) asks the socket for the status every
	millisecond from before the update until the new daemon (a new pid, the
	new version) answers. **Downtime** is from the old daemon's last answer
	to the new daemon's first: it includes the old daemon's clean shutdown,
	the start of the new one (with migration 3 in the first scenario), and
	up to 1 ms of poll interval. The scenarios alternate, $BENCH_UPDATE_RUNS runs each;
	times in ms.

	| scenario | downtime: median (min - max) | old daemon's stop (SIGTERM to exit), median | whole \`banger update\`, median |
	| --- | --- | --- | --- |
	MD
	for s in migrate compatible; do
		case $s in
		migrate) what="0.0.2 -> $new_version: backup, migration 3 on start" ;;
		compatible) what="$new_version -> $new_version: no migration" ;;
		esac
		echo "| $what | $(fmt '%.1f' "$(med "$s" 1)") ($(fmt '%.1f' "$(awk '{ print $1 }' "$WORK/update/$s" | sort -g | head -1)") - $(fmt '%.1f' "$(awk '{ print $1 }' "$WORK/update/$s" | sort -g | tail -1)")) | $(fmt '%.1f' "$(med "$s" 3)") | $(med "$s" 2) |"
	done
	echo
	echo "The whole update includes what happens while the old daemon still serves (staging, verifying, the sandboxed check, the backup), and after the new one answers (banger's health check, which polls the socket)."
} | detail
