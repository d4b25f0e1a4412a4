#!/usr/bin/env bash
# 7. The control socket under load: status requests/s and p99 latency at
# 1, 16 and 128 well-behaved clients (tests/tools/crowd: banger's own
# client, control_status, each asking as fast as it is answered), and the
# same while 500 idle connections are held open (reconnected as soon as
# the daemon closes them: a deadline or an eviction). One bangerd on a
# fresh database, bound to its own socket; the runs alternate plain and
# crowded at each client count, so that the machine's other work falls on
# both alike.
set -euo pipefail
# shellcheck source=tests/bench/lib.bash
source "$(dirname "$0")/lib.bash"

CROWD=$BUILD/tests/crowd
SECONDS_PER_RUN=${BENCH_CROWD_SECONDS:-5}
db=$WORK/crowd/banger.db
sock=$WORK/crowd/run/bangerd.sock
new_db "$db"
"$BANGERD" --db "$db" --socket "$sock" 2>"$WORK/crowd/daemon.log" &
daemon=$!
started "$daemon"
for _ in $(seq 200); do "$BANGER" status --socket "$sock" >/dev/null 2>&1 && break; sleep 0.05; done

# run N IDLE: "PER_S P99_MS WORST_MS FAILED REQUESTS"
run() {
	local args=(--clients "$1" --interval-ms 0 --seconds "$SECONDS_PER_RUN" --timeout-ms 10000)
	[ "$2" -gt 0 ] && args+=(--idle "$2" --reconnect)
	local line
	line=$("$CROWD" "$sock" "${args[@]}" 2>/dev/null | grep '^requests=') || true
	field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$line"; }
	echo "$(field per_s) $(field p99_ms) $(field worst_ms) $(field failed) $(field requests)"
}

declare -A out
for n in 1 16 128; do
	log "$n clients, plain and beside 500 idle connections, ${SECONDS_PER_RUN}s each"
	out[$n,0]=$(run "$n" 0)
	out[$n,500]=$(run "$n" 500)
done
kill -TERM "$daemon"
wait "$daemon" || log "bangerd exited $?"

col() { awk -v c="$2" '{ print $c }' <<<"$1"; }
cell() { echo "$(col "$1" 1)/s, p99 $(col "$1" 2) ms"; }
failed_idle=0
for n in 1 16 128; do failed_idle=$((failed_idle + $(col "${out[$n,500]}" 4))); done
result 7a "status requests/s and p99, 1 / 16 / 128 clients" \
	"$(cell "${out[1,0]}") / $(cell "${out[16,0]}") / $(cell "${out[128,0]}")" "-" "-"
result 7b "the same while 500 idle connections are held open" \
	"$(cell "${out[1,500]}") / $(cell "${out[16,500]}") / $(cell "${out[128,500]}")" "0 failed" \
	"$([ "$failed_idle" = 0 ] && echo met || echo missed)"

{
	cat <<-MD
	## 7. The control socket under load

	One bangerd on a fresh database (schema 3, the fixture's rows), bound to
	its own socket. Well-behaved clients: \`tests/tools/crowd --clients N
	--interval-ms 0\`, N processes each sending \`{"cmd":"status"}\` through
	banger's own client (\`control_status\`, which retries a refused or reset
	connection within its 10 s timeout) as fast as it is answered, for
	${SECONDS_PER_RUN} s. Idle: \`--idle 500 --reconnect\`, 500 connections that
	say nothing, each opened again as soon as the daemon closes it (its
	500 ms deadline, or an eviction when its 64 slots are full), so that 500
	are held open all along. Plain and idle runs alternate at each client
	count. p99 and worst are per request; worst includes a failed one.
	Command: \`BENCH_SECTIONS=crowd tests/bench/run build\` (or \`make bench\`).

	| clients | idle connections | requests/s | p99, ms | worst, ms | failed / requests |
	| --- | --- | --- | --- | --- | --- |
	MD
	for n in 1 16 128; do
		for idle in 0 500; do
			r=${out[$n,$idle]}
			echo "| $n | $idle | $(col "$r" 1) | $(col "$r" 2) | $(col "$r" 3) | $(col "$r" 4) / $(col "$r" 5) |"
		done
	done
	echo
	echo "A request waits behind the hostile connections only in the backlog: each is read as soon as it is accepted, and a well-behaved one, whose request came with it, is answered there and then. With 128 clients on $(nproc) CPUs the clients and the daemon share the same cores, and p99 is mostly the clients' own turn to run."
} | detail
