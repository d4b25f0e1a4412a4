# Shared by the tests/bench scripts (sourced). tests/bench/run sets BUILD,
# WORK, SECTION and the BENCH_* settings. Nothing here asserts a time: a
# section records numbers and ratios, and whether each met its aim.

MEASURE=$BUILD/tests/measure
FIXTURE=$BUILD/tests/fixture
BANGERD=$BUILD/bangerd
BANGER=$BUILD/banger

# result ID MEASUREMENT RESULT AIM VERDICT: one row of the summary table.
result() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$WORK/results.tsv"; }

# Markdown for this section's part of docs/BENCHMARKS.md, from stdin.
detail() { cat >> "$WORK/detail/$SECTION.md"; }

# A process this run started and must stop, whatever happens: its pid
# and its start time (field 22 of /proc/PID/stat), so that the cleanup
# never kills another process that got the pid later.
started() { echo "$1 $(cut -d' ' -f22 "/proc/$1/stat" 2>/dev/null)" >> "$WORK/pids"; }

log() { printf 'bench: [%s] %s\n' "$SECTION" "$*" >&2; }

median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1
		print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# calc EXPR: awk arithmetic, e.g. calc "$a / $b".
calc() { awk "BEGIN { print $1 }"; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }

# verdict VALUE <=|>= LIMIT: met or missed.
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" \
		'BEGIN { ok = (op == "<=") ? v + 0 <= l + 0 : v + 0 >= l + 0; print ok ? "met" : "missed" }'
}

# A fresh database at schema 3 with the fixture's images and VMs.
new_db() {
	mkdir -p "$(dirname "$1")"
	"$BANGERD" --db "$1" --migrate >/dev/null
	"$FIXTURE" seed "$1" 3
}

# hf OUT ROUNDS RUNS WARMUP: run the commands of the arrays HF_NAMES and
# HF_CMDS (and HF_PREPS: a --prepare per command, when set; with
# HF_IGNORE_FAILURE=1, a command may exit non-zero) through
# hyperfine ROUNDS times, in reverse order every other round, RUNS runs in
# all per command, so that a burst of load from the machine's other work
# falls on every command alike. OUT gets {"name": [seconds...]} with every
# run of every round.
hf() {
	local out=$1 rounds=$2 runs=$3 warmup=$4 r i order
	local per=$(((runs + rounds - 1) / rounds))
	local n=${#HF_NAMES[@]}
	echo '{}' > "$out"
	for ((r = 0; r < rounds; r++)); do
		local args=()
		for ((k = 0; k < n; k++)); do
			i=$((r % 2 ? n - 1 - k : k))
			[ -n "${HF_PREPS+x}" ] && args+=(--prepare "${HF_PREPS[$i]}")
			args+=(-n "${HF_NAMES[$i]}" "${HF_CMDS[$i]}")
		done
		hyperfine --style none -N ${HF_IGNORE_FAILURE:+-i} --warmup "$warmup" --runs "$per" \
			--export-json "$WORK/hf-round.json" "${args[@]}" >/dev/null 2>"$WORK/hf.err" ||
			{ cat "$WORK/hf.err" >&2; return 1; }
		jq -s '.[0] as $acc | .[1].results | reduce .[] as $c ($acc;
			.[$c.command] += $c.times)' "$out" "$WORK/hf-round.json" > "$out.tmp"
		mv "$out.tmp" "$out"
	done
}

# hf_stat OUT NAME q: the q-quantile (0.5: the median) of NAME's times, in ms.
hf_stat() {
	jq -r --arg n "$2" --argjson q "$3" \
		'.[$n] | sort | ((length - 1) * $q) as $x | ($x | floor) as $lo | ($x | ceil) as $hi
		 | (.[$lo] + (.[$hi] - .[$lo]) * ($x - $lo)) * 1000' "$1"
}
hf_count() { jq -r --arg n "$2" '.[$n] | length' "$1"; }
