#!/usr/bin/env bash
# 8. The rehearsal against the database's size (issue 23): what
# `banger update --check-only` costs when migrations are needed and it
# rehearses them on a copy (copy into the sandbox's tmpfs, migration 3,
# integrity and foreign-key checks), side by side with the same command
# with --no-rehearse (the plain check), and the real first start's
# migration on a copy of the same database (`bangerd --migrate`): the
# rehearsal is the operator's forecast of that. Databases at schema 2
# (release 0.0.2's), grown by a table of 4000-byte random blobs as in
# sizes.sh; built once, on the disk, removed at the end.
set -euo pipefail
# shellcheck source=tests/bench/lib.bash
source "$(dirname "$0")/lib.bash"

dir=$WORK/rehearse
mkdir -p "$dir/bin"
read -ra sizes <<< "$BENCH_SIZES_MB"
runs=${BENCH_REHEARSE_RUNS:-5}
label() { if [ "$1" -ge 1024 ] && [ $(($1 % 1024)) = 0 ]; then echo "$(($1 / 1024)) GB"; else echo "$1 MB"; fi; }
R2=$BUILD/release-2/bangerd

HF_NAMES=() HF_CMDS=() HF_PREPS=()
for mb in "${sizes[@]}"; do
	db=$dir/$mb/banger.db
	mkdir -p "$dir/$mb"
	"$R2" --db "$db" --migrate >/dev/null
	"$FIXTURE" seed "$db" 2
	"$FIXTURE" exec "$db" "PRAGMA journal_mode = DELETE; CREATE TABLE bench_fill (b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((mb * 256)))
		INSERT INTO bench_fill SELECT randomblob(4000) FROM n;
		PRAGMA journal_mode = WAL;" >/dev/null
	sync -f "$db"
	# (a 1 GB database with its -wal is a little over the default 1024 MB)
	check=("$BANGER" update --check-only --from "$BANGERD" --target "$dir/bin/bangerd" --db "$db"
		--rehearse-max-mb $((mb * 2 + 64)))
	out=$("${check[@]}" 2>&1) || [ $? -eq 1 ] || { log "the rehearsal failed: $out"; exit 1; }
	[[ "$out" == *"rehearse: applied [3]"* ]] || { log "no rehearsal: $out"; exit 1; }
	# The forecast itself: the migration time the rehearsal reports
	# (rehearsal_ms), median of three, to set beside the real one.
	forecast=()
	for _ in 1 2 3; do	# (exit 1: migrations needed, rehearsed cleanly)
		forecast+=("$({ "${check[@]}" --json 2>/dev/null || true; } | jq -r .rehearsal_ms)")
	done
	mapfile -t forecast < <(printf '%s\n' "${forecast[@]}" | sort -n)
	echo "${forecast[1]}" > "$dir/$mb/forecast"
	HF_NAMES+=("rehearsed-$mb" "plain-$mb" "migrate-$mb")
	HF_CMDS+=("${check[*]}" "${check[*]} --no-rehearse" "$BANGERD --db $dir/$mb/copy.db --migrate")
	# The first start migrates a fresh copy each time (not timed: --prepare).
	HF_PREPS+=(true true "cp $db $dir/$mb/copy.db")
done
log "hyperfine: ${#HF_NAMES[@]} commands, $runs runs each"
HF_IGNORE_FAILURE=1 hf "$WORK/rehearse.json" 1 "$runs" 1

m() { fmt '%.1f' "$(hf_stat "$WORK/rehearse.json" "$1" 0.5)"; }
ratio() { fmt '%.2f' "$(calc "$(m "$1") / $(m "$2")")"; }
for mb in "${sizes[@]}"; do
	result "8-$mb" "rehearsal of a $(label "$mb") database: --check-only with it / without it (medians $(m "rehearsed-$mb") / $(m "plain-$mb") ms); the forecast it reports (rehearsal_ms) / the real first start's migration (\`bangerd --migrate\`)" \
		"+$(fmt '%.1f' "$(calc "$(m "rehearsed-$mb") - $(m "plain-$mb")")") ms; forecast $(cat "$dir/$mb/forecast") / $(m "migrate-$mb") ms" "-" "-"
done
{
	cat <<-MD
	## 8. The rehearsal against the database's size

	\`banger update --check-only\` of this tree's bangerd against a 0.0.2
	database (so migration 3 is pending and rehearsed), with and without
	\`--no-rehearse\`, and \`bangerd --migrate\` of a fresh copy of the same
	database (the real first start's migration, the copy made untimed),
	one hyperfine run, $runs runs each. Databases grown by 4000-byte random
	blobs as in section 2, on \`$(df --output=fstype "$dir" | tail -1)\`. Medians in ms.

	| database | file size | --check-only, rehearsed | --no-rehearse | the rehearsal's cost | its forecast (rehearsal_ms) | bangerd --migrate (whole process) |
	| --- | --- | --- | --- | --- | --- | --- |
	MD
	for mb in "${sizes[@]}"; do
		echo "| $(label "$mb") | $(stat -c %s "$dir/$mb/banger.db") bytes | $(m "rehearsed-$mb") | $(m "plain-$mb") | $(fmt '%.1f' "$(calc "$(m "rehearsed-$mb") - $(m "plain-$mb")")") | $(cat "$dir/$mb/forecast") | $(m "migrate-$mb") |"
	done
	echo
	echo "Reproduce: \`BENCH_SECTIONS=rehearse tests/bench/run build\`."
	echo
} | detail
