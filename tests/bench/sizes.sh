#!/usr/bin/env bash
# 2. Check time against database size: the check reads the header, the
# schema and schema_migrations, never the rest, so a 1 GB database should
# cost what a 1 MB one does. Each database is a real banger database
# (schema 3, the fixture's rows) grown by a table of 4000-byte random
# blobs, one per page, written in rollback-journal mode (so that 1 GB is
# written once, not once to the -wal and again by the checkpoint) and then
# switched back to WAL as bangerd leaves it. Built once per run, on the
# disk, removed at the end.
set -euo pipefail
# shellcheck source=tests/bench/lib.bash
source "$(dirname "$0")/lib.bash"

dir=$WORK/sizes
mkdir -p "$dir/bin"
read -ra sizes <<< "$BENCH_SIZES_MB"
small=${sizes[0]} large=${sizes[${#sizes[@]} - 1]}
label() { if [ "$1" -ge 1024 ] && [ $(($1 % 1024)) = 0 ]; then echo "$(($1 / 1024)) GB"; else echo "$1 MB"; fi; }

HF_NAMES=() HF_CMDS=() HF_PREPS=()
for mb in "${sizes[@]}"; do
	db=$dir/$mb/banger.db
	new_db "$db"
	t0=$(date +%s.%N)
	"$FIXTURE" exec "$db" "PRAGMA journal_mode = DELETE; CREATE TABLE bench_fill (b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((mb * 256)))
		INSERT INTO bench_fill SELECT randomblob(4000) FROM n;
		PRAGMA journal_mode = WAL;" >/dev/null
	sync -f "$db"
	log "$(label "$mb"): $(stat -c %s "$db") bytes, built in $(fmt '%.1f' "$(calc "$(date +%s.%N) - $t0")") s"
	out=$("$BANGERD" --db "$db" --check-migrations) || true
	[ "$out" = "compatible: applied [1 2 3]" ] || { log "the check printed '$out'"; exit 1; }
	HF_NAMES+=("bare-$mb" "sandboxed-$mb")
	HF_CMDS+=("$BANGERD --db $db --check-migrations"
		"$BANGER update --check-only --from $BANGERD --target $dir/bin/bangerd --db $db")
	HF_PREPS+=(true true)
done
# Cold: the database's pages dropped from the page cache before each run
# (that file only: posix_fadvise), so the check reads them from the disk.
for mb in $small $large; do
	HF_NAMES+=("cold-$mb")
	HF_CMDS+=("$BANGERD --db $dir/$mb/banger.db --check-migrations")
	HF_PREPS+=("$MEASURE evict $dir/$mb/banger.db")
done
rounds=20
log "hyperfine: ${#HF_NAMES[@]} commands, $BENCH_SIZE_RUNS runs each in $rounds rounds"
hf "$WORK/sizes.json" "$rounds" "$BENCH_SIZE_RUNS" 5

m() { fmt '%.3f' "$(hf_stat "$WORK/sizes.json" "$1" 0.5)"; }
ratio() { fmt '%.2f' "$(calc "$(m "$1") / $(m "$2")")"; }
bare_r=$(ratio "bare-$large" "bare-$small")
sandboxed_r=$(ratio "sandboxed-$large" "sandboxed-$small")
cold_r=$(ratio "cold-$large" "cold-$small")
L=$(label "$large") S=$(label "$small")
result 2a "check time $L / $S, bare (medians $(m "bare-$large") / $(m "bare-$small") ms)" "${bare_r}x" "<= 1.10x" "$(verdict "$bare_r" '<=' 1.10)"
result 2b "check time $L / $S, sandboxed (medians $(m "sandboxed-$large") / $(m "sandboxed-$small") ms)" "${sandboxed_r}x" "<= 1.10x" "$(verdict "$sandboxed_r" '<=' 1.10)"
result 2c "check time $L / $S, bare, database not in the page cache" "${cold_r}x ($(m "cold-$large") / $(m "cold-$small") ms)" "-" "-"

{
	cat <<-MD
	## 2. Check time against database size

	Real banger databases (schema 3, the fixture's images and VMs) grown by
	a table of 4000-byte random blobs, one per page; built once in this run
	on the disk (\`$(df --output=fstype "$dir" | tail -1)\`), removed after. One hyperfine run of
	every command below, $(hf_count "$WORK/sizes.json" "bare-$small") runs each in $rounds alternating rounds.
	"sandboxed" is \`banger update --check-only\` (row 1b); "cold" is the bare
	check after the database file's pages were dropped from the page cache
	(\`posix_fadvise(DONTNEED)\` on that file only, before each run; the
	binaries and libraries stay cached). Medians in ms, and each size
	against the smallest.

	| database | file size | bare | vs $S | sandboxed | vs $S | cold | vs $S |
	| --- | --- | --- | --- | --- | --- | --- | --- |
	MD
	for mb in "${sizes[@]}"; do
		cold="-" coldr="-"
		if [ "$mb" = "$small" ] || [ "$mb" = "$large" ]; then cold=$(m "cold-$mb") coldr="$(ratio "cold-$mb" "cold-$small")x"; fi
		echo "| $(label "$mb") | $(stat -c %s "$dir/$mb/banger.db") bytes | $(m "bare-$mb") | $(ratio "bare-$mb" "bare-$small")x | $(m "sandboxed-$mb") | $(ratio "sandboxed-$mb" "sandboxed-$small")x | $cold | $coldr |"
	done
	echo
	echo "Aim: $L within 1.1x of $S (rows 2a, 2b): bare ${bare_r}x ($(verdict "$bare_r" '<=' 1.10)), sandboxed ${sandboxed_r}x ($(verdict "$sandboxed_r" '<=' 1.10))."
	iqr() { echo "$(fmt '%.3f' "$(hf_stat "$WORK/sizes.json" "$1" 0.25)") - $(fmt '%.3f' "$(hf_stat "$WORK/sizes.json" "$1" 0.75)") ms"; }
	if [ "$(verdict "$bare_r" '<=' 1.10)" = missed ] || [ "$(verdict "$sandboxed_r" '<=' 1.10)" = missed ]; then
		cat <<-MD

		**Why the aim is missed.** The check reads the same few pages whatever
		the size (the header, the schema, \`schema_migrations\`); the cold row,
		where those pages come from the disk, is ${cold_r}x. The spread of the runs
		(p25 - p75) was, bare: $S $(iqr "bare-$small"), $L $(iqr "bare-$large");
		sandboxed: $S $(iqr "sandboxed-$small"), $L $(iqr "sandboxed-$large"). A difference of
		medians inside that spread is this shared machine's noise, not the
		database's size; more runs (\`BENCH_SIZE_RUNS\`) or a quieter machine
		narrow it. A difference well outside it would be a real cost to find
		(\`strace -c\` of the check on both databases, which should show the same
		reads).
		MD
	fi
} | detail
rm -rf "$dir"
