#!/usr/bin/env bats
# Zero downtime under a real systemd, with the shipped units: the control
# socket is bangerd.socket's, so a restart, an update or a rollback of
# bangerd.service never closes it. A client asking for the status as fast
# as the daemon answers (tests/tools/status_loop) runs through each, and no
# request of thousands fails: the ones that arrive while no bangerd runs
# wait in the socket's backlog, and the next bangerd answers them.

load helpers
bats_require_minimum_version 1.5.0

STATUS_LOOP=$BANGER_BUILD/tests/status_loop
SOCK=/run/banger/bangerd.sock

setup() {
	box_setup
	install_old_release
}

teardown() { box_teardown; }

# Start the client in the box (on SOCKET, default the system socket);
# return once it has had its first answer.
loop_start() {
	inbox sh -c "'$STATUS_LOOP' ${1:-$SOCK} 500000 60 30000 3000 > /tmp/loop.out 2> /tmp/loop.err & echo \$! > /tmp/loop.pid"
	for _ in $(seq 100); do inbox grep -q '^ready' /tmp/loop.out && return 0; sleep 0.02; done
	inbox cat /tmp/loop.out /tmp/loop.err >&2
	return 1
}

# Let it run on for a moment (the last daemon answers many), stop it (it
# goes on until it has asked 3000 requests in all), and keep its closing
# line in LOOP.
loop_stop() {
	sleep 0.3
	# shellcheck disable=SC2016 # expanded by the box's sh, not here
	inbox sh -c 'kill -TERM "$(cat /tmp/loop.pid)"'
	for _ in $(seq 500); do inbox grep -q '^requests=' /tmp/loop.out && break; sleep 0.02; done
	LOOP=$(inbox grep '^requests=' /tmp/loop.out)
	echo "client: $LOOP"
	inbox cat /tmp/loop.err
}

loop_field() { sed -n "s/.* \{0,1\}$1=\([^ ]*\).*/\1/p" <<<"$LOOP"; }

# No request failed, and there were thousands of them.
no_request_failed() {
	[ -n "$LOOP" ]
	[ "$(loop_field failed)" = 0 ]
	[ "$(loop_field requests)" -ge 2000 ]
}

@test "the shipped units: enabling the service enabled its socket; bangerd serves on the socket systemd passed" {
	[ "$(inbox systemctl is-enabled bangerd.socket)" = enabled ]
	[ "$(inbox systemctl is-active bangerd.socket)" = active ]
	[ "$(inbox stat -c '%U %a %F' /run/banger)" = "root 700 directory" ]
	[ "$(inbox stat -c '%U %a %F' $SOCK)" = "root 600 socket" ]
	inbox journalctl -u bangerd.service --no-pager | grep -q "on $SOCK (passed by systemd)"
	[ "$(status_json .version)" = 0.0.2 ]
}

@test "systemctl restart, three times, under load: no request of thousands fails; the socket stays the same" {
	inode=$(inbox stat -c %i $SOCK)
	loop_start
	for _ in 1 2 3; do inbox systemctl restart bangerd.service; done
	loop_stop
	no_request_failed
	[ "$(loop_field daemons)" = 4 ]
	[ "$(inbox stat -c %i $SOCK)" = "$inode" ]
}

@test "bangerd killed (SIGKILL) under load: systemd starts it again; the requests meanwhile wait, only one in its hands can be lost" {
	loop_start
	inbox systemctl kill -s KILL bangerd.service
	wait_active
	sleep 0.5	# the requests that waited 1 s were few: thousands more
	loop_stop
	# A killed daemon cannot answer the connection it had accepted (the
	# client is sequential: at most one); every later one waits.
	[ -n "$LOOP" ]
	[ "$(loop_field failed)" -le 1 ]
	[ "$(loop_field requests)" -ge 2000 ]
	[ "$(loop_field daemons)" = 2 ]
	# the requests waited for RestartSec=1s
	awk -v w="$(loop_field worst_ms)" 'BEGIN { exit !(w >= 500) }'
}

@test "the service stopped: the socket still listens, and the next request starts bangerd" {
	inbox systemctl stop bangerd.service 2>/dev/null
	[ "$(inbox systemctl is-active bangerd.service)" = inactive ]
	[ "$(status_json .version)" = 0.0.2 ]
	[ "$(inbox systemctl is-active bangerd.service)" = active ]
}

# User mode: the same units as user units, under root's own user manager
# (the system's pair stopped, so that only one bangerd runs the installed
# binary). The database is root's, so these updates need nothing more.
USOCK=/run/user/0/banger/bangerd.sock
UDB=/root/.local/state/banger/banger.db
uinbox() { inbox env XDG_RUNTIME_DIR=/run/user/0 "$@"; }

start_user_units() {
	inbox systemctl disable --now bangerd.service bangerd.socket 2>/dev/null
	inbox systemctl start user@0.service
	uinbox systemctl --user daemon-reload
	uinbox systemctl --user enable --now bangerd.service 2>/dev/null
	for _ in $(seq 100); do uinbox banger status >/dev/null 2>&1 && break; sleep 0.05; done
	[ "$(uinbox banger status --json | jq -r .version)" = 0.0.2 ]
	[ "$(inbox stat -c '%U %a %F' $USOCK)" = "root 600 socket" ]
	inbox "$FIXTURE" seed "$UDB" 2
}

@test "user mode: a good update through the user manager, under load: no request of thousands fails, old to new" {
	start_user_units
	loop_start $USOCK
	run --separate-stderr uinbox banger update --from "$STAGED_BANGERD" --timeout 30
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	echo "$stderr"
	loop_stop
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"restart: systemd-user:bangerd.service"* ]]
	no_request_failed
	[ "$(loop_field versions)" = "0.0.2>$("$BANGERD" --version)" ]
	[ "$(loop_field daemons)" = 2 ]
}

@test "user mode: a release that crashes, rolled back, under load: no request of thousands fails, only the old version answers" {
	start_user_units
	dump=$(inbox "$FIXTURE" dump "$UDB")
	inbox mkdir -p /root/.config/systemd/user/bangerd.service.d
	printf '[Service]\nEnvironment=BANGER_TEST_CRASH_AFTER_OPEN=1\n' |
		inbox tee /root/.config/systemd/user/bangerd.service.d/crash.conf >/dev/null
	uinbox systemctl --user daemon-reload
	loop_start $USOCK
	run --separate-stderr uinbox banger update --from "$HOOKS/bangerd" --timeout 60
	echo "$stderr"
	loop_stop
	[ "$status" -eq 5 ]
	no_request_failed
	[ "$(loop_field versions)" = 0.0.2 ]
	[ "$(loop_field daemons)" = 2 ]
	[ "$(inbox "$FIXTURE" dump "$UDB")" = "$dump" ]
}

@test "user mode: a release that serves but is unhealthy, rolled back under load: the socket re-activates the old one, no request fails" {
	start_user_units
	dump=$(inbox "$FIXTURE" dump "$UDB")
	inbox mkdir -p /root/.config/systemd/user/bangerd.service.d
	printf '[Service]\nEnvironment=BANGER_TEST_UNHEALTHY=1\n' |
		inbox tee /root/.config/systemd/user/bangerd.service.d/unhealthy.conf >/dev/null
	uinbox systemctl --user daemon-reload
	loop_start $USOCK
	# The rollback stops the new daemon while the socket has connections
	# waiting: systemd starts the service again at once, on the old binary
	# (already back), while the database is being restored.
	run --separate-stderr uinbox banger update --from "$HOOKS/bangerd" --timeout 3
	echo "$stderr"
	loop_stop
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"is not healthy: version $("$BANGERD" --version), schema unknown"* ]]
	no_request_failed
	[ "$(loop_field versions)" = "0.0.2>$("$BANGERD" --version)>0.0.2" ]
	[ "$(inbox "$FIXTURE" dump "$UDB")" = "$dump" ]
	[ "$(uinbox systemctl --user is-active bangerd.socket)" = active ]
}

# These two need the sandboxed check to read the DynamicUser database (the
# check run as the database's owner): before that, banger update refuses
# with exit 3 ("cannot open: Permission denied").

@test "a good update under load: no request of thousands fails, and the version seen goes from old to new" {
	seed_rows
	loop_start
	run --separate-stderr inbox banger update --system --from "$STAGED_BANGERD" --timeout 30
	echo "$stderr"
	loop_stop
	[ "$status" -eq 0 ]
	no_request_failed
	[ "$(loop_field versions)" = "0.0.2>$("$BANGERD" --version)" ]
	[ "$(loop_field daemons)" = 2 ]
}

@test "a release that crashes, rolled back, under load: no request of thousands fails, and only the old version answers" {
	seed_rows
	inbox mkdir -p /etc/systemd/system/bangerd.service.d
	printf '[Service]\nEnvironment=BANGER_TEST_CRASH_AFTER_OPEN=1\n' |
		inbox tee /etc/systemd/system/bangerd.service.d/crash.conf >/dev/null
	inbox systemctl daemon-reload
	loop_start
	run --separate-stderr inbox banger update --system --from "$HOOKS/bangerd" --timeout 60
	echo "$stderr"
	loop_stop
	[ "$status" -eq 5 ]
	no_request_failed
	[ "$(loop_field versions)" = 0.0.2 ]
	[ "$(loop_field daemons)" = 2 ]
	# shellcheck disable=SC2153 # DUMP is helpers.bash's (seed)
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
}
