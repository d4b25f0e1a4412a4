#!/usr/bin/env bats
# What the Makefile's targets install (issue 25.3): building, installing and
# packaging need the package's Build-Depends and the build tools, nothing
# else; the test tools (openssh-server, whose postinst starts an sshd;
# ansible, bats, strace, minisign ...) are make check's alone. Each target
# runs for real, as far as its installing step, against a dpkg-query that
# finds nothing installed and an apt-get that records what it is asked to
# install and fails (so that nothing after it runs).

load helpers
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
TEST_TOOLS="strace libcmocka-dev bats jq minisign ansible-core python3-apt openssh-server yamllint ansible-lint"

setup() {
	common_setup
	mkdir -p "$WORK/bin"
	printf '#!/bin/sh\nexit 1\n' > "$WORK/bin/dpkg-query"
	# shellcheck disable=SC2016 # the shim's own $1 and $@
	printf '#!/bin/sh\n[ "$1" = update ] && exit 0\necho "$@" >> "%s/apt.log"\nexit 1\n' "$WORK" \
		> "$WORK/bin/apt-get"
	printf '#!/bin/sh\necho 0\n' > "$WORK/bin/id"	# as root, whoever runs the suite
	chmod +x "$WORK/bin/"*
}

teardown() { common_teardown; }

# The packages `make TARGET` asks apt-get to install, one a line, sorted.
asked() {
	run env PATH="$WORK/bin:$PATH" make --no-print-directory -C "$REPO" \
		BUILD_DIR="$WORK/build" "$@"
	[ -f "$WORK/apt.log" ] || return 0
	tr ' ' '\n' < "$WORK/apt.log" | grep -v '^-' | sed '/^install$/d;/^$/d' | sort -u
	rm -f "$WORK/apt.log"
}

# control's Build-Depends, debhelper-compat as the package debhelper.
build_depends() {
	sed -n '/^Build-Depends:/,/^[A-Z]/p' "$REPO/packaging/debian/control" | sed '$d' |
		sed 's/^Build-Depends://' | tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g; /^$/d' |
		sed 's/^debhelper-compat$/debhelper/'
}

@test "make deb asks for the Build-Depends and the build tools, and for no test tool" {
	list=$(asked deb)
	echo "$list"
	[ -n "$list" ]
	for p in $(build_depends) gcc make dpkg-dev fakeroot lintian; do
		grep -qx "$p" <<< "$list" || { echo "missing: $p"; false; }
	done
	for p in $TEST_TOOLS; do
		if grep -qx "$p" <<< "$list"; then echo "a test tool: $p"; false; fi
	done
	[ ! -e "$WORK/build/deb" ]	# stopped at the failing apt-get: nothing else ran
}

@test "make check asks for the test tools too" {
	list=$(asked check)
	echo "$list"
	for p in $(build_depends) $TEST_TOOLS; do
		[ "$p" = debhelper ] && continue	# make check's own make deb asks for it
		grep -qx "$p" <<< "$list" || { echo "missing: $p"; false; }
	done
}

@test "make -n of the build, the install and the package runs no test tool's install" {
	for target in all install deb; do
		run make -n --no-print-directory -C "$REPO" BUILD_DIR="$WORK/build" DESTDIR="$WORK/dest" "$target"
		[ "$status" -eq 0 ]
		for p in $TEST_TOOLS; do
			if grep -Eq "(^| )$p( |;|\$)" <<< "$output"; then echo "make -n $target names $p"; false; fi
		done
	done
	[ "$(make -n --no-print-directory -C "$REPO" BUILD_DIR="$WORK/build" all | grep -c apt-get)" -eq 0 ]
}
