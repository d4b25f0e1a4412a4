#!/usr/bin/env bats
# Every threat of DESIGN.md's security model, tried by a hostile "bangerd"
# (tests/sandbox/hostile.c) staged and run by `banger update --check-only`.
# Each test asserts that the attack failed - banger exits 3 with a reason -
# and left no trace: the state dir, the database and the staging dir are
# byte for byte as before, and the child is gone.

load ../integration/helpers
bats_require_minimum_version 1.5.0

BANGER=$BANGER_BUILD/banger
HOSTILE=$BANGER_BUILD/tests/hostile

setup() {
	common_setup
	mkdir -p "$WORK/state" "$WORK/bin"
	"$BANGERD" --db "$WORK/state/banger.db" --migrate >/dev/null
	echo "the root-only secret" > "$WORK/secret"
	chmod 600 "$WORK/secret"
	BEFORE=$(dir_state "$WORK")
}

teardown() {
	rm -f /tmp/banger-hostile-created
	common_teardown
}

# check NAME [banger args...]: run the hostile binary NAME through the check.
check() {
	local name=$1; shift
	run --separate-stderr "$BANGER" update --check-only --from "$HOSTILE/$name" \
		--target "$WORK/bin/bangerd" --db "$WORK/state/banger.db" --timeout 5 --json "$@"
}

# check_without_landlock NAME [banger args...]: the same, by the test build
# of banger (BANGER_TEST_HOOKS, never a release build) with
# BANGER_TEST_NO_LANDLOCK=1: it behaves as on a kernel without Landlock, so
# that what the other layers hold on their own shows.
check_without_landlock() {
	local name=$1; shift
	run --separate-stderr env BANGER_TEST_NO_LANDLOCK=1 "$BANGER_BUILD/hooks/banger" update \
		--check-only --from "$HOSTILE/$name" --target "$WORK/bin/bangerd" \
		--db "$WORK/state/banger.db" --timeout 5 --json "$@"
	[ "$(jq -r .landlock_abi <<<"$output")" = 0 ] || { echo "Landlock was applied: $output"; return 1; }
}

# The attack failed and left nothing behind.
assert_contained() {
	[ "$status" -eq 3 ] || { echo "exit $status, stdout: $output, stderr: $stderr"; return 1; }
	[[ "$stderr" != *"ATTACK WORKED"* ]]
	[[ "$output" != *"ATTACK WORKED"* ]]
	[ "$(dir_state "$WORK")" = "$BEFORE" ] || { echo "the directory changed"; diff <(echo "$BEFORE") <(dir_state "$WORK"); return 1; }
	[ -n "${NO_PID_CHECK:-}" ] && return 0	# checked inside its PID namespace
	local pid
	pid=$(jq -r .child_pid <<<"$output")
	[ "$pid" -gt 0 ]
	if kill -0 "$pid" 2>/dev/null; then echo "the child $pid is still alive"; return 1; fi
}

assert_reason() { [[ "$(jq -r .reason <<<"$output")" == *"$1"* ]] || { echo "reason: $(jq -r .reason <<<"$output")"; return 1; }; }

@test "positive control: an honest verdict is relayed" {
	check honest
	[ "$status" -eq 1 ]
	[ "$(jq -r .line <<<"$output")" = "migrations needed: pending [3] (binary will apply on first Open)" ]
	[ "$(dir_state "$WORK")" = "$BEFORE" ]
}

@test "write the database: EACCES" { check write_db; assert_contained; assert_reason "exited with 42"; }
@test "truncate the database: killed" { check truncate_db; assert_contained; assert_reason SIGSYS; }
# The refused call's name comes from the kernel's audit record, best
# effort: when other processes flood the kernel log, printk's rate limit
# drops the record and the reason says the kernel log names it. Assert the
# name only when the record was read; never accept a wrong one.
assert_syscall_named() {
	local reason
	reason=$(jq -r .reason <<<"$output")
	[[ "$reason" == *"$1"* || "$reason" == *"the kernel log names it"* ]] || { echo "reason: $reason"; return 1; }
}

@test "unlink the database: killed, and the reason names the system call" {
	check unlink_db; assert_contained; assert_reason SIGSYS
	[ "$(id -u)" -eq 0 ] || skip "reading the kernel's audit record needs root"
	assert_syscall_named "refused the system call unlink"
}
@test "rename the database: killed" { check rename_db; assert_contained; assert_reason SIGSYS; }
@test "chmod the database: killed" { check chmod_db; assert_contained; assert_reason SIGSYS; }
@test "chown the database: killed" { check chown_db; assert_contained; assert_reason SIGSYS; }
@test "fchown the database: EPERM" { check fchown_db; assert_contained; assert_reason "exited with 42"; }
@test "utimes on the database: killed" { check utimes_db; assert_contained; assert_reason SIGSYS; }
@test "xattr on the database: killed" { check xattr_db; assert_contained; assert_reason SIGSYS; }
@test "create a file in the state dir: EACCES" { check create_file; assert_contained; }
@test "create a file in /tmp: refused, nothing made" { check create_tmp; assert_contained; [ ! -e /tmp/banger-hostile-created ]; }
@test "O_TMPFILE: refused" { check tmpfile; assert_contained; }
@test "mkdir: killed" { check mkdir; assert_contained; assert_reason SIGSYS; }
@test "hard link: killed" { check link; assert_contained; assert_reason SIGSYS; }
@test "symlink: killed" { check symlink; assert_contained; assert_reason SIGSYS; }
@test "mkfifo: killed" { check mkfifo; assert_contained; assert_reason SIGSYS; }

# start_listener tcp PORT | unix PATH: a real server that notes a connection.
start_listener() {
	"$BANGER_BUILD/tests/listen" "$1" "$2" "$WORK/../$(basename "$WORK").connected" 8 > "$WORK/.ready" &
	LISTENER=$!
	for _ in $(seq 100); do grep -q ready "$WORK/.ready" 2>/dev/null && break; sleep 0.05; done
	rm -f "$WORK/.ready"
}

stop_listener() {
	kill "$LISTENER" 2>/dev/null || true
	wait "$LISTENER" 2>/dev/null || true
	local marker="$WORK/../$(basename "$WORK").connected"
	if [ -e "$marker" ]; then rm -f "$marker"; echo "a connection was made"; return 1; fi
}

@test "TCP connect to a listener on loopback: killed, no connection made" {
	start_listener tcp 47931
	check tcp_connect
	stop_listener
	assert_contained
	assert_reason SIGSYS
}

@test "connect to the daemon's control socket: killed, no connection accepted" {
	start_listener unix "$WORK/state/bangerd.sock"
	BEFORE=$(dir_state "$WORK")
	check unix_connect
	assert_contained
	stop_listener
	assert_reason SIGSYS
}

@test "exec a shell: killed" { check exec_shell; assert_contained; assert_reason SIGSYS; }
@test "fork: killed" { check fork; assert_contained; assert_reason SIGSYS; }
@test "clone3: ENOSYS" { check clone3; assert_contained; assert_reason "exited with 42"; }

# Attacks on other processes run in a PID namespace of their own, so that a
# broken sandbox cannot harm this machine; a victim process shares it.
in_pid_namespace() {
	run --separate-stderr unshare --pid --fork --mount-proc bash -c '
		sleep 30 & victim=$!
		out=$("$1" update --check-only --from "$2" --target "$3" --db "$4" --timeout 5 --json); rc=$?
		echo "$out"
		kill -0 $victim && echo victim-alive >&2
		pid=$(jq -r .child_pid <<<"$out")
		kill -0 "$pid" 2>/dev/null && echo child-alive >&2
		kill $victim
		exit $rc' _ "$BANGER" "$HOSTILE/$1" "$WORK/bin/bangerd" "$WORK/state/banger.db"
	[[ "$stderr" == *victim-alive* ]]
	[[ "$stderr" != *child-alive* ]]
	NO_PID_CHECK=1
}

@test "kill the parent: killed, the parent lives" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a PID namespace"
	in_pid_namespace kill_parent
	assert_contained
	assert_reason SIGSYS
}
@test "kill -1: killed, every other process lives" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a PID namespace"
	in_pid_namespace kill_all
	assert_contained
}
@test "signal init: killed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a PID namespace"
	in_pid_namespace kill_init
	assert_contained
}
@test "ptrace the parent: killed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a PID namespace"
	in_pid_namespace ptrace
	assert_contained
	assert_reason SIGSYS
}

@test "read a root-only file outside the state dir: refused by Landlock, not printed" {
	check read_secret
	assert_contained
	[[ "$output$stderr" != *"root-only secret"* ]]
}
@test "read /etc/shadow: refused" { check read_shadow; assert_contained; }
@test "io_uring: killed" { check io_uring; assert_contained; assert_reason SIGSYS; }
@test "openat2 read-write: ENOSYS" { check openat2; assert_contained; assert_reason "exited with 42"; }
@test "unshare: killed" { check unshare; assert_contained; assert_reason SIGSYS; }
@test "mount: killed" { check mount; assert_contained; assert_reason SIGSYS; }
@test "capget: killed" { check setuid_caps; assert_contained; assert_reason SIGSYS; }
@test "read the capability bounding set: killed" { check prctl_caps; assert_contained; assert_reason SIGSYS; }
@test "TIOCSTI: killed" { check tiocsti; assert_contained; }
@test "TIOCSTI hidden in the upper 32 bits of the ioctl number: killed" { check ioctl_high_bits; assert_contained; assert_reason SIGSYS; }

@test "write to inherited descriptors: none inherited, the file untouched" {
	check inherited_fds 7>>"$WORK/inherited"
	[ ! -s "$WORK/inherited" ]
	rm -f "$WORK/inherited"
	assert_contained
}

@test "read a secret from the environment: not there" {
	BANGER_SECRET=hunter2 check environment
	assert_contained
	[[ "$output$stderr" != *hunter2* ]]
}

@test "flood stdout: cut off, banger stays small" {
	check flood
	assert_contained
	[ "${#output}" -lt 4096 ]
	[ "${#stderr}" -lt 4096 ]
}

@test "terminal escapes: none reaches the operator, the line is not trusted" {
	check escapes
	assert_contained
	# (a bare "! cmd" does not fail a bats test: set -e ignores it)
	[[ "$output$stderr" != *$'\e'* ]]
	[[ "$output$stderr" != *$'\x9b'* ]]
}

@test "terminal escapes on stderr with a failure: the reason carries none" {
	check escapes_stderr
	assert_contained
	assert_reason "exited with 5"
	[[ "$output$stderr" != *$'\e'* ]]
}

@test "hang: killed at the check's deadline" {
	run --separate-stderr "$BANGER" update --check-only --from "$HOSTILE/hang" \
		--target "$WORK/bin/bangerd" --db "$WORK/state/banger.db" --timeout 1 --json
	assert_contained
	assert_reason "timed out"
}

@test "a line that disagrees with the exit code is not trusted" {
	check line_disagrees
	assert_contained
	check line_disagrees_2
	assert_contained
}

@test "exit 1 with a usage error is not 'migrations needed'" { check usage_exit_1; assert_contained; }
@test "exit 0 without a line is not 'compatible'" { check no_line; assert_contained; }
@test "x32 system call: killed" { check x32; assert_contained; assert_reason SIGSYS; }
@test "i386 system call: killed, not mistaken for a native one" {
	check i386; assert_contained; assert_reason SIGSYS
	# i386's 20 is getpid, x86_64's is writev: never named as a native call
	[[ "$(jq -r .reason <<<"$output")" != *"refused the system call "* ]]
	[ "$(id -u)" -eq 0 ] || skip "reading the kernel's audit record needs root"
	assert_syscall_named "of another ABI"
}
@test "a writable and executable mapping: killed" { check wx_mapping; assert_contained; assert_reason SIGSYS; }
@test "a seccomp notification listener: refused" { check seccomp_listener; assert_contained; }
@test "bpf: killed" { check bpf; assert_contained; assert_reason SIGSYS; }
@test "keyctl and add_key: killed" { check keyctl; assert_contained; assert_reason SIGSYS; check add_key; assert_contained; }
@test "setns: killed" { check setns; assert_contained; assert_reason SIGSYS; }
@test "process_vm_readv on the parent: killed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a PID namespace"
	in_pid_namespace process_vm_readv
	assert_contained
	assert_reason SIGSYS
}

# ---- the check runs as the database's owner (issue 10) ----------------------

# The state dir and the database belong to user $1 (as under systemd's
# DynamicUser), the directory above is searchable, and beside the database,
# where Landlock lets the child read, a file that only root may read.
give_state_to() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give the database to another user"
	chmod 755 "$WORK"
	echo "root-only bytes" > "$WORK/state/root-only"
	chmod 600 "$WORK/state/root-only"
	chown "$1:$1" "$WORK/state"
	[ ! -e "$WORK/state/banger.db" ] || chown "$1:$1" "$WORK/state/banger.db"
	BEFORE=$(dir_state "$WORK")
}

@test "as the database's owner: the real check gives its verdict" {
	give_state_to 65534
	run --separate-stderr "$BANGER" update --check-only --from "$STAGED_BANGERD" \
		--target "$WORK/bin/bangerd" --db "$WORK/state/banger.db" --json
	[ "$status" -eq 0 ] || { echo "exit $status: $output $stderr"; return 1; }
	[ "$(jq -r .line <<<"$output")" = "compatible: applied [1 2 3]" ]
	[ "$(dir_state "$WORK")" = "$BEFORE" ]
}

@test "as the database's owner: a root-only file beside it is not read, with Landlock or without" {
	give_state_to 65534
	check read_root_only
	assert_contained
	assert_reason "as uid 65534: Permission denied"
	check_without_landlock read_root_only
	assert_contained
	assert_reason "as uid 65534: Permission denied"
	[[ "$output$stderr" != *"root-only bytes"* ]]
}

@test "no database yet: the check runs as the state dir's owner" {
	rm "$WORK/state/banger.db"
	give_state_to 4242
	check_without_landlock read_root_only
	assert_contained
	assert_reason "as uid 4242: Permission denied"
}

@test "the child runs as the database's owner, in no group, with every capability set empty" {
	give_state_to 65534
	"$BANGER" update --check-only --from "$HOSTILE/hang" --target "$WORK/bin/bangerd" \
		--db "$WORK/state/banger.db" > /dev/null 2>&1 &
	local banger=$! child= status=
	for _ in $(seq 200); do
		child=$(pgrep -P "$banger" | head -1) || true
		# Seccomp is the last step before exec: identity and capabilities are final.
		[ -n "$child" ] && status=$(cat "/proc/$child/status" 2>/dev/null) &&
			[[ "$status" == *$'Seccomp:\t2'* ]] && break
		sleep 0.02
	done
	wait "$banger" || true
	echo "$status" | grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs|Seccomp):'
	[[ "$status" == *$'Uid:\t65534\t65534\t65534\t65534'* ]]
	[[ "$status" == *$'Gid:\t65534\t65534\t65534\t65534'* ]]
	grep -qE '^Groups:[[:space:]]*$' <<<"$status"
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		[[ "$status" == *"$set:"$'\t0000000000000000'* ]]
	done
	[[ "$status" == *$'NoNewPrivs:\t1'* ]]
}

# ---- the check's own deadline bounds what it can cost the live daemon -------

@test "a check that holds the -shm write lock stalls a live writer for 4 s, not --timeout" {
	local live=$WORK/live log=$BATS_TEST_TMPDIR/writer
	mkdir "$live"
	# a real WAL writer, through the store as bangerd writes: one commit
	# after another for 12 s, a line per 20 ms slice
	"$FIXTURE" write-rate "$live/banger.db" 12 20 > "$log" 2>&1 &
	local writer=$!
	for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
	local t0
	t0=$(date +%s%N)
	run --separate-stderr timeout 60 "$BANGER" update --check-only --from "$HOSTILE/lock_shm" \
		--target "$WORK/bin/bangerd" --db "$live/banger.db" --timeout 3600 --json
	local took=$((($(date +%s%N) - t0) / 1000000))
	local wrote=0
	wait "$writer" || wrote=$?
	# the longest time between two slices' starts: the writer's stall
	local stall
	stall=$(awk '$1 == "slice" { if (prev != "" && $2 - prev > max) max = $2 - prev; prev = $2 }
		END { printf "%d", max }' "$log")
	echo "banger exit $status after $took ms; writer exit $wrote, longest stall $stall ms"
	echo "$stderr"
	tail -1 "$log"
	[ "$status" -eq 3 ]
	assert_reason "timed out"
	[ "$took" -lt 6000 ]
	[ "$wrote" -eq 0 ]	# no commit failed: the daemon's 5 s busy timeout outlasts the deadline
	[ "$stall" -ge 3000 ]	# the lock did hold the writer up...
	[ "$stall" -lt 5000 ]	# ...for the check's deadline, no longer
}

# ---- the mount namespace: containment that does not rest on Landlock ---------

@test "the report says the child had a mount namespace" {
	[ "$(id -u)" -eq 0 ] || skip "a mount namespace needs root"
	check honest
	[ "$status" -eq 1 ]
	[ "$(jq -r .mount_namespace <<<"$output")" = true ]
}

@test "without Landlock: a root-only file outside the state dir is not there" {
	check_without_landlock read_secret
	assert_contained
	assert_reason "No such file or directory"
	[[ "$output$stderr" != *"root-only secret"* ]]
}

@test "without Landlock: the operator's terminal cannot be opened" {
	# a terminal that exists for as long as the test runs
	script -qfc "sleep 20" /dev/null < /dev/null > /dev/null 2>&1 &
	local term=$!
	for _ in $(seq 50); do ls /dev/pts/[0-9]* >/dev/null 2>&1 && break; sleep 0.05; done
	check_without_landlock read_terminal
	kill "$term" 2>/dev/null || true
	assert_contained
	assert_reason "blocked: open a terminal"
}

@test "without Landlock: execveat of another program by its absolute path finds nothing" {
	check_without_landlock exec_by_path
	assert_contained
	assert_reason "No such file or directory"
}

@test "stat, access and O_PATH outside what the child may read: nothing there, with Landlock or without" {
	check metadata
	assert_contained
	assert_reason "No such file or directory"
	check_without_landlock metadata
	assert_contained
	assert_reason "No such file or directory"
}

@test "the child's root holds the state dir, the loader's files, ld.so.cache and /dev/null, and no program" {
	[ "$(id -u)" -eq 0 ] || skip "a mount namespace needs root"
	"$BANGER" update --check-only --from "$HOSTILE/hang" --target "$WORK/bin/bangerd" \
		--db "$WORK/state/banger.db" > /dev/null 2>&1 &
	local banger=$! child= listing=
	for _ in $(seq 200); do
		child=$(pgrep -P "$banger" | head -1) || true
		[ -n "$child" ] && grep -q $'^Seccomp:\t2' "/proc/$child/status" 2>/dev/null && break
		sleep 0.02
	done
	# everything but directories and symlinks, as the child sees it
	listing=$(cd "/proc/$child/root" && find . ! -type d ! -type l -printf '%y %m %p\n' | sort)
	local mounts
	mounts=$(cat "/proc/$child/mountinfo")
	wait "$banger" || true
	echo "$listing"
	echo "$mounts"
	local state=${WORK#/}/state libs
	libs=$(dirname "$(readlink -f /lib64/ld-linux-x86-64.so.2)")
	while read -r type mode path; do
		case $path in
		./dev/null) [ "$type" = c ] ;;
		./etc/ld.so.cache) [ "$type" = f ] ;;
		./"$state"/*) [ "$type" = f ] ;;
		."$libs"/*.so*) [ "$type" = f ] ;;	# the loader and the libraries: shared objects only
		*) echo "unexpected in the child's root: $type $mode $path"; return 1 ;;
		esac
	done <<<"$listing"
	# the real bangerd's libraries are in the plan; a hostile one's are libc only
	[[ "$listing" == *"$libs/libc.so.6"* ]]
	[[ "$listing" == *ld-linux* ]]
	# every mount read-only and nosuid; only the loader's files may hold code
	while read -r line; do
		local opts
		opts=$(cut -d' ' -f6 <<<"$line")
		[[ ",$opts," == *,ro,* && ",$opts," == *,nosuid,* ]] || { echo "writable or suid: $line"; return 1; }
		case $(cut -d' ' -f5 <<<"$line") in
		"$libs"/*) ;;
		*) [[ ",$opts," == *,noexec,* ]] || { echo "executable: $line"; return 1; } ;;
		esac
	done <<<"$mounts"
}

@test "without CAP_SYS_ADMIN: no mount namespace, and the report says so" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	chmod 755 "$WORK"
	chown -R 65534:65534 "$WORK/state" "$WORK/bin"
	run --separate-stderr setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all \
		"$BANGER" update --check-only --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd" \
		--db "$WORK/state/banger.db" --json
	[ "$status" -eq 0 ] || { echo "exit $status: $output $stderr"; return 1; }
	[ "$(jq -r .mount_namespace <<<"$output")" = false ]
}
