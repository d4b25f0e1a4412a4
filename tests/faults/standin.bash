# The stand-in install of kill-table and judge.bats: a real 0.0.2 bangerd
# serving a seeded database, run by a restart script that plays the
# service manager, replaced by this tree's bangerd through --restart-cmd.
# As under systemd, the daemon is not root (nobody, 65534) and owns its
# state directory, while the updater is root: what root's updater leaves
# there with its own uid is seen. The update's journal directory is
# BANGER_UPDATE_DIR, root's, 0700.
#
#   standin_setup BUILD   a fresh install under BUILD/faults.XXXXXX (set:
#                         SI_WORK, SI_INST, SI_STATE, SI_DB, SI_SOCK,
#                         SI_RESTART, the judge's J_* and functions);
#                         the daemon is up
#   standin_reset         the install as standin_setup left it
#   standin_cleanup       stop its daemons, remove it unless KEEP is set
# shellcheck disable=SC2034 # (the J_* variables: for judge.bash)
SI_UID=65534

standin_stop_daemons() {
	pkill -KILL -f -x -- "$SI_INST/bin/bangerd --state-dir $SI_STATE" 2>/dev/null || true
	while pgrep -f -x -- "$SI_INST/bin/bangerd --state-dir $SI_STATE" >/dev/null; do sleep 0.02; done
}

standin_setup() {
	local build=$1
	unset BANGER_STATE_DIR XDG_STATE_HOME
	export XDG_RUNTIME_DIR=	# the socket lives in the state dir
	SI_BUILD=$build
	# Under the build dir, not /tmp: every component of BANGER_UPDATE_DIR's
	# path must be root's and writable by no one else.
	SI_WORK=$(mktemp -d "$build/faults.XXXXXX")
	chmod 0755 "$SI_WORK"	# the daemon, not root, runs its binary in it
	SI_INST=$SI_WORK/inst SI_STATE=$SI_WORK/state
	SI_DB=$SI_STATE/banger.db SI_SOCK=$SI_STATE/bangerd.sock
	export BANGER_UPDATE_DIR=$SI_WORK/update
	# The restart command a service manager would be: stop every daemon of
	# this state dir (a killed update may have started one), start one.
	# SIGTERM again while any is left: a daemon that a killed restart had
	# forked may exec only after the first signal.
	SI_RESTART=$SI_WORK/restart.sh
	cat > "$SI_RESTART" <<SH
#!/bin/sh
while pkill -TERM -f -x -- "$SI_INST/bin/bangerd --state-dir $SI_STATE"; do sleep 0.02; done
setpriv --reuid=$SI_UID --regid=$SI_UID --clear-groups -- \
	"$SI_INST/bin/bangerd" --state-dir "$SI_STATE" >>"$SI_WORK/daemon.log" 2>&1 &
SH
	chmod +x "$SI_RESTART"
	cp "$build/release-2/bangerd" "$SI_WORK/old-bangerd"
	"$SI_WORK/old-bangerd" --db "$SI_WORK/pristine.db" --migrate >/dev/null
	"$build/tests/fixture" seed "$SI_WORK/pristine.db" 2
	J_TARGET=$SI_INST/bin/bangerd J_STATE=$SI_STATE J_UPDATE_DIR=$BANGER_UPDATE_DIR
	J_DB=$SI_DB J_FIXTURE=$build/tests/fixture
	J_OLD_SHA=$(judge_sha "$SI_WORK/old-bangerd") J_OLD_VERSION=0.0.2
	standin_reset
}

judge_status() { "$SI_BUILD/banger" status --socket "$SI_SOCK" --json; }
judge_unit_active() { pgrep -f -x -- "$SI_INST/bin/bangerd --state-dir $SI_STATE" >/dev/null; }

standin_reset() {
	standin_stop_daemons
	rm -rf "$SI_STATE" "$SI_INST" "$BANGER_UPDATE_DIR"
	mkdir -p "$SI_STATE" "$SI_INST/bin"
	mkdir -m 0700 "$BANGER_UPDATE_DIR"
	cp "$SI_WORK/old-bangerd" "$SI_INST/bin/bangerd"
	cp "$SI_WORK/pristine.db" "$SI_DB"
	chown -R "$SI_UID:$SI_UID" "$SI_STATE"
	chmod 0700 "$SI_STATE"
	"$SI_RESTART"
	judge_serving 0.0.2 || { echo "the stand-in 0.0.2 daemon did not come up" >&2; return 1; }
	judge_before
}

standin_cleanup() {
	[ -n "${SI_WORK:-}" ] || return 0
	standin_stop_daemons
	if [ -z "${KEEP:-}" ]; then rm -rf "$SI_WORK"; else echo "kept: $SI_WORK" >&2; fi
}
