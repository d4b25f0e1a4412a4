#!/usr/bin/env bats
# banger's package question (src/update/package.c, asked through the
# package_owner tool): the same answers as dpkg-query -S on this machine's
# own packages, and the exact path, never a pattern, on a made-up dpkg
# database mounted over /var/lib/dpkg in a private mount namespace.

load helpers
bats_require_minimum_version 1.5.0

OWNER=$BANGER_BUILD/tests/package_owner

setup() { common_setup; }
teardown() { common_teardown; }

@test "agrees with dpkg-query -S: a sample of every package's files, every diversion, names no package lists" {
	command -v dpkg-query >/dev/null || skip "no dpkg on this machine"
	[ -d /var/lib/dpkg/info ] || skip "no dpkg database on this machine"
	# 2000 names sampled from all the lists, about a minute here
	# (PKG_AGREE_SAMPLE=all: every one, about 15 minutes; on 2026-12-07,
	# 139110 names, 0 disagreements).
	run python3 "$BATS_TEST_DIRNAME/package_agree.py" "$OWNER" "${PKG_AGREE_SAMPLE:-2000}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"; 0 disagreements"* ]]
}

# A dpkg database of our own, seen at /var/lib/dpkg by package_owner only.
fake_dpkg() {	# PATH... -> one answer a line
	[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount"
	# shellcheck disable=SC2016 # expanded by the inner shell, not here
	unshare --mount --propagation private sh -c 'mount --bind "$1" /var/lib/dpkg && shift && exec "$@"' \
		_ "$FAKE" "$OWNER" "$@"
}

make_fake() {
	FAKE=$WORK/dpkg
	mkdir -p "$FAKE/info"
	printf '/.\n/w\n/w/a\n/w/b\n/w/dir/\n/w/sp ace\tt"q\\b\n/w/x*\n' > "$FAKE/info/pkga.list"
	printf '/.\n/w\n/w/shared\n' > "$FAKE/info/libm:amd64.list"
	printf '/w/diverted\n' > "$FAKE/info/pkgb.list"	# ships X...
	printf '/w/diverted\n' > "$FAKE/info/pkgc.list"	# ...which pkgc diverts, shipping its own
	printf '/w/local\n' > "$FAKE/info/pkgd.list"	# the administrator diverted this one
	printf '/w/diverted\n/w/diverted.real\npkgc\n/w/local\n/w/local.distrib\n:\n' > "$FAKE/diversions"
}

@test "a listed name, and only the whole name; dpkg's own normalization, nothing more" {
	make_fake
	run fake_dpkg /w/a /w/dir /w/dir/ //w/a /w/a/. /./w/a /w/shared /w/ab /w//a / /.
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' pkga pkga pkga pkga pkga pkga libm - - - -)" ]
	# a directory two packages list: either one (dpkg-query names both)
	run fake_dpkg /w/
	[[ "$output" == pkga || "$output" == libm ]]
}

@test "glob characters are plain bytes: *, ? and [...] match no other name" {
	make_fake
	run fake_dpkg '/w/*' '/w/?' '/w/[ab]' '/w/\a' '/w/x*' '/w/xy' '/w/x?'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' - - - - pkga - -)" ]
}

@test "a space, a tab, a quote and a backslash are part of the name; a newline matches nothing" {
	make_fake
	run fake_dpkg "$(printf '/w/sp ace\tt"q\\b')" "$(printf '/w/a\n/w/b')" '/w/sp ace'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' pkga - -)" ]
}

@test "diversions as dpkg unpacks them: the diverter's file at X, the others' where X was diverted to" {
	make_fake
	run fake_dpkg /w/diverted /w/diverted.real /w/local /w/local.distrib
	[ "$status" -eq 0 ]
	# a local diversion: the file at /w/local is the administrator's own
	[ "$output" = "$(printf '%s\n' pkgc pkgb - pkgd)" ]
}

@test "no dpkg database: nothing is owned" {
	make_fake
	rm -rf "${FAKE:?}"/*
	run fake_dpkg /w/a /usr/bin/dpkg
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' - -)" ]
}

@test "a diversions file that is not triples is an error, not a guess" {
	make_fake
	printf '/w/a\n/w/a.x\n' > "$FAKE/diversions"
	run --separate-stderr fake_dpkg /w/b
	[ "$status" -eq 1 ]
	# shellcheck disable=SC2154 # $stderr: set by bats' run --separate-stderr
	[[ "$stderr" == *"/var/lib/dpkg/diversions: not a list of triples"* ]]
}

@test "the first line and a last line without a newline are names; a listed name's prefix is not" {
	make_fake
	printf '/w/first\n/w/dpkg-query\n/w/last' > "$FAKE/info/pkge.list"
	printf '/w/dpkg' > "$FAKE/info/pkgf:amd64.list"
	run fake_dpkg /w/first /w/last /w/las /w/dpkg-query /w/dpkg /w/dpkg-q /w/dpk /w/dpkg-query/
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' pkge pkge - pkge pkgf - - pkge)" ]
}

@test "a name across the read buffer's edge, after a line longer than the buffer, and a line longer than the buffer that ends in the name" {
	make_fake
	# 64 KiB is the reader's buffer (src/update/package.c): names that
	# straddle it, and a 100 KiB line that ends in a name but is not it.
	long=$(head -c 102400 /dev/zero | tr '\0' a)
	{ head -c 65530 /dev/zero | tr '\0' x; printf '\n/w/edge\n'; } > "$FAKE/info/pkge.list"
	{ printf '/%s\n/w/after\n' "$long"; printf '/%s/w/tail\n' "$long"; } > "$FAKE/info/pkgf.list"
	run fake_dpkg /w/edge /w/after /w/tail
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' pkge pkgf -)" ]
}

@test "a list that is a symlink, or that cannot be read, is an error, not a guess" {
	make_fake
	ln -s pkga.list "$FAKE/info/evil.list"
	run --separate-stderr fake_dpkg /w/none
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot read /var/lib/dpkg/info/evil.list: Too many levels of symbolic links"* ]]
	rm "$FAKE/info/evil.list"
	mkdir "$FAKE/info/odd.list"
	run --separate-stderr fake_dpkg /w/none
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot read /var/lib/dpkg/info/odd.list: Is a directory"* ]]
}
