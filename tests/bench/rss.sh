#!/usr/bin/env bash
# 5. Peak memory. GNU time's %M (wait4's ru_maxrss) of banger is the
# maximum over banger AND every child it waited for, so it cannot tell the
# updater from the check child. measure rss runs the command under ptrace,
# follows its forks, and reads each process's own peak (VmHWM) at its exit,
# before its memory is unmapped; and, once, where the resident pages are
# (smaps: RSS, PSS and private KiB by mapping).
#   updater     banger update --check-only, its own peak (depth 0), and the
#               sandboxed bangerd it runs (depth 1)
#   flood       the same with a hostile child that writes to stdout
#               forever (tests/sandbox/hostile.c "flood"): banger reads at
#               most 64 KiB of it, then closes the pipe
#   bare        bangerd --check-migrations alone
set -euo pipefail
# shellcheck source=tests/bench/lib.bash
source "$(dirname "$0")/lib.bash"

dir=$WORK/rss
mkdir -p "$dir/state" "$dir/bin"
db=$dir/state/banger.db
new_db "$db"
flood=$BUILD/tests/hostile/flood
[ -x "$flood" ] || { log "$flood is missing (make $flood)"; exit 1; }

declare -A cmd=(
	[updater]="$BANGER update --check-only --from $BANGERD --target $dir/bin/bangerd --db $db"
	[flood]="$BANGER update --check-only --from $flood --target $dir/bin/bangerd --db $db"
	[bare]="$BANGERD --db $db --check-migrations"
)
log "$BENCH_RSS_RUNS runs of each"
for ((r = 1; r <= BENCH_RSS_RUNS; r++)); do
	for k in updater flood bare; do
		smaps=
		[ "$r" = 1 ] && smaps=--smaps
		# shellcheck disable=SC2086
		"$MEASURE" rss $smaps ${cmd[$k]} > "$dir/$k.$r" 2>/dev/null || true
	done
done

# peak KIND DEPTH: the largest VmHWM (KiB) of a process at DEPTH over all runs.
peak() { cat "$dir/$1".* | awk -v d="depth=$2" '$1 == "process" && $2 == d { sub("hwm_kib=", "", $4); if ($4 + 0 > m) m = $4 + 0 } END { print m + 0 }'; }
wait4() { cat "$dir/$1".* | awk '$1 == "wait4" { sub("maxrss_kib=", "", $2); if ($2 + 0 > m) m = $2 + 0 } END { print m + 0 }'; }
mib() { fmt '%.2f MiB' "$(calc "$1 / 1024")"; }
kib_verdict() { verdict "$1" '<=' "$2"; }

child=$(peak updater 1) bare=$(peak bare 0) upd=$(peak updater 0) upd_flood=$(peak flood 0)
result 5a "peak RSS of the check child (sandboxed bangerd, its own VmHWM)" "$(mib "$child")" "<= 4 MiB" "$(kib_verdict "$child" 4096)"
result 5b "peak RSS of the bare check (\`bangerd --check-migrations\`)" "$(mib "$bare")" "<= 4 MiB" "$(kib_verdict "$bare" 4096)"
result 5c "peak RSS of the updater (\`banger update --check-only\`, itself only)" "$(mib "$upd")" "<= 8 MiB" "$(kib_verdict "$upd" 8192)"
result 5d "the same, its child flooding stdout" "$(mib "$upd_flood")" "<= 8 MiB" "$(kib_verdict "$upd_flood" 8192)"

# The smaps of run 1: "mapping rss pss private" for the process at DEPTH.
where() {
	awk -v d="depth=$2" '$1 == "smaps" && $2 == d {
		rss = $4; pss = $5; priv = $6; sub("rss_kib=", "", rss); sub("pss_kib=", "", pss); sub("private_kib=", "", priv)
		name = $0; sub(/.*mapping=/, "", name)
		if (name ~ /\(deleted\)$/ || name ~ /#[0-9]+/) name = "the staged bangerd (unnamed copy)"
		else if (name ~ /^\//) { n = split(name, parts, "/"); name = parts[n] }
		printf "| %s | %d | %d | %d |\n", name, rss, pss, priv; tr += rss; tp += pss; tv += priv }
		END { printf "| **total at exit** | **%d** | **%d** | **%d** |\n", tr, tp, tv }' "$dir/$1.1"
}
{
	cat <<-MD
	## 5. Peak memory

	GNU time's \`%M\` (wait4's \`ru_maxrss\`) of banger is the maximum over
	banger *and* every child it waited for, so it cannot tell the updater
	from the check child. \`measure rss\` runs the command under ptrace,
	follows its forks, and at each process's exit (\`PTRACE_EVENT_EXIT\`,
	before its memory is unmapped) reads that process's own peak resident
	set, \`VmHWM\` in \`/proc/PID/status\`: the high-water mark of its own
	pages after its last exec, no child counted. The largest over
	$BENCH_RSS_RUNS runs is kept. In KiB:

	| command | process | peak RSS (VmHWM), max of $BENCH_RSS_RUNS runs | wait4 ru_maxrss (GNU time %M) |
	| --- | --- | --- | --- |
	| \`banger update --check-only --from bangerd\` | banger, the updater | $upd | $(wait4 updater) (max of both) |
	| | bangerd in the sandbox, the check child | $child | |
	| \`banger update --check-only --from hostile/flood\` | banger, the updater | $upd_flood | $(wait4 flood) (max of both) |
	| | the flooding child (killed by SIGPIPE once banger has read 64 KiB) | $(peak flood 1) | |
	| \`bangerd --check-migrations\` | the bare check | $bare | $(wait4 bare) |

	\`ru_maxrss\` and \`VmHWM\` are both the kernel's resident-set high-water
	mark, but read at different times from per-CPU counters, so they can
	differ by a few hundred KiB; neither includes page tables or kernel
	memory.

	Where the check child's resident pages are when it exits (one run;
	PSS divides each shared page among the processes mapping it; private
	pages are this process's alone), in KiB:

	| mapping | RSS | PSS | private |
	| --- | --- | --- | --- |
	$(where updater 1)

	And the updater's:

	| mapping | RSS | PSS | private |
	| --- | --- | --- | --- |
	$(where updater 0)

	Most of either peak is pages of shared libraries (libc, libsqlite3, the
	dynamic loader) that every process on the machine using them shares:
	they count in full in each process's RSS but are paid once. What is
	banger's or bangerd's own (heap, stack, anonymous pages, their data) is
	the "private" column.
	MD
	total() { awk -v d="depth=$2" -v f="$3" '$1 == "smaps" && $2 == d { v = $f; sub(/^[a-z_]*=/, "", v); t += v } END { print t + 0 }' "$dir/$1.1"; }
	for who in child updater; do
		case $who in
		child) peakv=$child limit=4096 depth=1 name="the check child" ;;
		updater) peakv=$(( upd > upd_flood ? upd : upd_flood )) limit=8192 depth=0 name="the updater" ;;
		esac
		if [ "$(kib_verdict "$peakv" "$limit")" = missed ]; then
			cat <<-MD

			**Why the aim for $name is missed.** Its peak is $peakv KiB against $limit.
			At exit $(total updater "$depth" 4) KiB were resident, of which $(total updater "$depth" 6) KiB
			private; the rest are file pages of the executable and shared libraries
			(table above), counted in full by RSS although shared. What would
			reach the aim is mapping less: fewer libraries (each costs its
			relocated data and the pages its start-up touches), or a static
			build of only what the process uses.
			MD
		else
			echo
			echo "Aim for $name met: peak $peakv KiB, $(( limit - peakv )) KiB under $limit."
		fi
	done
} | detail
