#!/usr/bin/env bats
# User mode under the user's own systemd: a non-root user's install
# (make install PREFIX=~/.local) whose user unit the user's manager runs;
# banger update, run by that user, restarts it through systemctl --user,
# never through the system's manager.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	box_setup
	inbox useradd -m -s /bin/bash op
	OP_UID=$(inbox id -u op)
	HOME_OP=/home/op
	# the README's user install (as root here only because the build tree
	# is root's: the files are the user's afterwards)
	inbox make -s -C "$REPO" BUILD_DIR="$BANGER_BUILD" install PREFIX="$HOME_OP/.local" >/dev/null
	inbox install -m 0755 "$BANGERD_R2" "$HOME_OP/.local/bin/bangerd"
	# What op runs from the build tree, in op's own home: the checkout may
	# sit in a directory op cannot enter (a CI clone in a 0700 dir).
	inbox install -d -o op -g op "$HOME_OP/rel"
	inbox install -m 0755 "$STAGED_BANGERD" "$HOME_OP/rel/bangerd-new"
	inbox install -m 0755 "$HOOKS/bangerd" "$HOME_OP/rel/bangerd-crash"
	inbox install -m 0755 "$FIXTURE" "$HOME_OP/rel/fixture"
	OP_FIXTURE=$HOME_OP/rel/fixture
	inbox chown -R op:op "$HOME_OP/.local" "$HOME_OP/rel"
	inbox loginctl enable-linger op
	for _ in $(seq 100); do inbox test -S "/run/user/$OP_UID/systemd/private" && break; sleep 0.05; done
	as_op systemctl --user daemon-reload
	as_op systemctl --user enable --now bangerd.service 2>/dev/null
	wait_user_active
	UDB=$HOME_OP/.local/state/banger/banger.db
	as_op "$OP_FIXTURE" seed "$UDB" 2
	ROWS=$(as_op "$OP_FIXTURE" list "$UDB")
	OLD_SHA=$(box_sha "$HOME_OP/.local/bin/bangerd")
}

teardown() { box_teardown; }

# A command as op, with the environment a login gives it.
as_op() {
	inbox runuser -u op -- env HOME="$HOME_OP" XDG_RUNTIME_DIR="/run/user/$OP_UID" \
		PATH="$HOME_OP/.local/bin:/usr/bin:/bin" "$@"
}

wait_user_active() {
	for _ in $(seq 100); do
		[ "$(as_op systemctl --user is-active bangerd.service)" = active ] &&
			as_op banger status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	as_op systemctl --user status bangerd.service --no-pager >&2 || true
	return 1
}

user_version() { as_op banger status --json | jq -r .version; }

@test "the user unit is where the user's manager looks, and runs the user's own bangerd" {
	inbox test -f "$HOME_OP/.local/share/systemd/user/bangerd.service"
	[ "$(as_op systemctl --user show -p ExecStart --value bangerd.service | grep -o "path=[^ ;]*")" = \
		"path=$HOME_OP/.local/bin/bangerd" ]
	[ "$(user_version)" = 0.0.2 ]
}

@test "an update by the user restarts through systemctl --user: healthy, every row" {
	pid=$(as_op banger status --json | jq -r .pid)
	run --separate-stderr as_op banger update --from "$HOME_OP/rel/bangerd-new" --timeout 30
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"restart: systemd-user:bangerd.service"* ]]
	[[ "$stderr" != *"Interactive authentication"* ]]
	[ "$(user_version)" = "$("$BANGERD" --version)" ]
	[ "$(as_op banger status --json | jq -r .pid)" != "$pid" ]
	[ "$(as_op "$OP_FIXTURE" list "$UDB")" = "$ROWS" ]
	[ -z "$(inbox find "$HOME_OP/.local" ! -user op)" ]
}

@test "a crashing release updated by the user: exit 5, rolled back through systemctl --user" {
	inbox mkdir -p "$HOME_OP/.config/systemd/user/bangerd.service.d"
	printf '[Service]\nEnvironment=BANGER_TEST_CRASH_AFTER_OPEN=1\n' |
		inbox tee "$HOME_OP/.config/systemd/user/bangerd.service.d/crash.conf" >/dev/null
	inbox chown -R op:op "$HOME_OP/.config"
	as_op systemctl --user daemon-reload
	run --separate-stderr as_op banger update --from "$HOME_OP/rel/bangerd-crash" --timeout 60
	echo "$stderr"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"systemd says bangerd.service"* ]]
	wait_user_active
	[ "$(user_version)" = 0.0.2 ]
	[ "$(box_sha "$HOME_OP/.local/bin/bangerd")" = "$OLD_SHA" ]
	[ "$(as_op "$OP_FIXTURE" list "$UDB")" = "$ROWS" ]
}

@test "the user unit runs in the sandbox a user manager gives: no capability, seccomp, namespaces of its own, read-only but for its state" {
	pid=$(as_op systemctl --user show -p MainPID --value bangerd.service)
	[ "$pid" -gt 0 ]
	inbox grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd|CapAmb):' "/proc/$pid/status"
	# shellcheck disable=SC2016 # awk's own $1 and $2
	field() { inbox awk -v f="$1:" '$1 == f {print $2}' "/proc/$pid/status"; }
	[ "$(field NoNewPrivs)" = 1 ]
	[ "$(field Seccomp)" = 2 ]
	[ "$(field CapBnd)" = 0000000000000000 ]
	for ns in user mnt net uts; do
		[ "$(inbox readlink "/proc/$pid/ns/$ns")" != "$(inbox readlink "/proc/1/ns/$ns")" ] ||
			{ echo "the host's $ns namespace"; false; }
	done
	# in its mount namespace: read-only everywhere but its state directory
	# (tried as root, whom only a read-only mount stops)
	for path in "$HOME_OP" "$HOME_OP/.local/bin" /etc /var/tmp/.. /usr; do
		run inbox nsenter -t "$pid" -m -- touch "$path/.probe"
		[ "$status" -ne 0 ] && [[ "$output" == *"Read-only file system"* ]] ||
			{ echo "$path: $output"; false; }
	done
	inbox nsenter -t "$pid" -m -- sh -c "touch '$HOME_OP/.local/state/banger/.probe' &&
		rm '$HOME_OP/.local/state/banger/.probe'"
	[ -z "$(inbox find "$HOME_OP" /etc -name .probe)" ]
	# and systemd itself, asked about the running unit
	run as_op systemd-analyze security --user bangerd.service
	level=$(sed -n 's/.*Overall exposure level for bangerd.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "exposure: $level"
	[ -n "$level" ] || { echo "$output"; false; }
	awk -v l="$level" 'BEGIN { exit !(l <= 1.0) }'
}
