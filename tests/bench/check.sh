#!/usr/bin/env bash
# 1. The check on a small database, six ways in one hyperfine run, so that
# the differences between rows are the cost of one layer each:
#   bare      bangerd --check-migrations: exec, dynamic linking (SQLite),
#             the check's own seccomp guard, open, classify, print
#   spawn     tests/tools/measure forks and execs that same bare check: the
#             baseline for the next row (same parent binary and libraries)
#   sandbox   measure runs it through update_run_staged(), as banger does:
#             the sandbox alone (rlimits, capabilities, Landlock, the BPF
#             policy, execveat of a descriptor, the pidfd watch), without
#             banger's start, staging or verification
#   sandboxed banger update --check-only: banger's own start, the lock-free
#             check-only path, staging an unnamed copy of bangerd next to
#             the target, verifying its ELF header, then the sandbox
#   +sha256   the same with --sha256: hashing the staged copy too
#   bwrap     the bare check under bwrap with every namespace unshared
#   start     banger --version: banger's own process start, no check
set -euo pipefail
# shellcheck source=tests/bench/lib.bash
source "$(dirname "$0")/lib.bash"

dir=$WORK/check
mkdir -p "$dir/state" "$dir/bin"
db=$dir/state/banger.db
new_db "$db"
sha=$(sha256sum < "$BANGERD" | cut -c1-64)

HF_NAMES=(bare spawn sandbox sandboxed sha256 bwrap start)
HF_CMDS=(
	"$BANGERD --db $db --check-migrations"
	"$MEASURE spawn $BANGERD --db $db --check-migrations"
	"$MEASURE sandbox $BANGERD $dir/state --db $db --check-migrations"
	"$BANGER update --check-only --from $BANGERD --target $dir/bin/bangerd --db $db"
	"$BANGER update --check-only --from $BANGERD --target $dir/bin/bangerd --db $db --sha256 $sha"
	"bwrap --ro-bind / / --unshare-all --cap-drop ALL --new-session --die-with-parent $BANGERD --db $db --check-migrations"
	"$BANGER --version"
)
# Each must print the verdict (start: the version), or the timing means nothing.
for i in "${!HF_CMDS[@]}"; do
	out=$(${HF_CMDS[$i]} 2>&1) || true
	want="compatible: applied [1 2 3]"
	[ "${HF_NAMES[$i]}" = start ] && want=$("$BANGERD" --version)
	[ "$out" = "$want" ] || { log "${HF_NAMES[$i]} printed '$out'"; exit 1; }
done
rounds=20
log "hyperfine: ${#HF_NAMES[@]} commands, $BENCH_RUNS runs each in $rounds rounds"
hf "$WORK/check.json" "$rounds" "$BENCH_RUNS" 10

m() { fmt '%.3f' "$(hf_stat "$WORK/check.json" "$1" 0.5)"; }
start=$(m start) bare=$(m bare) spawn=$(m spawn) sandbox=$(m sandbox) sandboxed=$(m sandboxed) sha=$(m sha256) bwrap=$(m bwrap)
ratio() { fmt '%.2f' "$(calc "$1 / $bare")"; }
diff_ms() { fmt '%.2f' "$(calc "$1 - $2")"; }
runs=$(hf_count "$WORK/check.json" bare)

result 1a "check, bare (\`bangerd --check-migrations\`), median" "$bare ms" "-" "-"
result 1b "check, sandboxed (\`banger update --check-only\`), median" "$sandboxed ms ($(ratio "$sandboxed")x bare)" "-" "-"
result 1c "check under bwrap, median" "$bwrap ms ($(ratio "$bwrap")x bare)" "-" "-"
# The sandbox alone, measured in one process: BENCH_PAIRS times a plain
# fork+exec of the check next to the same check through update_run_staged.
log "measure pairs: $BENCH_PAIRS"
"$MEASURE" pairs "$BENCH_PAIRS" "$BANGERD" "$dir/state" --db "$db" --check-migrations > "$dir/pairs"
pair() { sed -n "s/^$1=//p" "$dir/pairs"; }
alone=$(pair diff_median_ms)
whole=$(diff_ms "$sandboxed" "$bare")
parent=$(diff_ms "$sandbox" "$bare")
bwrap_over=$(diff_ms "$bwrap" "$bare")
parent_vs_bwrap=$(fmt '%.2f' "$(calc "$parent / $bwrap_over")")
whole_vs_bwrap=$(fmt '%.2f' "$(calc "$whole / $bwrap_over")")
result 1d "sandbox overhead, all banger adds: sandboxed - bare" "$whole ms" "< 0.5 ms" "$(verdict "$whole" "<=" 0.5)"
result 1e "the sandbox alone: median of $(pair pairs) in-process pairs, sandboxed - plain run" "$alone ms (p25-p75 $(pair diff_p25_ms)-$(pair diff_p75_ms))" "< 0.5 ms" "$(verdict "$alone" "<=" 0.5)"
result 1f "a parent running the check in the sandbox vs bwrap: (sandbox - bare) / (bwrap - bare)" "$parent / $bwrap_over ms = ${parent_vs_bwrap}x" "<= 0.5x" "$(verdict "$parent_vs_bwrap" "<=" 0.5)"
result 1g "all banger adds vs bwrap: (sandboxed - bare) / (bwrap - bare)" "${whole_vs_bwrap}x" "<= 0.5x" "$(verdict "$whole_vs_bwrap" "<=" 0.5)"
# The floor under 1e: the same root, entered by a bare child (no Landlock,
# seccomp, capabilities, rlimits, pipes or pidfd), and a namespace with no
# mount of ours at all; each paired with a plain run (tests/tools/mount_floor).
log "mount_floor: $BENCH_PAIRS rounds"
"$BUILD/tests/mount_floor" "$BENCH_PAIRS" "$BANGERD" "$dir/state" --db "$db" --check-migrations > "$dir/floor"
fl() { sed -n "s/^$1=//p" "$dir/floor"; }
result 1h "floor under 1e, medians of $(fl rounds) paired rounds vs a plain run: the sandbox's own mount namespace entered alone ($(fl plan_entries) entries) / an empty namespace (unshare, all private) / the whole sandbox" \
	"$(fl mounts_diff_median_ms) / $(fl unshare_diff_median_ms) / $(fl sandbox_diff_median_ms) ms" "-" "-"
# The floor of 1g while banger is a dynamically linked program that runs
# the check in this sandbox: its own start (banger --version) and the
# sandbox alone (1e), before any staging, against what bwrap adds.
floor_g=$(fmt '%.2f' "$(calc "($start + $alone) / $bwrap_over")")
result 1i "floor of 1g: (banger's own start + the sandbox alone, 1e) / (bwrap - bare), before any staging" \
	"($start + $alone) / $bwrap_over ms = ${floor_g}x" "-" "-"

row() {
	local name=$1 what=$2
	printf '| %s | %s | %s | %s | %s | %sx |\n' "$name" "$what" \
		"$(fmt '%.3f' "$(hf_stat "$WORK/check.json" "$name" 0.25)")" "$(m "$name")" \
		"$(fmt '%.3f' "$(hf_stat "$WORK/check.json" "$name" 0.75)")" "$(ratio "$(m "$name")")"
}
detail <<MD
## 1. The check: bare, sandboxed, under bwrap

A small database (schema 3, three images, two VMs). One hyperfine run of
seven commands, $runs runs each, split in $rounds rounds whose order
alternates, so that a burst of load from the machine's other work falls
on every command alike. Times in ms.

| command | what it includes | p25 | median | p75 | vs bare |
| --- | --- | --- | --- | --- | --- |
$(row bare "\`bangerd --check-migrations\`: exec, dynamic linking (SQLite), the check's own seccomp guard, open, classify, print")
$(row spawn "\`measure spawn\`: a parent (the bench tool) that forks and execs the bare check and waits")
$(row sandbox "\`measure sandbox\`: the same parent running it through \`update_run_staged()\` as banger does: rlimits, capabilities, Landlock, the compiled BPF policy, \`execveat\` of the descriptor, the pidfd watch")
$(row sandboxed "\`banger update --check-only\`: banger's start, staging an unnamed copy of bangerd beside the target, verifying its ELF header, then the sandbox")
$(row sha256 "the same with \`--sha256\`: hashing the staged copy too")
$(row bwrap "the bare check under \`bwrap --unshare-all --cap-drop ALL\`")
$(row start "\`banger --version\`: banger's own start alone (exec, the dynamic linking of its $(ldd "$BANGER" | grep -c '=>') libraries), no check")

Differences of medians, each the cost of one layer:

- a parent process that forks and waits (spawn - bare): $(diff_ms "$spawn" "$bare") ms
- the sandbox alone (sandbox - spawn): $(diff_ms "$sandbox" "$spawn") ms; measured in one
  process instead (\`measure pairs\`: $(pair pairs) times a plain fork and exec of the check
  next to the same check through \`update_run_staged()\`, no start of the measuring
  tool in either): plain $(pair spawn_median_ms) ms, sandboxed $(pair sandbox_median_ms) ms,
  paired difference $(pair diff_median_ms) ms (p25 $(pair diff_p25_ms), p75 $(pair diff_p75_ms))
- the floor (\`tests/tools/mount_floor\`, $(fl rounds) rounds of four runs next to each other:
  plain, a child that only unshares a mount namespace and makes it private, a child that
  enters the sandbox's very root - \`mount_plan_enter()\` of the same plan, $(fl plan_entries)
  directories, symlinks and read-only binds, the tmpfs, \`pivot_root\`, the old root
  detached - and nothing else, and the whole sandbox): plain $(fl plain_median_ms) ms;
  over it, the empty namespace $(fl unshare_diff_median_ms) ms (p25-p75
  $(fl unshare_diff_p25_ms)-$(fl unshare_diff_p75_ms)), the root alone $(fl mounts_diff_median_ms) ms
  ($(fl mounts_diff_p25_ms)-$(fl mounts_diff_p75_ms)), the whole sandbox $(fl sandbox_diff_median_ms) ms
  ($(fl sandbox_diff_p25_ms)-$(fl sandbox_diff_p75_ms)): what the kernel charges for the
  namespace and its mounts, which no change to banger's code removes while the root holds
  these entries, against what the rest of the sandbox adds
- staging the copy and checking its ELF header, plus whatever banger's start costs more than the bench tool's (sandboxed - sandbox): $(diff_ms "$sandboxed" "$sandbox") ms
- hashing the staged copy (+sha256 - sandboxed): $(diff_ms "$sha" "$sandboxed") ms
- of what \`--check-only\` adds (aim 2), banger's own process start (\`banger --version\`): $start ms;
  the rest, staging, verifying, planning and the sandbox with its child (sandboxed - bare - start):
  $(diff_ms "$(diff_ms "$sandboxed" "$bare")" "$start") ms
- everything banger adds to the bare check (sandboxed - bare): $(diff_ms "$sandboxed" "$bare") ms; bwrap adds $(diff_ms "$bwrap" "$bare") ms

Aims: sandbox overhead under 0.5 ms, and at most half of bwrap's. Which
difference is "the overhead" decides the verdict, so rows 1d-1g give each:

- The sandbox itself - rlimits, capabilities, Landlock, the BPF program,
  \`execveat\`, the pipes and the pidfd watch - costs $alone ms (1e, the
  in-process pairs; the hyperfine rows, each with a process start of
  their own, put it at $(diff_ms "$sandbox" "$spawn") ms). A parent that runs
  the check confined costs $parent ms over the bare check, against bwrap's
  $bwrap_over ms for the same job: ${parent_vs_bwrap}x (1f). bwrap is likewise a
  parent process that sets up its confinement and then execs the check.
- Everything \`banger update --check-only\` adds to the bare check costs
  $whole ms (1d), ${whole_vs_bwrap}x of bwrap's (1g). That sum holds two
  costs that are not the sandbox's. The first is a second process's start:
  the dynamic linking of banger's libraries, about what spawn - bare
  shows. The second is staging and checking the copy that the sandbox
  runs: an unnamed file beside the target, written and read back, and its
  ELF header checked. Neither can go while an updater runs the staged copy
  of a new release, as DESIGN requires. Linking banger statically would
  cut part of the first cost. Staging into a memfd instead of the
  target's directory would cut part of the second, but the copy that is
  checked would then no longer be the one renamed into place. An update
  runs one check, so a millisecond there buys nothing worth either trade.
MD
