# The judge of make faults, shared by both tables (kill-table under a
# stand-in service manager, systemd-table under the real systemd) and by
# its own positive controls (judge.bats). It compares an install after a
# killed update and its recovery with the same install before the update,
# rather than with a list of names it expects:
#
#   - no file in the target's directory, the state directory or the
#     update's journal directory that was not there before, except what
#     CONTRACT.md says an update keeps: the backup DB.pre-update, and
#     after a finished update the old binary as TARGET.prev;
#   - every file in the state directory has the owner the directory had
#     before (the daemon's user: under systemd, the dynamic user);
#   - the target is, byte for byte, the old or the new binary;
#   - the target's `bangerd --check-migrations` exits 0 on the database;
#   - PRAGMA integrity_check says ok;
#   - every seeded image and VM is there; for the old binary, every row of
#     every table is as it was (rolled back, applied_at included);
#   - the service is up and `banger status` answers with the target's
#     version and a compatible schema.
#
# The caller sets, before judge_before:
#   J_TARGET J_STATE J_UPDATE_DIR J_DB J_FIXTURE
#   J_OLD_SHA J_NEW_SHA J_OLD_VERSION J_NEW_VERSION
# and defines judge_status (prints `banger status --json` of the daemon)
# and judge_unit_active (0 when the service manager says it runs).
# judge_before records the state to compare with; judge returns 0 or 1,
# with J_OUTCOME=rolled|completed|failed and J_WHY (every failed
# judgement, "; " between them).

# shellcheck disable=SC2034 # (J_OUTCOME, J_WHY: for the caller)
judge_sha() { sha256sum < "$1" | cut -c1-64; }

# Every name under the three directories (the update's may be the state
# directory, or not exist yet), one a line.
judge_names() {
	local dir
	for dir in "$(dirname "$J_TARGET")" "$J_STATE" "$J_UPDATE_DIR"; do
		[ -d "$dir" ] && find "$dir" -mindepth 1 -printf "$dir/%P\n"
	done | sort -u
}

judge_before() {
	J_BEFORE_NAMES=$(judge_names)
	J_OWNER=$(stat -c %u "$J_STATE")
	J_DUMP=$("$J_FIXTURE" dump "$J_DB")
	J_ROWS=$("$J_FIXTURE" list "$J_DB")
}

# Names that were not there before, but what CONTRACT.md says an update
# keeps: the backup, and once updated (the target is the new binary) the
# old binary as TARGET.prev.
judge_leftovers() {
	local kept=("$J_DB.pre-update")
	[ "$(judge_sha "$J_TARGET" 2>/dev/null)" = "$J_NEW_SHA" ] &&
		[ "$(judge_sha "$J_TARGET.prev" 2>/dev/null)" = "$J_OLD_SHA" ] && kept+=("$J_TARGET.prev")
	comm -13 <(printf '%s\n' "$J_BEFORE_NAMES") <(judge_names) | grep -vFx -f <(printf '%s\n' "${kept[@]}") || true
}

judge_not_owned() { find "$J_STATE" ! -uid "$J_OWNER" -printf '%p (uid %U)\n'; }

# Up, with VERSION and a compatible schema, within 5 s (a rollback's or a
# finished update's daemon may still be starting).
judge_serving() {
	local version=$1 json
	for _ in $(seq 100); do
		if judge_unit_active && json=$(judge_status 2>/dev/null) &&
			[ "$(jq -r .version <<<"$json")" = "$version" ] &&
			[ "$(jq -r .schema.state <<<"$json")" = compatible ]; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

judge() {
	local bad=() found sha rc version=
	J_OUTCOME=failed
	found=$(judge_leftovers)
	[ -z "$found" ] || bad+=("left behind: ${found//$'\n'/ }")
	found=$(judge_not_owned)
	[ -z "$found" ] || bad+=("not the daemon's user's (uid $J_OWNER): ${found//$'\n'/ }")
	sha=$(judge_sha "$J_TARGET" 2>/dev/null || true)
	if [ "$sha" = "$J_OLD_SHA" ]; then
		version=$J_OLD_VERSION
		[ "$("$J_FIXTURE" dump "$J_DB" 2>&1)" = "$J_DUMP" ] ||
			bad+=("the old binary, but the database is not as it was")
	elif [ "$sha" = "$J_NEW_SHA" ]; then
		version=$J_NEW_VERSION
	else
		bad+=("the target is neither the old nor the new binary (sha256 ${sha:-none})")
	fi
	[ "$("$J_FIXTURE" list "$J_DB" 2>&1)" = "$J_ROWS" ] || bad+=("the seeded rows are not all there")
	"$J_FIXTURE" integrity "$J_DB" >/dev/null 2>&1 || bad+=("integrity_check: $("$J_FIXTURE" integrity "$J_DB" 2>&1 | head -3 | tr '\n' ' ')")
	# (in a subshell: a target that crashes is a verdict, not noise)
	rc=$( { "$J_TARGET" --check-migrations --db "$J_DB" >/dev/null 2>&1; echo $?; } 2>/dev/null)
	[ "$rc" = 0 ] || bad+=("the target's --check-migrations exits $rc")
	if [ -n "$version" ] && ! judge_serving "$version"; then
		bad+=("not serving $version: active $(judge_unit_active && echo yes || echo no), status $(judge_status 2>&1 | jq -c '{version, pid, schema: .schema.state}' 2>/dev/null || echo none)")
	fi
	J_WHY=$(IFS=';'; echo "${bad[*]}")
	J_WHY=${J_WHY//;/; }
	[ "${#bad[@]}" -eq 0 ] || return 1
	J_OUTCOME=$([ "$version" = "$J_OLD_VERSION" ] && echo rolled || echo completed)
}
