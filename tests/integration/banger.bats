#!/usr/bin/env bats
# banger's command line: update --check-only relays real verdicts from real
# releases, refuses what it cannot verify, and policy check/show.

load helpers
bats_require_minimum_version 1.5.0

BANGER=$BANGER_BUILD/banger

setup() { common_setup; mkdir -p "$WORK/bin"; }
teardown() { common_teardown; }

check_only() {
	run --separate-stderr "$BANGER" update --check-only --target "$WORK/bin/bangerd" --db "$DB" "$@"
}

@test "check-only relays 0, 1 and 2 from the real releases" {
	"$BANGERD_R2" --db "$DB" --migrate
	check_only --from "$STAGED_BANGERD"
	[ "$status" -eq 1 ]
	[ "$output" = "migrations needed: pending [3] (binary will apply on first Open)" ]
	# shellcheck disable=SC2153 # BANGERD is helpers.bash's (load)
	"$BANGERD" --db "$DB" --migrate
	check_only --from "$STAGED_BANGERD"
	[ "$status" -eq 0 ]
	[ "$output" = "compatible: applied [1 2 3]" ]
	check_only --from "$BANGERD_R2"
	[ "$status" -eq 2 ]
	[ "$output" = "incompatible: unknown applied [3] (binary older than DB)" ]
	[ -z "$(ls -A "$WORK/bin")" ]
}

@test "check-only --json prints one result object" {
	"$BANGERD" --db "$DB" --migrate
	check_only --from "$BANGERD_R2" --json
	[ "$status" -eq 2 ]
	[ "$(jq -r .result <<<"$output")" = incompatible ]
	[ "$(jq -r .exit <<<"$output")" = 2 ]
	[ "$(jq -r .line <<<"$output")" = "incompatible: unknown applied [3] (binary older than DB)" ]
}

@test "check-only finds the database by --state-dir and by XDG_STATE_HOME" {
	mkdir -p "$WORK/xdg/banger"
	"$BANGERD_R2" --db "$WORK/xdg/banger/banger.db" --migrate
	run "$BANGER" update --check-only --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd" --state-dir "$WORK/xdg/banger"
	[ "$status" -eq 1 ]
	XDG_STATE_HOME=$WORK/xdg run "$BANGER" update --check-only --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd"
	[ "$status" -eq 1 ]
}

@test "a file that is not an ELF executable: exit 4, nothing left" {
	printf '#!/bin/sh\necho compatible: applied [1 2 3]\n' > "$WORK/script"
	chmod +x "$WORK/script"
	check_only --from "$WORK/script"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"not an ELF executable"* ]]
	[ -z "$(ls -A "$WORK/bin")" ]
}

@test "an ELF executable for another machine: exit 4" {
	cp "$STAGED_BANGERD" "$WORK/arm64"
	printf '\xb7\x00' | dd of="$WORK/arm64" bs=1 seek=18 conv=notrunc status=none	# e_machine = EM_AARCH64
	check_only --from "$WORK/arm64"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"another machine"* ]]
	cp "$STAGED_BANGERD" "$WORK/elf32"
	printf '\x01' | dd of="$WORK/elf32" bs=1 seek=4 conv=notrunc status=none	# ELFCLASS32
	check_only --from "$WORK/elf32"
	[ "$status" -eq 4 ]
}

@test "a missing --from, a directory, an empty file: exit 4 with the reason" {
	check_only --from "$WORK/nothing"
	[ "$status" -eq 4 ]
	[ "$stderr" = "banger: update refused: --from $WORK/nothing: No such file or directory" ]
	check_only --from "$WORK"
	[ "$status" -eq 4 ]
	[ "$stderr" = "banger: update refused: --from $WORK: not a regular file" ]
	: > "$WORK/empty"
	check_only --from "$WORK/empty"
	[ "$status" -eq 4 ]
}

@test "a staging directory that cannot be written: a clear error, exit 4" {
	[ "$(id -u)" -eq 0 ] || skip "root needed for a read-only bind mount"
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run --separate-stderr unshare --mount --propagation private sh -c '
		mount --bind -o ro "$1" "$1" && exec "$2" update --check-only --from "$3" --target "$1/bangerd" --db "$4"' \
		_ "$WORK/bin" "$BANGER" "$STAGED_BANGERD" "$DB"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"cannot stage"* ]]
}

# An ordinary user asking the system daemon meets a socket in a 0700
# directory of root's. Here /run is a tmpfs of a private mount namespace,
# and banger a copy that uid 65534 can reach wherever the tree is.
@test "status --system as an ordinary user: the socket is root's, and what to run instead" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	local own
	own=$(mktemp -d /tmp/banger-status.XXXXXX)
	chmod 755 "$own"
	install -m 0755 "$BANGER" "$own/banger"
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	run --separate-stderr unshare --mount --propagation private sh -c '
		mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0700 /run/banger &&
		exec setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all "$1" status --system' \
		_ "$own/banger"
	rm -rf "$own"
	echo "exit $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "banger: status: nothing answers on /run/banger/bangerd.sock: Permission denied; the system daemon's socket is root's: run 'sudo banger status --system'" ]]
}

@test "usage errors exit 64" {
	for args in "update" "update --check-only" "update --from x --state-dir a --db b --check-only" "update --from x --check-only --sha256 abc" \
		    "update --from x --no-restart --restart-cmd y" "update --from x --minisig s" \
		    "update --from x --timeout 0 --check-only" "update --from x --bogus" "frobnicate" ""; do
		# shellcheck disable=SC2086 # a list of words, split on purpose
		run --separate-stderr "$BANGER" $args
		[ "$status" -eq 64 ] || { echo "args '$args' -> $status"; false; }
		[[ "$stderr" == *"usage: banger"* ]]
	done
}

@test "check-only restarts nothing: --restart-cmd and --no-restart with it are usage errors" {
	run --separate-stderr "$BANGER" update --check-only --from "$STAGED_BANGERD" --restart-cmd true --db "$DB"
	[ "$status" -eq 64 ]
	run --separate-stderr "$BANGER" update --check-only --from "$STAGED_BANGERD" --no-restart --db "$DB"
	[ "$status" -eq 64 ]
}

@test "policy check accepts the shipped policy and rejects a broken one with banger: file:line" {
	run "$BANGER" policy check "$BATS_TEST_DIRNAME/../../policy/check-migrations.policy"
	[ "$status" -eq 0 ]
	run "$BANGER" policy check "$BATS_TEST_DIRNAME/../../policy/rehearse-migrations.policy"
	[ "$status" -eq 0 ]
	printf 'default kill\nread\nfrobnicate_syscall\n' > "$WORK/bad.policy"
	run --separate-stderr "$BANGER" policy check "$WORK/bad.policy"
	[ "$status" -ne 0 ]
	[[ "$stderr" == "banger: $WORK/bad.policy:3: "* ]]
	run --separate-stderr "$BANGER" policy check "$WORK/missing.policy"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "banger: cannot open policy $WORK/missing.policy: No such file or directory" ]]
}

@test "policy show prints the compiled filter" {
	run "$BANGER" policy show "$BATS_TEST_DIRNAME/../../policy/check-migrations.policy"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pseudo filter code"* ]] || [[ "$output" == *"ALLOW"* ]]
}

@test "--version prints the version alone, for both programs" {
	run --separate-stderr "$BANGER" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[A-Za-z0-9.+~:_-]+$ ]]
	[ -z "$stderr" ]
	[ "$output" = "$("$BANGERD" --version)" ]
}

@test "--help, help COMMAND and COMMAND --help: the synopsis and every option, on stdout, exit 0" {
	run --separate-stderr "$BANGER" --help
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[[ "$output" == "usage: banger status"*"banger update"*"banger policy"*"banger help [COMMAND]"* ]]
	[ "$output" = "$("$BANGER" help)" ]
	for cmd in status update policy; do
		run --separate-stderr "$BANGER" "$cmd" --help
		[ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$cmd --help: $status $stderr"; false; }
		[[ "$output" == "usage: banger $cmd "*"  --help"*"print this help"* ]]
		[ "$output" = "$("$BANGER" help "$cmd")" ]
	done
	# --help wins over the options before it, as the help of a command
	run "$BANGER" update --from x --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: banger update"* ]]
}

@test "the common refusals, word for word" {
	: > "$WORK/bin/bangerd"
	run --separate-stderr "$BANGER" update --from "$WORK/nothing" --target "$WORK/bin/bangerd" --db "$DB" --no-restart
	[ "$status" -eq 4 ]
	[ "${stderr##*$'\n'}" = "banger: update refused: --from $WORK/nothing: No such file or directory" ]
	run --separate-stderr "$BANGER" update --from "$STAGED_BANGERD" --target "$WORK/none/bangerd" --db "$DB" --no-restart
	[ "$status" -eq 64 ]
	[ "$stderr" = "banger: update: the target $WORK/none/bangerd is not an existing regular file: pass --target with the bangerd to replace" ]
	echo garbage > "$DB"
	check_only --from "$STAGED_BANGERD"
	[ "$status" -eq 3 ]
	[ "$stderr" = "banger: update refused: the check exited with 3: 'bangerd: cannot inspect $(realpath "$DB"): not a SQLite database'" ]
	check_only --from "$STAGED_BANGERD" --sha256 abc
	[ "$status" -eq 64 ]
	[ "${stderr%%$'\n'*}" = "banger: update: --sha256 'abc': not 64 hex digits" ]
	check_only --from "$STAGED_BANGERD" --timeout 0
	[ "$status" -eq 64 ]
	[ "${stderr%%$'\n'*}" = "banger: update: --timeout '0': not whole seconds from 1 to 3600" ]
	run --separate-stderr "$BANGER" update --target "$WORK/bin/bangerd"
	[ "$status" -eq 64 ]
	[ "${stderr%%$'\n'*}" = "banger: update: --from PATH is required: the new bangerd" ]
}

@test "a database whose directory does not exist: update and check-only exit 3 naming it, make nothing" {
	# A missing file in an existing directory is a fresh install; a missing
	# directory is a wrong --db, and the update must not make it (its lock
	# once did, and then migrated an empty database there).
	cp "$STAGED_BANGERD" "$WORK/bin/bangerd"
	local before; before=$(dir_state "$WORK")
	check_only --from "$STAGED_BANGERD" --db "$WORK/no-such-dir/x.db"
	[ "$status" -eq 3 ]
	[ "$stderr" = "banger: update refused: $WORK/no-such-dir/x.db: the database's directory: No such file or directory" ]
	run --separate-stderr "$BANGER" update --from "$STAGED_BANGERD" --target "$WORK/bin/bangerd" \
		--db "$WORK/no-such-dir/x.db" --no-restart
	[ "$status" -eq 3 ]
	[ "$stderr" = "banger: update refused: $WORK/no-such-dir/x.db: the database's directory: No such file or directory" ]
	[ "$(dir_state "$WORK")" = "$before" ]
}

@test "--sha256: the staged copy's hash must match, else exit 4 naming the copy's hash" {
	"$BANGERD" --db "$DB" --migrate
	good=$(sha256sum "$STAGED_BANGERD" | cut -c1-64)
	check_only --from "$STAGED_BANGERD" --sha256 "$good"
	[ "$status" -eq 0 ]
	check_only --from "$STAGED_BANGERD" --sha256 "${good^^}"	# hex digits in either case
	[ "$status" -eq 0 ]
	bad=$(printf '%064d' 0)
	check_only --from "$STAGED_BANGERD" --sha256 "$bad"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"SHA-256 mismatch: the staged copy is $good"* ]]
	check_only --from "$STAGED_BANGERD" --sha256 xyz
	[ "$status" -eq 64 ]
	[ -z "$(ls -A "$WORK/bin")" ]
}

# Keys and signatures made by Debian's minisign, verified by banger.
make_keys() {
	command -v minisign >/dev/null || skip "minisign not installed"
	minisign -G -W -p "$WORK/pub" -s "$WORK/sec" >/dev/null
	minisign -G -W -p "$WORK/other.pub" -s "$WORK/other.sec" >/dev/null
	cp "$STAGED_BANGERD" "$WORK/new-bangerd"
}

@test "--minisig: a real minisign signature verifies (prehashed and legacy, key file or key string)" {
	make_keys
	"$BANGERD" --db "$DB" --migrate
	minisign -S -s "$WORK/sec" -m "$WORK/new-bangerd" -x "$WORK/sig" >/dev/null
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/sig" --pubkey "$WORK/pub"
	[ "$status" -eq 0 ]
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/sig" --pubkey "$(sed -n 2p "$WORK/pub")"
	[ "$status" -eq 0 ]
	minisign -S -l -s "$WORK/sec" -m "$WORK/new-bangerd" -x "$WORK/legacy" >/dev/null
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/legacy" --pubkey "$WORK/pub"
	[ "$status" -eq 0 ]
}

@test "--minisig: a tampered file, another key, a forged trusted comment, garbage: exit 4" {
	make_keys
	minisign -S -s "$WORK/sec" -m "$WORK/new-bangerd" -x "$WORK/sig" >/dev/null
	cp "$WORK/new-bangerd" "$WORK/tampered"
	printf 'X' | dd of="$WORK/tampered" bs=1 seek=1000 conv=notrunc status=none
	check_only --from "$WORK/tampered" --minisig "$WORK/sig" --pubkey "$WORK/pub"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"does not match the staged copy"* ]]
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/sig" --pubkey "$WORK/other.pub"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"another key"* ]]
	sed '3s/.*/trusted comment: timestamp:0	file:evil/' "$WORK/sig" > "$WORK/forged"
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/forged" --pubkey "$WORK/pub"
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"trusted comment"* ]]
	echo garbage > "$WORK/garbage"
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/garbage" --pubkey "$WORK/pub"
	[ "$status" -eq 4 ]
	check_only --from "$WORK/new-bangerd" --minisig "$WORK/sig" --pubkey "not-a-key"
	[ "$status" -eq 4 ]
	[ "$stderr" = "banger: update refused: --pubkey not-a-key: neither a file nor a minisign public key" ]
	[ -z "$(ls -A "$WORK/bin")" ]
}
