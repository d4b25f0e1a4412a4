#!/usr/bin/env bats
# The Debian package under a real systemd: dpkg -i, upgrade, downgrade and
# purge inside a box, with the unit that dh_installsystemd enables, starts
# and restarts, and the preinst's migration guard (banger-update(8), THE
# DEBIAN PACKAGE). A is this tree's package (knows migrations 1 2 3); B is
# the older release 0.0.2 (knows 1 2). make check builds both, as root.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	DEB_A=$(ls "$BANGER_BUILD"/banger_*.deb 2>/dev/null | head -1)
	DEB_B=$(ls "$BANGER_BUILD"/deb-0.0.2/banger_0.0.2_*.deb 2>/dev/null | head -1)
	[ -n "$DEB_A" ] && [ -n "$DEB_B" ] ||
		skip "the packages are not built (make check builds them, as root)"
	box_setup
	A=$(dpkg-deb -f "$DEB_A" Version)
	# This machine's image forbids maintainer scripts to start services
	# (a Docker-style policy-rc.d that exits 101); a box is a machine
	# where they do, as on a Debian install.
	inbox rm -f /usr/sbin/policy-rc.d
	# man-db's trigger rebuilds the whole index (2 s) after every dpkg run.
	inbox rm -f /var/lib/man-db/auto-update
	# A dpkg database of the box's own (0.5 s): the overlay shows what
	# changes below it in whatever the box has not written yet, and this
	# machine's own dpkg may run meanwhile (apt, another suite); a new
	# directory in place of the old one is opaque to that.
	inbox sh -c 'cp -a /var/lib/dpkg /var/lib/dpkg.box && rm -rf /var/lib/dpkg &&
		mv /var/lib/dpkg.box /var/lib/dpkg'
	! inbox dpkg-query -W banger >/dev/null 2>&1 || inbox dpkg --purge banger >/dev/null
}

teardown() { box_teardown; }

# dpkg -i DEB, which must succeed.
install_ok() {
	run --separate-stderr inbox dpkg -i "$1"
	[ "$status" -eq 0 ] || { echo "dpkg -i $1: exit $status: $output$stderr"; false; }
}

installed() { inbox dpkg-query -W -f='${Status} ${Version}' banger 2>/dev/null || true; }

# Rows at schema N, written beside the running daemon; LIST is what they
# are in any later schema, DUMP every byte of every row now.
seed() {
	inbox "$FIXTURE" seed "$SDB" "$1"
	LIST=$(inbox "$FIXTURE" list "$SDB")
	DUMP=$(inbox "$FIXTURE" dump "$SDB")
}

# A writer that holds the stopped service's database locked (a rollback
# journal, an open transaction spilled into the main file: no reader gets
# in), in the box; hold_release (../integration/helpers) ends it.
box_hold_lock() {
	local fifo=$BOXD/.holder-in
	inbox "$FIXTURE" exec "$SDB" "PRAGMA journal_mode = DELETE" >/dev/null
	mkfifo "$fifo"
	"$BOX" exec "$BOXD" "$FIXTURE" hold "$SDB" delete open \
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO images (name, digest, size_bytes, created_at)
		SELECT 'i' || i, printf('%0200d', i), i, 'now' FROM n" < "$fifo" > "$BOXD/.holder-out" &
	HOLDER_PID=$!
	exec {HOLDER_IN}> "$fifo"
	rm -f "$fifo"
	for _ in $(seq 100); do
		grep -q ready "$BOXD/.holder-out" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

@test "dpkg -i: the unit enabled and active, as the dynamic user; banger update leaves the packaged binary to apt; purge leaves nothing" {
	run --separate-stderr inbox dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(installed)" = "install ok installed $A" ]
	[ "$(inbox systemctl is-enabled bangerd.service)" = enabled ]
	[ "$(inbox systemctl is-enabled bangerd.socket)" = enabled ]
	wait_active
	[ "$(inbox systemctl is-active bangerd.socket)" = active ]
	[ "$(status_json .version)" = "$A" ]
	[ "$(status_json .schema.state)" = compatible ]
	[ "$(main_status Uid | awk '{print $2}')" -ne 0 ]
	files=$(inbox dpkg -L banger)
	# an update of the packaged binary is apt's job, where the guard runs
	before=$(box_sha /usr/bin/bangerd)
	run --separate-stderr inbox banger update --system --from "$STAGED_BANGERD" --no-restart
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"belongs to the Debian package banger: update it with apt"*"guard"* ]]
	[ "$(box_sha /usr/bin/bangerd)" = "$before" ]
	seed 3
	run --separate-stderr inbox dpkg --purge banger
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ -z "$(installed | grep -v '^unknown ok not-installed')" ]
	for f in $files; do
		inbox test -d "$f" && continue
		! inbox test -e "$f" || { echo "left behind: $f"; false; }
	done
	! inbox test -e /var/lib/banger
	! inbox test -e /var/lib/private/banger
	! inbox test -e /usr/share/banger
	[ -z "$(inbox find /etc/systemd/system -name 'bangerd*')" ]
	[ "$(inbox systemctl is-active bangerd.service)" != active ]
}

@test "A (1-3) installed with rows, dpkg -i B (1-2): refused naming migration 3, A still installed and serving, every row" {
	install_ok "$DEB_A"
	wait_active
	seed 3
	sha=$(box_sha /usr/bin/bangerd)
	pid=$(status_json .pid)
	run --separate-stderr inbox dpkg -i "$DEB_B"
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"refusing to install banger 0.0.2: $SDB has applied migration(s) 3, which its bangerd does not know (it knows 1 2)"* ]]
	[[ "$stderr" == *"Install a release that knows migration(s) 3"*"pre-update backup"*"BANGER_ALLOW_INCOMPATIBLE=1"* ]]
	[ "$(installed)" = "install ok installed $A" ]
	[ "$(box_sha /usr/bin/bangerd)" = "$sha" ]
	[ "$(inbox systemctl is-active bangerd.service)" = active ]
	[ "$(status_json .version)" = "$A" ]
	[ "$(status_json .pid)" = "$pid" ]	# not even restarted
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
}

@test "a database newer than both the installed release and the package (an id neither knows): refused, naming it" {
	install_ok "$DEB_A"
	wait_active
	seed 3
	# what a newer release would have applied; the installed A reads it as
	# 'incompatible', and its list of applied ids is what the guard compares
	inbox "$FIXTURE" exec "$SDB" "INSERT INTO schema_migrations VALUES (99, 'from_a_newer_release', 'now')"
	DUMP=$(inbox "$FIXTURE" dump "$SDB")
	run --separate-stderr inbox dpkg -i "$DEB_B"
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"refusing to install banger 0.0.2: $SDB has applied migration(s) 3 99, which its bangerd does not know (it knows 1 2)"* ]]
	run --separate-stderr inbox dpkg -i "$DEB_A"	# A again: it lacks 99 too
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"refusing to install banger $A: $SDB has applied migration(s) 99, which its bangerd does not know (it knows 1 2 3)"* ]]
	[ "$(installed)" = "install ok installed $A" ]
	[ "$(inbox systemctl is-active bangerd.service)" = active ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
}

@test "BANGER_ALLOW_INCOMPATIBLE=1: B installs over A's database, and dpkg's output says the override acted" {
	install_ok "$DEB_A"
	wait_active
	seed 3
	run --separate-stderr inbox env BANGER_ALLOW_INCOMPATIBLE=1 dpkg -i "$DEB_B"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"BANGER_ALLOW_INCOMPATIBLE=1: installing banger 0.0.2 although $SDB has applied migration(s) 3"* ]]
	[[ "$stderr" == *"BANGER_ALLOW_INCOMPATIBLE=1: installed anyway; the service stays down"* ]]
	[ "$(installed)" = "install ok installed 0.0.2" ]
	# B's bangerd refuses the newer database (exit 2), changing nothing
	[ "$(inbox systemctl show -p ExecMainStatus --value bangerd.service)" = 2 ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
	# and any other value is no override
	install_ok "$DEB_A"
	run --separate-stderr inbox env BANGER_ALLOW_INCOMPATIBLE=yes dpkg -i "$DEB_B"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"BANGER_ALLOW_INCOMPATIBLE='yes' is not 1: ignored."*"refusing to install banger 0.0.2"* ]]
	[ "$(installed)" = "install ok installed $A" ]
}

@test "B installed with rows, upgraded to A: restarted on A, migrated, every row kept, a pre-migration backup of the database's owner" {
	run --separate-stderr inbox dpkg -i "$DEB_B"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	wait_active
	[ "$(status_json .version)" = 0.0.2 ]
	seed 2
	pid=$(status_json .pid)
	run --separate-stderr inbox dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"the database before $A migrates it: $SDB.pre-update"* ]]
	[ "$(installed)" = "install ok installed $A" ]
	wait_active
	[ "$(status_json .version)" = "$A" ]
	[ "$(status_json .pid)" != "$pid" ]
	[ "$(status_json .schema.state)" = compatible ]
	[ "$(inbox systemctl is-active bangerd.socket)" = active ]	# stopped for the copy only
	run inbox /usr/bin/bangerd --check-migrations --system
	[ "$output" = "compatible: applied [1 2 3]" ]
	[ "$(inbox "$FIXTURE" list "$SDB")" = "$LIST" ]
	# the backup: the database as B left it, the database's owner's
	[ "$(inbox stat -c %U:%a "$SDB.pre-update")" = "$(inbox stat -c %U:%a "$SDB")" ]
	inbox cp "$SDB.pre-update" /tmp/pre-update.db
	[ "$(inbox "$FIXTURE" dump /tmp/pre-update.db)" = "$DUMP" ]
	[ -z "$(root_owned_in_state)" ] || { root_owned_in_state; false; }
}

@test "the database locked by a writer during dpkg -i: refused, it cannot be read, nothing changed" {
	install_ok "$DEB_B"
	wait_active
	seed 2
	inbox systemctl stop bangerd.service
	box_hold_lock
	before=$(state_listing)
	sha=$(box_sha /usr/bin/bangerd)
	run --separate-stderr inbox dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"refusing to install banger $A: the migrations that $SDB has applied cannot be read: "*"locked"* ]]
	[[ "$stderr" == *"Nothing was changed"*"BANGER_ALLOW_INCOMPATIBLE=1"* ]]
	echo "dpkg-query: $(installed)"
	[ "$(installed)" = "install ok installed 0.0.2" ]
	[ "$(box_sha /usr/bin/bangerd)" = "$sha" ]
	[ "$(state_listing)" = "$before" ]
	[ "$(inbox systemctl is-active bangerd.service)" = inactive ]	# left as it was: stopped
	hold_release
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
}

@test "an upgrade that migrates and then does not come up: dpkg fails saying what systemd said and where the backup is; going back by hand as banger-update(8) says" {
	install_ok "$DEB_B"
	wait_active
	seed 2
	# A's bangerd migrates and says it is ready; then the unit fails, at every start
	inbox mkdir -p /etc/systemd/system/bangerd.service.d
	echo $'[Service]\nExecStartPost=/bin/false' | inbox tee /etc/systemd/system/bangerd.service.d/fail.conf >/dev/null
	run --separate-stderr inbox dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"banger: bangerd $A did not come up: bangerd.service is failed, Result="*", its main process exited "* ]]
	[[ "$stderr" == *"before this release migrated it: $SDB.pre-update"*"banger-update(8)"* ]]
	[ "$(installed)" = "install ok half-configured $A" ]
	run inbox /usr/bin/bangerd --check-migrations --system
	[ "$output" = "compatible: applied [1 2 3]" ]	# it did migrate
	# back to B with the database as it was, by hand
	inbox rm -r /etc/systemd/system/bangerd.service.d
	inbox systemctl daemon-reload
	inbox systemctl stop bangerd
	inbox sh -c 'cd /var/lib/private/banger && cp -p banger.db.pre-update banger.db &&
		rm -f banger.db-wal banger.db-shm banger.db-journal'
	run --separate-stderr inbox dpkg -i "$DEB_B"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(installed)" = "install ok installed 0.0.2" ]
	wait_active
	[ "$(status_json .version)" = 0.0.2 ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
	[ -z "$(root_owned_in_state)" ] || { root_owned_in_state; false; }
}

# Where the removed release's prerm records what the kept database has applied.
RECORD=/var/lib/banger-package/applied

@test "dpkg -r keeps the database and a root-only record of its migrations; an older release lacking one is refused, nothing changed; the same release installs, every row, the service up" {
	install_ok "$DEB_A"
	wait_active
	seed 3
	inbox dpkg -r banger >/dev/null 2>&1
	[ "$(installed)" = "deinstall ok config-files $A" ]
	inbox test -f "$SDB"
	inbox test ! -e /usr/bin/bangerd
	[ "$(inbox stat -c %U:%a /var/lib/banger-package)" = root:700 ]
	inbox grep -qx 'applied=1 2 3' "$RECORD"
	before=$(state_listing)
	record=$(inbox cat "$RECORD")
	run --separate-stderr inbox dpkg -i "$DEB_B"
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"refusing to install banger 0.0.2: $SDB has applied migration(s) 3, which its bangerd does not know (it knows 1 2)"* ]]
	[[ "$(installed)" == *" ok config-files $A" ]]
	inbox test ! -e /usr/bin/bangerd
	[ "$(state_listing)" = "$before" ]
	[ "$(inbox cat "$RECORD")" = "$record" ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
	run --separate-stderr inbox dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(installed)" = "install ok installed $A" ]
	[ "$(inbox systemctl is-enabled bangerd.service)" = enabled ]
	wait_active
	[ "$(status_json .version)" = "$A" ]
	[ "$(status_json .schema.state)" = compatible ]
	[ "$(inbox "$FIXTURE" list "$SDB")" = "$LIST" ]
	inbox test ! -e /var/lib/banger-package	# served its purpose
}

@test "dpkg -r, then the database is not the one recorded: refused, it cannot be read; the override installs, backs up, migrates" {
	install_ok "$DEB_B"
	wait_active
	seed 2
	inbox dpkg -r banger >/dev/null 2>&1
	inbox grep -qx 'applied=1 2' "$RECORD"
	# a row written after the record (a restore by hand, say): the record
	# no longer says what this database has applied
	inbox "$FIXTURE" exec "$SDB" "INSERT INTO images (name, digest, size_bytes, created_at) VALUES ('late', 'd', 1, 'now')"
	LIST=$(inbox "$FIXTURE" list "$SDB")
	DUMP=$(inbox "$FIXTURE" dump "$SDB")
	run --separate-stderr inbox dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"refusing to install banger $A: the migrations that $SDB has applied cannot be read: no bangerd is installed to read it"*"no record of them matches it"* ]]
	[[ "$stderr" == *"BANGER_ALLOW_INCOMPATIBLE=1"* ]]
	[[ "$(installed)" != "install ok installed"* ]]
	inbox test ! -e /usr/bin/bangerd
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
	run --separate-stderr inbox env BANGER_ALLOW_INCOMPATIBLE=1 dpkg -i "$DEB_A"
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"BANGER_ALLOW_INCOMPATIBLE=1: installing banger $A although the migrations that $SDB has applied cannot be read"* ]]
	[ "$(installed)" = "install ok installed $A" ]
	wait_active
	[ "$(status_json .version)" = "$A" ]
	[ "$(inbox "$FIXTURE" list "$SDB")" = "$LIST" ]
	inbox cp "$SDB.pre-update" /tmp/pre-update.db
	[ "$(inbox "$FIXTURE" dump /tmp/pre-update.db)" = "$DUMP" ]
}

# The administrator's choice for the unit, made on B (0.0.2) with rows;
# then dpkg -i of B again and of A (newer, migrates) must each configure
# at once (nothing to wait for), say in one line what was skipped and
# why, and leave the units as they were. $1: what to run; $2: what
# is-enabled then says; $3, $4: the words of the postinst's line.
admin_choice_kept() {
	install_ok "$DEB_B"
	wait_active
	seed 2
	inbox sh -c "$1"
	[ "$(inbox systemctl is-enabled bangerd.service)" = "$2" ]
	socket=$(inbox systemctl is-active bangerd.socket || true)
	for deb in "$DEB_B" "$DEB_A"; do
		run --separate-stderr inbox dpkg -i "$deb"
		echo "$output$stderr"
		[ "$status" -eq 0 ]
		[ "$(installed)" = "install ok installed $(dpkg-deb -f "$deb" Version)" ]
		[[ "$stderr" == *"banger: bangerd.service is $3 and was not running: not started by the package, nothing to confirm$4 (the administrator's choice"* ]]
		[[ "$stderr" != *"did not come up"* ]]
		[ "$(inbox systemctl is-enabled bangerd.service)" = "$2" ]
		[ "$(inbox systemctl is-active bangerd.service)" = inactive ]
		[ "$(inbox systemctl is-active bangerd.socket || true)" = "$socket" ]
	done
	# the upgrade backed up the database it will migrate, and left it unmigrated
	[[ "$stderr" == *"the database before $A migrates it: $SDB.pre-update"* ]]
	run inbox /usr/bin/bangerd --check-migrations --system
	[ "$output" = "migrations needed: pending [3] (binary will apply on first Open)" ]
	[ "$(inbox "$FIXTURE" dump "$SDB")" = "$DUMP" ]
}

@test "bangerd.service disabled (and stopped) by the administrator: dpkg -i of the same and of a newer release configure at once and leave it so" {
	# (the socket, disabled with it by Also=, still listens: --now stops the service alone)
	admin_choice_kept "systemctl disable --now bangerd.service 2>/dev/null" disabled disabled \
		"; bangerd.socket listens, and starts it on a connection"
	# and enabling it is all it takes: A migrates, every row
	inbox systemctl enable --now bangerd.service 2>/dev/null
	wait_active
	[ "$(status_json .version)" = "$A" ]
	[ "$(inbox "$FIXTURE" list "$SDB")" = "$LIST" ]
}

@test "bangerd.service masked: dpkg -i of the same and of a newer release configure at once and leave it masked" {
	admin_choice_kept "systemctl mask --now bangerd.service 2>/dev/null" masked masked ""
}

@test "bangerd.service left to its socket: dpkg -i configures at once; the next connection starts the new release" {
	admin_choice_kept "systemctl disable --now bangerd.service 2>/dev/null &&
		systemctl enable --now bangerd.socket 2>/dev/null" disabled disabled \
		"; bangerd.socket listens, and starts it on a connection"
	[ "$(inbox systemctl is-active bangerd.socket)" = active ]
	# the first connection: the socket starts A, which migrates and answers
	[ "$(status_json .version)" = "$A" ]
	[ "$(inbox systemctl is-active bangerd.service)" = active ]
	[ "$(status_json .schema.state)" = compatible ]
	[ "$(inbox "$FIXTURE" list "$SDB")" = "$LIST" ]
}
