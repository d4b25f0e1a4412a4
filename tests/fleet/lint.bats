#!/usr/bin/env bats
# packaging/ansible is lint-clean with the configuration checked in beside
# it (.yamllint, .ansible-lint), and rollout.yml parses. Needs no root.

load ../integration/helpers

ANSIBLE_DIR=$(cd "$BATS_TEST_DIRNAME/../../packaging/ansible" && pwd)

setup() {
	common_setup
	# Ansible wants a UTF-8 locale and a home and tmp it may write to.
	export HOME=$WORK/home TMPDIR=$WORK LC_ALL=C.UTF-8 LANG=C.UTF-8 ANSIBLE_LOCAL_TEMP=$WORK/ansible
	mkdir -p "$HOME"
}

teardown() { common_teardown; }

@test "yamllint: clean" {
	command -v yamllint >/dev/null || skip "yamllint is not installed (make deps)"
	cd "$ANSIBLE_DIR"
	timeout 60 yamllint --strict .
}

@test "ansible-lint (production profile, offline): clean" {
	command -v ansible-lint >/dev/null || skip "ansible-lint is not installed (make deps)"
	cd "$ANSIBLE_DIR"
	NO_COLOR=1 timeout 120 ansible-lint -q
	# and it left nothing behind in the tree (a cache, say)
	# shellcheck disable=SC2143 # a bare ! would not fail a bats test
	[ -z "$(git -C "$ANSIBLE_DIR" status --porcelain --ignored . 2>/dev/null | grep '^!!')" ]
}

@test "ansible-playbook --syntax-check rollout.yml" {
	command -v ansible-playbook >/dev/null || skip "ansible-core is not installed (make deps)"
	timeout 60 ansible-playbook -i localhost, --syntax-check "$ANSIBLE_DIR/rollout.yml" -e banger_release=/dev/null
}
