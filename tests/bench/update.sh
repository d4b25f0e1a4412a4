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
# Then (4c, 4d) the question every update asks first, whether dpkg owns
# the target, asked as banger asked it before (dpkg-query -S) and as it
# asks it now (src/update/package.c, through tests/tools/package_owner).
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

# 4c, 4d: the package question. dpkg-query -S loads dpkg's whole database
# (the status file, every list, the diversions) to answer for one path;
# package.c reads the lists for that path alone. Asked about a path no
# package owns (banger's usual target: every list is read to the end) and
# about one that dpkg owns (its own dpkg-query). Both are process starts
# (package_owner is a small tool around the same function banger calls).
if command -v dpkg-query >/dev/null && [ -d /var/lib/dpkg/info ]; then
	pkgdir=$WORK/package
	mkdir -p "$pkgdir"
	cp "$BANGERD" "$pkgdir/bangerd"
	owned=$(command -v dpkg-query)
	PACKAGE_OWNER=$BUILD/tests/package_owner
	if ! { [ "$("$PACKAGE_OWNER" "$pkgdir/bangerd")" = - ] && [ "$("$PACKAGE_OWNER" "$owned")" = dpkg ]; }; then
		log "package_owner does not answer as expected"; exit 1
	fi
	HF_NAMES=(dpkg-unowned package-unowned dpkg-owned package-owned)
	HF_CMDS=(
		"dpkg-query -S -- $pkgdir/bangerd"
		"$PACKAGE_OWNER $pkgdir/bangerd"
		"dpkg-query -S -- $owned"
		"$PACKAGE_OWNER $owned"
	)
	pkg_runs=${BENCH_PACKAGE_RUNS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 20 || echo 100)}
	log "the package question: dpkg-query -S vs package.c, $pkg_runs runs each"
	HF_IGNORE_FAILURE=1 hf "$WORK/package.json" 10 "$pkg_runs" 3
	pm() { fmt '%.2f' "$(hf_stat "$WORK/package.json" "$1" 0.5)"; }
	du=$(pm dpkg-unowned) pu=$(pm package-unowned) do=$(pm dpkg-owned) po=$(pm package-owned)
	result 4c "the package question, a path no package owns: dpkg-query -S vs package.c, medians" \
		"$du vs $pu ms ($(fmt '%.1f' "$(calc "$du / $pu")")x faster)" "-" "-"
	result 4d "the package question, a file dpkg owns (\`$owned\`): dpkg-query -S vs package.c, medians" \
		"$do vs $po ms ($(fmt '%.1f' "$(calc "$do / $po")")x faster)" "-" "-"
	lists=$(find /var/lib/dpkg/info -name '*.list' | wc -l)
	bytes=$(cat /var/lib/dpkg/info/*.list | wc -c)
	detail <<-MD

	### The package question (4c, 4d)

	Before each update banger asks whether a Debian package owns the
	target (then apt, not banger, must replace it). It used to ask
	\`dpkg-query -S\` through \`popen\`, which loads dpkg's whole database;
	it now reads dpkg's file lists for the one path (\`src/update/package.c\`:
	$lists lists, $(calc "$bytes / 1048576" | xargs printf '%.1f') MiB on this machine, read to the end when no
	package owns the path). One hyperfine run, the four commands
	interleaved in 10 rounds, $(hf_count "$WORK/package.json" package-unowned) runs each; times in ms.

	| question | dpkg-query -S: median (p25 - p75) | package.c: median (p25 - p75) | ratio of medians |
	| --- | --- | --- | --- |
	| a path no package owns | $du ($(fmt '%.2f' "$(hf_stat "$WORK/package.json" dpkg-unowned 0.25)") - $(fmt '%.2f' "$(hf_stat "$WORK/package.json" dpkg-unowned 0.75)")) | $pu ($(fmt '%.2f' "$(hf_stat "$WORK/package.json" package-unowned 0.25)") - $(fmt '%.2f' "$(hf_stat "$WORK/package.json" package-unowned 0.75)")) | $(fmt '%.1f' "$(calc "$du / $pu")")x |
	| \`$owned\` (dpkg's) | $do ($(fmt '%.2f' "$(hf_stat "$WORK/package.json" dpkg-owned 0.25)") - $(fmt '%.2f' "$(hf_stat "$WORK/package.json" dpkg-owned 0.75)")) | $po ($(fmt '%.2f' "$(hf_stat "$WORK/package.json" package-owned 0.25)") - $(fmt '%.2f' "$(hf_stat "$WORK/package.json" package-owned 0.75)")) | $(fmt '%.1f' "$(calc "$do / $po")")x |
	MD
else
	result 4c "the package question: dpkg-query -S vs package.c" "no dpkg on this machine" "-" "-"
fi

# 4e-4g: banger's own part of an update against the check (issue 22, aim
# 1). A target and a small database (schema 2, the fixture's rows: the
# check says "migrations needed", so the update backs it up), one
# hyperfine run of four commands, each prepared alike (the database put
# back at schema 2, the backup removed; the prepare is not timed):
#   check-only   banger update --check-only --no-rehearse
#   update       banger update --no-restart --no-rehearse: lock, the
#                package question, stage (fsynced), verify, the check,
#                backup, journal, swap, journal removed; no daemon runs
#   check-only+r / update+r  the same with the rehearsal (the default)
#   package-question  the package question alone (package_owner, the
#                function banger calls, in a process of its own)
aim=$WORK/aim1
mkdir -p "$aim/bin" "$aim/state" "$aim/upd"
chmod 0700 "$aim/upd"
export BANGER_UPDATE_DIR=$aim/upd
cp "$BANGERD" "$aim/bin/bangerd"
"$BUILD/release-2/bangerd" --db "$aim/template.db" --migrate >/dev/null
"$FIXTURE" seed "$aim/template.db" 2
cat > "$aim/reset.sh" <<-SH
	#!/bin/sh
	cp "$aim/template.db" "$aim/state/banger.db" && rm -f "$aim/state/banger.db.pre-update"
SH
sh "$aim/reset.sh"
u() { echo "$BANGER update --from $BANGERD --target $aim/bin/bangerd --db $aim/state/banger.db $*"; }
upd=("$BANGER" update --from "$BANGERD" --target "$aim/bin/bangerd" --db "$aim/state/banger.db")
HF_NAMES=(check-only update check-only+r update+r package-question)
HF_CMDS=("$(u --check-only --no-rehearse)" "$(u --no-restart --no-rehearse)" "$(u --check-only)" "$(u --no-restart)"
	"$BUILD/tests/package_owner $aim/bin/bangerd")
HF_PREPS=("sh $aim/reset.sh" "sh $aim/reset.sh" "sh $aim/reset.sh" "sh $aim/reset.sh" "sh $aim/reset.sh")
for i in "${!HF_CMDS[@]}"; do
	sh "$aim/reset.sh"
	rc=0
	${HF_CMDS[$i]} > "$aim/out" 2>&1 || rc=$?
	case ${HF_NAMES[$i]} in check-only*) want=1 ;; *) want=0 ;; esac
	[ "$rc" = "$want" ] || { log "${HF_NAMES[$i]} exited $rc, not $want: $(cat "$aim/out")"; exit 1; }
done
aim_runs=${BENCH_AIM1_RUNS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 20 || echo 100)}
log "banger's own update vs the check: 5 commands, $aim_runs runs each in 10 rounds"
HF_IGNORE_FAILURE=1 hf "$WORK/aim1.json" 10 "$aim_runs" 3
unset HF_PREPS
am() { fmt '%.2f' "$(hf_stat "$WORK/aim1.json" "$1" 0.5)"; }
co=$(am check-only) up=$(am update) cor=$(am check-only+r) upr=$(am update+r) pq=$(am package-question)
r1=$(fmt '%.2f' "$(calc "$up / $co")") r1r=$(fmt '%.2f' "$(calc "$upr / $cor")")
# The floor of 4e while the update asks the package question exactly:
# the check plus that question, each in a process of its own (one
# process start too many), before any fsync.
floor=$(fmt '%.2f' "$(calc "($co + $pq) / $co")")

# Where the update's time goes: banger's own progress lines carry the ms
# since its start; the median of each step's share over the runs. Then
# the package question alone (package_owner, the same function) and the
# fsyncs (strace, below).
steps=$WORK/aim1-steps
: > "$steps"
for ((k = 0; k < aim_runs / 2; k++)); do
	sh "$aim/reset.sh"
	"${upd[@]}" --no-restart --no-rehearse 2>&1 >/dev/null | awk '
		match($0, /\[ *[0-9]+ ms\] [a-z (]+/) {
			ms = substr($0, RSTART + 1) + 0; step = substr($0, RSTART, RLENGTH); sub(/.*\] /, "", step)
			sub(/ .*/, "", step); sub(/:$/, "", step)
			if (!(step in first)) first[step] = ms; last[step] = ms; order[++n] = step
		}
		END { printf "start %d", first["stage"]; prev = first["stage"]
			split("verify check backup swap done", s, " ")
			for (i = 1; i <= 5; i++) {
				printf " %s %d", s[i] == "done" ? "removed" : s[i], last[s[i]] - prev; prev = last[s[i]]
			}
			printf "\n" }' >> "$steps"
done
sm() { awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$steps" | median; }
# The fsyncs: strace traces only them (--seccomp-bpf: the other system
# calls run untraced, at full speed); the median over 10 runs of their
# count and of the wall time spent in them.
: > "$aim/fsyncs"
for ((k = 0; k < 10; k++)); do
	sh "$aim/reset.sh"
	strace -f --seccomp-bpf -T -e trace=fsync,fdatasync -o "$aim/strace" "${upd[@]}" --no-restart --no-rehearse >/dev/null 2>&1 || true
	sed -n 's/.*<\([0-9.]*\)>$/\1/p' "$aim/strace" | awk '{ n++; s += $1 } END { printf "%d %.2f\n", n, s * 1000 }' >> "$aim/fsyncs"
done
fsyncs="$(awk '{ print $1 }' "$aim/fsyncs" | median) $(fmt '%.1f' "$(awk '{ print $2 }' "$aim/fsyncs" | median)")"
sh "$aim/reset.sh"

result 4e "banger's own update (\`--no-restart --no-rehearse\`: package question, stage, verify, check, backup of a 36 KiB database, journal, swap) vs \`--check-only --no-rehearse\`, medians" \
	"$up vs $co ms = ${r1}x" "<= 2x" "$(verdict "$r1" "<=" 2)"
result 4f "the same with the rehearsal (the default) on both" "$upr vs $cor ms = ${r1r}x" "-" "-"
result 4g "where 4e's update goes (medians of $((aim_runs / 2)) runs, banger's ms stamps): start, lock and package question / stage + fsync + verify / check / backup / journal + swap / done; fsyncs and the time in them (strace, median of 10 runs); the package question alone" \
	"$(sm start) / $(sm verify) / $(sm check) / $(sm backup) / $(sm swap) / $(sm removed) ms; ${fsyncs% *} fsyncs, ${fsyncs#* } ms; $pq ms" "-" "-"
result 4h "floor of 4e while the package question is asked exactly: (check-only + the package question alone) / check-only, medians of the same run, before any fsync" \
	"($co + $pq) / $co ms = ${floor}x" "-" "-"
detail <<-MD

	### banger's own part of an update against the check (4e-4g)

	A target (a copy of this build's bangerd) and a small database
	(schema 2 with the fixture's rows, 36 KiB: the check says "migrations
	needed", so an update backs it up). One hyperfine run of four commands,
	the database put back at schema 2 and the backup removed before each
	run (a \`--prepare\`, not timed), interleaved in 10 rounds,
	$(hf_count "$WORK/aim1.json" update) runs each. No daemon runs: \`--no-restart\` stops after the
	swap and the journal's removal. Times in ms.

	| command | p25 | median | p75 |
	| --- | --- | --- | --- |
	| \`banger update --check-only --no-rehearse\` | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" check-only 0.25)") | $co | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" check-only 0.75)") |
	| \`banger update --no-restart --no-rehearse\` | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" update 0.25)") | $up | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" update 0.75)") |
	| \`banger update --check-only\` (rehearses) | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" check-only+r 0.25)") | $cor | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" check-only+r 0.75)") |
	| \`banger update --no-restart\` (rehearses) | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" update+r 0.25)") | $upr | $(fmt '%.2f' "$(hf_stat "$WORK/aim1.json" update+r 0.75)") |

	Where the update's time goes, from banger's own progress lines (ms since
	its start, whole ms; medians of $((aim_runs / 2)) runs of \`--no-restart --no-rehearse\`,
	each step's stamp minus the one before): banger's start, the lock, the
	journal's recovery check and the package question $(sm start) ms; the staged
	copy written, fsynced and its ELF header checked $(sm verify) ms; the sandboxed check $(sm check) ms, the backup
	(SQLite's backup API into a temporary file, fsynced, renamed, the
	directory fsynced) $(sm backup) ms, the journal and the swap (the journal
	written and fsynced with its directory, the rename pair, the target's
	directory fsynced) $(sm swap) ms, the journal's removal $(sm removed) ms. Under
	\`strace -f --seccomp-bpf -T -e trace=fsync,fdatasync\` (only those
	traced; medians of 10 runs): ${fsyncs% *} fsync calls, ${fsyncs#* } ms of wall time in them. The package question
	alone (\`tests/tools/package_owner\`, the function banger calls, a process
	start included): $pq ms. \`--check-only\` asks no package question,
	stages without fsync, and writes nothing. The stamped runs come one
	after another after the hyperfine run, their stderr read by awk: on a
	shared machine their sum ($(calc "$(sm start) + $(sm verify) + $(sm check) + $(sm backup) + $(sm swap) + $(sm removed)") ms) need not
	match the hyperfine median; what they show is the shares.
	MD
