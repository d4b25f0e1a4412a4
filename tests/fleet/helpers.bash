# The fleet suite: each test boots its own hosts (tests/fleet/fleet: boxes
# with their own sshd on 127.0.77.K), installs the old release on each as
# an operator would (tests/system/helpers.bash's install_old_release), runs
# packaging/ansible/rollout.yml over SSH, and tears everything down.
load ../integration/helpers

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
FLEET=$REPO/tests/fleet/fleet
PLAYBOOK=$REPO/packaging/ansible/rollout.yml
# shellcheck disable=SC2034 # read by the .bats files that load this one
HOOKS=$BANGER_BUILD/hooks
SDB=/var/lib/private/banger/banger.db	# where DynamicUser keeps the system database
N=${FLEET_HOSTS:-3}

# fleet_setup [INSTALL]: boot N hosts and run INSTALL K on each (default:
# install_old_release).
fleet_setup() {
	[ "$(id -u)" -eq 0 ] || skip "booting systemd hosts in namespaces needs root"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		skip "no overlayfs on this kernel"
	[ -x /lib/systemd/systemd ] || skip "systemd is not installed"
	[[ "$BANGER_BUILD" != */sanitize ]] || skip "the fleet suite runs in make check, unsanitized"
	command -v ansible-playbook >/dev/null || skip "ansible-core is not installed (make deps)"
	[ -x /usr/sbin/sshd ] || skip "openssh-server is not installed (make deps)"
	FLEETD=$(mktemp -d "$BANGER_BUILD/fleet.XXXXXX")
	"$FLEET" up "$FLEETD" "$N" >/dev/null
	local k
	for ((k = 1; k <= N; k++)); do "${1:-install_old_release}" "$k" & done
	wait_all
	RELEASE=$STAGED_BANGERD
	# shellcheck disable=SC2034 # read by the .bats files that load this one
	NEW_VERSION=$("$RELEASE" --version)
	SUMMARY=$FLEETD/summary.json
}

fleet_teardown() {
	[ -n "${PLAY_PID:-}" ] && kill -9 -- "-$PLAY_PID" 2>/dev/null
	[ -n "${FLEETD:-}" ] || return 0
	[ -f "$FLEETD/play.log" ] && cp "$FLEETD/play.log" "$BANGER_BUILD/fleet-last-play.log"
	"$FLEET" down "$FLEETD"
	nothing_left "$FLEETD"
	FLEETD=
}

# Wait for every background job; fail when any failed.
wait_all() {
	local rc=0 j
	for j in $(jobs -p); do wait "$j" || rc=1; done
	return $rc
}

# Run a command in host K.
on() { local k=$1; shift; "$FLEET" exec "$FLEETD" "$k" "$@"; }
host_sha() { on "$1" sha256sum "$2" | cut -d' ' -f1; }
status_of() { on "$1" banger status --system --json | jq -r "$2"; }

# The source install of the README, then the old release (0.0.2, knows
# migrations 1 2) in place of this tree's bangerd, enabled and started,
# with rows for the update to keep.
install_old_release() {
	local k=$1
	on "$k" make -s -C "$REPO" BUILD_DIR="$BANGER_BUILD" install PREFIX=/usr/local >/dev/null
	on "$k" install -m 0755 "$BANGERD_R2" /usr/local/bin/bangerd
	on "$k" systemctl daemon-reload
	on "$k" systemctl enable --now bangerd.service 2>/dev/null
	wait_active "$k"
	on "$k" "$FIXTURE" seed "$SDB" 2
}

wait_active() {
	for _ in $(seq 100); do
		[ "$(on "$1" systemctl is-active bangerd.service)" = active ] &&
			on "$1" banger status --system >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	on "$1" systemctl status bangerd.service --no-pager >&2 || true
	return 1
}

# What a host is: the daemon's version and schema, the binaries' hashes,
# every row of the database, and what lies in the staging directory.
host_state() {
	local k=$1
	echo "version $(status_of "$k" .version) $(status_of "$k" .schema.state)"
	on "$k" sha256sum /usr/local/bin/bangerd
	on "$k" sh -c 'ls -A /usr/local/bin /var/lib/private/banger; [ ! -e /var/lib/banger-rollout ] || echo staged'
	on "$k" "$FIXTURE" dump "$SDB"
}

# ansible-playbook over SSH with the controller's environment (fleet run:
# a timeout on every call); its output in $output, its exit in $status.
rollout() {
	run "$FLEET" run "$FLEETD" ansible-playbook "$PLAYBOOK" -e banger_summary="$SUMMARY" "$@"
	echo "$output" > "$FLEETD/play.log"
}

# The same in the background, in its own session (so that a test can
# SIGKILL the controller and everything it started): the output goes to
# $FLEETD/play.log as it comes; rollout_wait sets $status and $output.
rollout_bg() {
	setsid "$FLEET" run "$FLEETD" ansible-playbook "$PLAYBOOK" -e banger_summary="$SUMMARY" "$@" \
		> "$FLEETD/play.log" 2>&1 &
	PLAY_PID=$!
}

rollout_wait() {
	status=0
	# shellcheck disable=SC2034 # bats' status, read by the test that waits
	wait "$PLAY_PID" || status=$?
	PLAY_PID=
	output=$(cat "$FLEETD/play.log")
}

# Wait (up to 60 s) until host K's update has swapped: its .prev is there.
wait_swapped() {
	for _ in $(seq 1200); do on "$1" test -e /usr/local/bin/bangerd.prev && return 0; sleep 0.05; done
	return 1
}

# result of HOST in the summary
summary_of() { jq -r --arg h "$1" '.[] | select(.host == $h) | .'"$2" "$SUMMARY"; }

# Nothing of the fleet may outlive it: no process, no listener, no mount,
# no cgroup.
nothing_left() {
	local dir=$1 left
	left=$(pgrep -af -- "$dir" || true)
	[ -z "$left" ] || { echo "left running: $left"; return 1; }
	left=$(ss -Hltn "src ${FLEET_NET:-127.0.77}.0/24" 2>/dev/null || true)
	[ -z "$left" ] || { echo "left listening: $left"; return 1; }
	left=$(grep -F -- "$dir" /proc/self/mountinfo || true)
	[ -z "$left" ] || { echo "left mounted: $left"; return 1; }
	left=$(ls -d /sys/fs/cgroup/*/banger-box-"$(basename "$dir")"-* 2>/dev/null || true)
	[ -z "$left" ] || { echo "left cgroups: $left"; return 1; }
	[ ! -e "$dir" ] || { echo "left: $dir"; return 1; }
}
