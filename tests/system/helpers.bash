# The systemd suites: each test boots its own box (tests/system/box: a real
# systemd as PID 1 of its own namespaces, on an overlay of /), installs
# banger into it as an operator would, and tears it down. BANGER_BUILD is
# set by tests/run.
load ../integration/helpers

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BOX=$REPO/tests/system/box
# shellcheck disable=SC2034 # read by the .bats files that load this one
HOOKS=$BANGER_BUILD/hooks
SDB=/var/lib/private/banger/banger.db	# where DynamicUser keeps the system database

box_setup() {
	[ "$(id -u)" -eq 0 ] || skip "booting systemd in a namespace needs root"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		skip "no overlayfs on this kernel"
	[ -x /lib/systemd/systemd ] || skip "systemd is not installed"
	# The box runs the binaries under a hardened unit; the sanitizers'
	# runtime is not made for that (the plain make check runs this suite).
	[[ "$BANGER_BUILD" != */sanitize ]] || skip "the systemd suite runs in make check, unsanitized"
	BOXD=$(mktemp -d "$BANGER_BUILD/box.XXXXXX")
	"$BOX" start "$BOXD" >/dev/null
}

box_teardown() {
	[ -n "${BOXD:-}" ] && "$BOX" stop "$BOXD"
	BOXD=
}

# Run a command in the box.
inbox() { "$BOX" exec "$BOXD" "$@"; }
box_sha() { inbox sha256sum "$1" | cut -d' ' -f1; }

# The source install of the README, then the old release (0.0.2, knows
# migrations 1 2) in place of this tree's bangerd, enabled and started.
install_old_release() {
	inbox make -s -C "$REPO" BUILD_DIR="$BANGER_BUILD" install PREFIX=/usr/local >/dev/null
	inbox install -m 0755 "$BANGERD_R2" /usr/local/bin/bangerd
	inbox systemctl daemon-reload
	inbox systemctl enable --now bangerd.service 2>/dev/null
	wait_active
	# shellcheck disable=SC2034 # read by the .bats files that load this one
	OLD_SHA=$(box_sha /usr/local/bin/bangerd)
	# shellcheck disable=SC2034 # read by the .bats files that load this one
	BIN_BEFORE=$(inbox ls -A /usr/local/bin)
}

wait_active() {
	for _ in $(seq 100); do
		[ "$(inbox systemctl is-active bangerd.service)" = active ] &&
			inbox banger status --system >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	inbox systemctl status bangerd.service --no-pager >&2 || true
	return 1
}

# Rows for the update to keep: three images and two VMs at schema 2, written
# as the daemon's own user would (root's SQLite gives its sidecars the
# database's owner).
seed_rows() {
	inbox "$FIXTURE" seed "$SDB" 2
	# shellcheck disable=SC2034 # read by the .bats files that load this one
	DUMP=$(inbox "$FIXTURE" dump "$SDB")	# every row of every table, applied_at included
	# shellcheck disable=SC2034 # read by the .bats files that load this one
	ROWS=$(inbox "$FIXTURE" list "$SDB")	# the images and VMs, whatever the schema
}

status_json() { inbox banger status --system --json | jq -r "$1"; }

# Every file under the state dir, with owner, mode, size and content hash.
state_listing() {
	inbox find /var/lib/private/banger -printf '%p %u:%g %m %s\n' | sort
}

# What a root-run updater must never leave in the daemon's state dir.
root_owned_in_state() { inbox find /var/lib/private/banger ! -user bangerd -printf '%p\n'; }

# /proc/PID/status fields of the unit's main process.
main_status() {
	local pid
	pid=$(inbox systemctl show -p MainPID --value bangerd.service)
	inbox grep -E "^($1):" "/proc/$pid/status"
}
