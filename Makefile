# banger - one entry point for build, test, install, package and bench.
SHELL := /bin/bash
# See README.md; the targets and variables are docs/CONTRACT.md's "Build" table.

BUILD_DIR ?= build
VERSION ?= 0.1.0
# Empty: every migration in the registry. N: an "older release" knowing ids <= N.
BANGER_MAX_MIGRATION ?=
# 1: a test release with a migration 4 that fails on duplicate image digests
# (src/store/migrations.c); never set for a real build.
BANGER_TEST_BAD_MIGRATION ?= 0
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc

ifneq ($(shell printf '%s' '$(VERSION)' | grep -Ex '[A-Za-z0-9.+~:_-]+'),$(VERSION))
$(error VERSION must be made of letters, digits and . + ~ : _ -)
endif
ifneq ($(BANGER_MAX_MIGRATION),)
ifneq ($(shell printf '%s' '$(BANGER_MAX_MIGRATION)' | grep -Ex '[0-9]+'),$(BANGER_MAX_MIGRATION))
$(error BANGER_MAX_MIGRATION must be a whole number)
endif
endif

PKGS := sqlite3 libseccomp libcap libsodium
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Debian's hardening (dpkg-buildflags with hardening=+all), with
# _FORTIFY_SOURCE=3 as DESIGN.md asks, and warnings as errors.
HARDENING := -O2 -g -fstack-protector-strong -fstack-clash-protection -fcf-protection \
	-fPIE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -Wformat -Werror=format-security
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(SANITIZE),1)
HARDENING := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fPIE
SAN_LDFLAGS := -fsanitize=address,undefined
endif
BANGER_CFLAGS = -std=gnu11 $(HARDENING) $(WARNINGS) -Iinclude -I$(BUILD_DIR)/gen \
	$(PKG_CFLAGS) -MMD -MP $(CFLAGS)
BANGER_LDFLAGS = -pie -Wl,-z,relro -Wl,-z,now -Wl,--as-needed $(SAN_LDFLAGS) $(LDFLAGS)

LIB_SRCS := $(sort $(wildcard src/common/*.c src/store/*.c src/sandbox/*.c \
	src/daemon/*.c src/control/*.c src/update/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD_DIR)/obj/%.o)
LIB := $(BUILD_DIR)/libbanger.a
CONFIG_H := $(BUILD_DIR)/gen/banger_config.h

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD_DIR)/tests/unit/%)
TEST_TOOLS := $(BUILD_DIR)/tests/fixture $(BUILD_DIR)/tests/listen $(BUILD_DIR)/tests/libeio.so $(BUILD_DIR)/tests/libnotmpfile.so $(BUILD_DIR)/tests/measure \
	$(BUILD_DIR)/tests/elfpatch $(BUILD_DIR)/tests/nolandlock $(BUILD_DIR)/tests/fusestall \
	$(BUILD_DIR)/tests/status_loop $(BUILD_DIR)/tests/crowd $(BUILD_DIR)/tests/package_owner \
	$(BUILD_DIR)/tests/crashfs $(BUILD_DIR)/tests/kernel_abi $(BUILD_DIR)/tests/mount_floor
# The "older releases" the tests and the demo update from.
RELEASE_1 := $(BUILD_DIR)/release-1/bangerd
RELEASE_2 := $(BUILD_DIR)/release-2/bangerd
# A release 0.2.0 whose migration 4 fails on duplicate image digests: what
# the rehearsal must refuse before any swap.
RELEASE_BAD := $(BUILD_DIR)/release-bad/bangerd

# What building needs: the package's Build-Depends (packaging/debian/control)
# and a compiler. make deb installs these (and DEB_TOOLS), nothing else.
BUILD_DEPS := gcc make pkg-config libc6-dev libsqlite3-dev libseccomp-dev libcap-dev \
	libsodium-dev systemd
# What the suites need on top, which make check (make deps) installs:
# ansible-core, python3-apt (its apt module, which would otherwise fetch it),
# openssh-server (whose postinst starts an sshd: never for a build),
# yamllint and ansible-lint for the fleet rollout (packaging/ansible) and
# its suite, tests/fleet; python3 for package.bats' agreement with
# dpkg-query and crashfs.bats (named, not left to ansible-core to bring);
# libfuse3-dev and fuse3: crashfs (make powercut); sqlite3: crashfs.bats'
# positive controls; mandoc: docs.bats' man page lint.
TEST_DEPS := strace libcmocka-dev bats jq util-linux minisign man-db groff-base mandoc \
	libfuse3-dev fuse3 sqlite3 \
	ansible-core python3 python3-apt openssh-server yamllint ansible-lint
DEB_DEPS := $(BUILD_DEPS) $(TEST_DEPS)

.PHONY: all deps check check-sanitize check-valgrind lint faults powercut demo clean install uninstall deb bench FORCE
.DEFAULT_GOAL := all

all: $(BUILD_DIR)/bangerd $(BUILD_DIR)/banger

# Rewritten only when VERSION or BANGER_MAX_MIGRATION change, so that a
# different setting rebuilds exactly what depends on it.
$(CONFIG_H): FORCE
	@mkdir -p $(@D)
	@printf '#define BANGER_VERSION "%s"\n#define BANGER_MAX_MIGRATION %s\n#define BANGER_TEST_BAD_MIGRATION %s\n' \
		'$(VERSION)' '$(or $(BANGER_MAX_MIGRATION),INT64_MAX)' '$(BANGER_TEST_BAD_MIGRATION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# The check's policy, compiled at build time into a BPF program that banger
# embeds: nothing to parse, no file to trust, at update time.
POLICY_BPF_INC := $(BUILD_DIR)/gen/check_migrations_bpf.inc
$(BUILD_DIR)/policy-bpf: $(BUILD_DIR)/obj/src/cmd/policy_bpf.o $(BUILD_DIR)/obj/src/sandbox/policy.o \
		$(BUILD_DIR)/obj/src/sandbox/policy_lang.o $(BUILD_DIR)/obj/src/sandbox/policy_meaning.o \
		$(BUILD_DIR)/obj/src/common/error.o
	$(CC) $(BANGER_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(POLICY_BPF_INC): policy/check-migrations.policy $(BUILD_DIR)/policy-bpf
	$(BUILD_DIR)/policy-bpf $< > $@.tmp && mv $@.tmp $@
$(BUILD_DIR)/obj/src/update/check.o: $(POLICY_BPF_INC)
# The rehearsal's policy, the same way.
REHEARSE_BPF_INC := $(BUILD_DIR)/gen/rehearse_migrations_bpf.inc
$(REHEARSE_BPF_INC): policy/rehearse-migrations.policy $(BUILD_DIR)/policy-bpf
	$(BUILD_DIR)/policy-bpf $< > $@.tmp && mv $@.tmp $@
$(BUILD_DIR)/obj/src/update/rehearse.o: $(REHEARSE_BPF_INC)

$(BUILD_DIR)/obj/%.o: %.c $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BANGER_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD_DIR)/bangerd: $(BUILD_DIR)/obj/src/cmd/bangerd.o $(LIB)
	$(CC) $(BANGER_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD_DIR)/banger: $(BUILD_DIR)/obj/src/cmd/banger.o $(LIB)
	$(CC) $(BANGER_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The CLIs again, without main(), for in-process tests.
$(BUILD_DIR)/obj/nomain/%.o: %.c $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BANGER_CFLAGS) -DBANGER_NO_MAIN -c -o $@ $<

$(BUILD_DIR)/tests/unit/%: $(BUILD_DIR)/obj/tests/unit/%.o $(BUILD_DIR)/obj/tests/unit/support.o \
		$(BUILD_DIR)/obj/nomain/src/cmd/bangerd.o $(BUILD_DIR)/obj/nomain/src/cmd/banger.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BANGER_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

# An LD_PRELOAD shim that fails writes with EIO (tests/tools/eio.c). Never
# sanitized: it is preloaded into the unsanitized test-hook banger.
$(BUILD_DIR)/tests/libeio.so: tests/tools/eio.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# An LD_PRELOAD shim that plays a file system without O_TMPFILE
# (tests/tools/notmpfile.c). Never sanitized, as libeio.so.
$(BUILD_DIR)/tests/libnotmpfile.so: tests/tools/notmpfile.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# The kernel's other system call entries (tests/tools/kernel_abi.c). Never
# sanitized: no runtime of its own may stand between a fault and the kernel.
$(BUILD_DIR)/tests/kernel_abi: tests/tools/kernel_abi.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -o $@ $<

$(BUILD_DIR)/tests/%: $(BUILD_DIR)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(BANGER_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The power-cut file system (tests/tools/crashfs*.c): libfuse3, none of
# banger's code. Never sanitized, as the hostile programs: it is the test
# bench, not what is tested (LeakSanitizer cannot run in the FUSE server
# that the tests start and cut).
$(BUILD_DIR)/tests/crashfs: tests/tools/crashfs.c tests/tools/crashfs_model.c tests/tools/crashfs.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -fstack-protector-strong -fPIE $(WARNINGS) $(shell pkg-config --cflags fuse3) -o $@ \
		tests/tools/crashfs.c tests/tools/crashfs_model.c -pie -Wl,-z,relro -Wl,-z,now \
		$(shell pkg-config --libs fuse3) -lpthread

# One hostile "bangerd" per attack in tests/sandbox/hostile.c. Built
# without sanitizers even in check-sanitize: they run under the real policy.
HOSTILE_ATTACKS := $(shell grep -o 'A([a-z0-9_]*)' tests/sandbox/hostile.c | sed 's/A(\(.*\))/\1/')
HOSTILE_BINS := $(HOSTILE_ATTACKS:%=$(BUILD_DIR)/tests/hostile/%)
$(BUILD_DIR)/tests/hostile/%: tests/sandbox/hostile.c
	@mkdir -p $(@D)
	@$(CC) -std=gnu11 -O1 -Wall -Wextra -Werror -DATTACK='"$*"' -DHOSTILE_DIR='"$(abspath $(@D))"' -o $@ $<
# One hostile "bangerd" per attack on the rehearsal
# (tests/sandbox/hostile_rehearse.c).
REHEARSE_ATTACKS := $(shell grep -o 'A([a-z0-9_]*)' tests/sandbox/hostile_rehearse.c | sed 's/A(\(.*\))/\1/')
HOSTILE_BINS += $(REHEARSE_ATTACKS:%=$(BUILD_DIR)/tests/hostile-rehearse/%)
$(BUILD_DIR)/tests/hostile-rehearse/%: tests/sandbox/hostile_rehearse.c
	@mkdir -p $(@D)
	@$(CC) -std=gnu11 -O1 -Wall -Wextra -Werror -DATTACK='"$*"' -o $@ $<
# A program without libc that can be its own ELF interpreter
# (tests/tools/elfpatch makes it one: issue 11's attacks).
HOSTILE_BINS += $(BUILD_DIR)/tests/hostile/selfinterp
$(BUILD_DIR)/tests/hostile/selfinterp: tests/sandbox/selfinterp.c
	@mkdir -p $(@D)
	@$(CC) -std=gnu11 -O1 -Wall -Wextra -Werror -static-pie -nostdlib -fno-stack-protector \
		-fcf-protection=none -o $@ $<

# Release N knows migrations 1..N and calls itself version 0.0.N. Built
# without sanitizers: the tests stage them into the sandbox.
$(RELEASE_1) $(RELEASE_2): FORCE
	@$(MAKE) --no-print-directory BUILD_DIR=$(@D) VERSION=0.0.$(patsubst release-%,%,$(notdir $(@D))) SANITIZE= \
		BANGER_MAX_MIGRATION=$(patsubst release-%,%,$(notdir $(@D))) $@
$(RELEASE_BAD): FORCE
	@$(MAKE) --no-print-directory BUILD_DIR=$(@D) VERSION=0.2.0 SANITIZE= BANGER_TEST_BAD_MIGRATION=1 $@

# Install the build and test dependencies that are missing (Debian 12);
# build-deps: the build's alone. Either installs DEB_DEPS when given.
.PHONY: build-deps
# ci-deps: everything .ci/run's steps install on their own (the tests',
# valgrind, the linters, the fuzzers), at once, so that the steps it runs
# side by side never run apt-get side by side.
.PHONY: ci-deps
ci-deps:
	@$(MAKE) --no-print-directory DEB_DEPS="$(DEB_DEPS) $(VALGRIND_DEPS) $(LINT_DEPS) $(FUZZ_DEPS)" deps
build-deps:
	@$(MAKE) --no-print-directory DEB_DEPS="$(BUILD_DEPS)" deps
deps:
	@missing=$$(for p in $(DEB_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make deps: missing:" $$missing "- run 'make deps' as root" >&2; exit 1; fi; \
	echo "make deps: installing" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

.SECONDARY:

# The packages the suites install (as root): this tree's, and an older
# release to upgrade from and to refuse a downgrade to (tests/system/deb.bats).
DEB_OLD := $(BUILD_DIR)/deb-0.0.2
check: deps
	@$(MAKE) --no-print-directory all-tests
	@if [ "$$(id -u)" = 0 ]; then { $(MAKE) --no-print-directory deb && \
		$(MAKE) --no-print-directory deb BUILD_DIR=$(DEB_OLD) DEB_VERSION=0.0.2 BANGER_MAX_MIGRATION=2; } \
		> $(BUILD_DIR)/deb.log 2>&1 || { tail -20 $(BUILD_DIR)/deb.log; exit 1; }; fi
	@tests/run $(BUILD_DIR)

# kill -9 of banger update at random system calls of every step (strace
# delivers it), then --recover, judged against the install before
# (tests/faults/judge.bash), counted in two tables; fails on any
# inconsistent install. kill-table: under a stand-in service manager,
# FAULT_RUNS kills per step. systemd-table: in a box under the real systemd
# with the shipped units, FAULT_SYSTEMD_RUNS kills per step of each of its
# three scenarios (default FAULT_RUNS / 10). Both walk every system call of
# step FAULT_STEP (empty: none). FAULT_SEED to replay a run. The full run
# of docs/FAULTS.md: make faults FAULT_SYSTEMD_RUNS=10.
FAULT_RUNS ?= 20
FAULT_SEED ?=
FAULT_STEP ?= swap
FAULT_SYSTEMD_RUNS ?= $(shell echo $$(( ($(FAULT_RUNS) + 9) / 10 )))
faults: deps
	@$(MAKE) --no-print-directory all-tests
	@export FAULT_STEP='$(FAULT_STEP)'; rc=0; \
	tests/faults/kill-table $(BUILD_DIR) $(FAULT_RUNS) $(FAULT_SEED) || rc=1; \
	tests/faults/systemd-table $(BUILD_DIR) $(FAULT_SYSTEMD_RUNS) $(FAULT_SEED) || rc=1; \
	exit $$rc

# A power cut at every durability point of an update, a crash rollback, a
# recovery, a migration and a first start, on crashfs (tests/tools), then
# --recover, counted in a table; fails on any inconsistent install.
# POWERCUT_SEED replays the random cuts.
POWERCUT_SEED ?=
powercut: deps
	@$(MAKE) --no-print-directory all-tests
	@tests/faults/powercut $(BUILD_DIR) $(POWERCUT_SEED)

# Under the sanitizers, the bangerd that the sandbox runs is built without
# them: their runtime makes system calls that the real policy rightly
# refuses. Everything else, banger included, runs sanitized.
ifeq ($(SANITIZE),1)
PLAIN_BANGERD := $(BUILD_DIR)/plain/bangerd
$(PLAIN_BANGERD): FORCE
	@$(MAKE) --no-print-directory BUILD_DIR=$(@D) SANITIZE= $@
endif

# Test-hook builds (BANGER_TEST_HOOKS): a banger that can pause before a
# step (BANGER_TEST_PAUSE_AT) so that tests can kill -9 it there, and a
# bangerd that can die right after migrating (BANGER_TEST_CRASH_AFTER_OPEN)
# or serve and fail every health check (BANGER_TEST_UNHEALTHY: no schema).
# Release builds have neither.
HOOKS := $(BUILD_DIR)/hooks/banger $(BUILD_DIR)/hooks/bangerd
ifeq ($(BANGER_TEST_HOOKS),1)
BANGER_CFLAGS += -DBANGER_TEST_HOOKS
endif
# One sub-make for both (a grouped target): two at once raced on the
# same BUILD_DIR/hooks under make -j.
$(HOOKS) &: FORCE
	@$(MAKE) --no-print-directory BUILD_DIR=$(BUILD_DIR)/hooks BANGER_TEST_HOOKS=1 SANITIZE= $(HOOKS)

.PHONY: all-tests
all-tests: all $(UNIT_BINS) $(TEST_TOOLS) $(RELEASE_1) $(RELEASE_2) $(RELEASE_BAD) $(HOSTILE_BINS) $(PLAIN_BANGERD) $(HOOKS)



check-sanitize: deps
	@$(MAKE) --no-print-directory BUILD_DIR=$(BUILD_DIR)/sanitize SANITIZE=1 all-tests
	@tests/run $(BUILD_DIR)/sanitize

# The benchmarks of DESIGN.md's quality gates (tests/bench/run says what
# each measures and which BENCH_* variables shorten it; BENCH_QUICK=1 for a
# short run): a table on stdout, the same with the details in
# docs/BENCHMARKS.md. Ratios from one run, never a timed assertion.
BENCH_DEPS := hyperfine bubblewrap jq util-linux
bench: build-deps
	@$(MAKE) --no-print-directory DEB_DEPS="$(BENCH_DEPS)" deps
	@$(MAKE) --no-print-directory all $(TEST_TOOLS) $(RELEASE_2) $(BUILD_DIR)/tests/hostile/flood $(HOOKS)
	@tests/bench/run $(BUILD_DIR)

# valgrind's memcheck over the unit suites that do not confine a child with
# seccomp: a filter installed in a forked child also binds valgrind's own
# system calls and kills it. Those suites run under ASan+LSan instead
# (check-sanitize).
VALGRIND_SUITES := classify migrate report paths backup activation
VALGRIND_DEPS := valgrind
check-valgrind: deps
	@$(MAKE) --no-print-directory DEB_DEPS="$(VALGRIND_DEPS)" deps
	@$(MAKE) --no-print-directory $(VALGRIND_SUITES:%=$(BUILD_DIR)/tests/unit/test_%)
	@set -e; for t in $(VALGRIND_SUITES); do \
		echo "valgrind: test_$$t"; \
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
			$(BUILD_DIR)/tests/unit/test_$$t > $(BUILD_DIR)/valgrind-$$t.log 2>&1 || \
			{ cat $(BUILD_DIR)/valgrind-$$t.log; exit 1; }; \
	done; echo "valgrind: clean"

# Static analysis, zero findings: shellcheck over every shell script and
# bats file (tests/shellcheck lists them; a false positive is silenced where
# it stands, with its reason), cppcheck, clang-tidy (.clang-tidy says what
# is off and why) and the clang static analyzer through scan-build.
LINT_DEPS := shellcheck cppcheck clang-tidy clang-tools clang
LINT_FLAGS = -std=gnu11 -Iinclude -I$(BUILD_DIR)/gen $(PKG_CFLAGS)
lint: deps $(CONFIG_H) $(POLICY_BPF_INC) $(REHEARSE_BPF_INC)
	@$(MAKE) --no-print-directory DEB_DEPS="$(LINT_DEPS)" deps
	tests/shellcheck
	cppcheck --quiet --enable=warning,performance,portability --std=c11 --inline-suppr \
		-Iinclude -I$(BUILD_DIR)/gen --error-exitcode=1 src tests/tools
	clang-tidy --quiet $(shell git ls-files 'src/*.c') -- $(LINT_FLAGS)
	rm -rf $(BUILD_DIR)/scan	# a fresh build: scan-build sees only what it compiles
	scan-build --status-bugs -o $(BUILD_DIR)/scan-build $(MAKE) --no-print-directory \
		BUILD_DIR=$(BUILD_DIR)/scan CC=clang all

demo: build-deps
	@$(MAKE) --no-print-directory all $(TEST_TOOLS) $(RELEASE_2)
	@tests/demo $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

# FHS install. Both binaries go to bin: users run bangerd too (user mode),
# and banger update looks for the bangerd beside itself.
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
POLICYDIR := $(PREFIX)/share/banger/policy
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The user manager looks in /usr/lib/systemd/user and /usr/local/lib/systemd/user,
# and in a user's own ~/.local/share/systemd/user: a PREFIX of its own
# (make install PREFIX=$HOME/.local) puts the user unit under PREFIX/share.
ifneq ($(filter /usr /usr/local,$(PREFIX)),)
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
else
USERUNITDIR ?= $(PREFIX)/share/systemd/user
endif
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions
MAN_PAGES := $(wildcard packaging/man/*.[1-8])
INSTALLED := $(BINDIR)/bangerd $(BINDIR)/banger $(POLICYDIR)/check-migrations.policy \
	$(POLICYDIR)/rehearse-migrations.policy \
	$(UNITDIR)/bangerd.service $(USERUNITDIR)/bangerd.service \
	$(UNITDIR)/bangerd.socket $(USERUNITDIR)/bangerd.socket \
	$(COMPLETIONDIR)/banger $(COMPLETIONDIR)/bangerd \
	$(foreach m,$(MAN_PAGES),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)).gz)

install: all
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(POLICYDIR)
	install -m 0755 $(BUILD_DIR)/bangerd $(BUILD_DIR)/banger $(DESTDIR)$(BINDIR)/
	install -m 0644 policy/check-migrations.policy policy/rehearse-migrations.policy $(DESTDIR)$(POLICYDIR)/
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR)
	sed 's|/usr/bin/|$(BINDIR)/|' packaging/systemd/bangerd.service > $(DESTDIR)$(UNITDIR)/bangerd.service
	sed 's|/usr/bin/|$(BINDIR)/|' packaging/systemd/user/bangerd.service > $(DESTDIR)$(USERUNITDIR)/bangerd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/bangerd.service $(DESTDIR)$(USERUNITDIR)/bangerd.service
	install -m 0644 packaging/systemd/bangerd.socket $(DESTDIR)$(UNITDIR)/
	install -m 0644 packaging/systemd/user/bangerd.socket $(DESTDIR)$(USERUNITDIR)/
	install -d -m 0755 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 packaging/completions/banger packaging/completions/bangerd $(DESTDIR)$(COMPLETIONDIR)/
	@set -e; for m in $(MAN_PAGES); do \
		sec=$${m##*.}; install -d -m 0755 $(DESTDIR)$(MANDIR)/man$$sec; \
		gzip -9n < $$m > $(DESTDIR)$(MANDIR)/man$$sec/$$(basename $$m).gz; \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$$sec/$$(basename $$m).gz; done

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(POLICYDIR) $(DESTDIR)$(PREFIX)/share/banger 2>/dev/null

# A Debian binary package from packaging/debian, built with debhelper in a
# copy of the tree under BUILD_DIR/deb (the tracked files in a git clone,
# everything but build outputs in a tarball of the tree), then checked by
# lintian. DEB_VERSION=V: a package of version V (the copy's changelog is
# one entry of that version, dated now); BANGER_MAX_MIGRATION=N: its bangerd knows ids <= N.
DEB_TOOLS := debhelper dpkg-dev lintian fakeroot
DEB_VERSION ?=
ifneq ($(DEB_VERSION),)
ifneq ($(shell printf '%s' '$(DEB_VERSION)' | grep -Ex '[0-9][A-Za-z0-9.+~-]*'),$(DEB_VERSION))
$(error DEB_VERSION must be a Debian version: a digit, then letters, digits and . + ~ -)
endif
endif
deb:
	@$(MAKE) --no-print-directory DEB_DEPS="$(BUILD_DEPS) $(DEB_TOOLS)" deps
	rm -rf $(BUILD_DIR)/deb && mkdir -p $(BUILD_DIR)/deb/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z | xargs -0 cp --parents -t $(BUILD_DIR)/deb/src; \
	else \
		tar -c --exclude=./$(BUILD_DIR) --exclude=./build --exclude=./debian . | tar -x -C $(BUILD_DIR)/deb/src; \
	fi
	cp -r packaging/debian $(BUILD_DIR)/deb/src/debian
	if [ -n "$(DEB_VERSION)" ]; then \
		printf 'banger (%s) unstable; urgency=medium\n\n  * Built with DEB_VERSION=%s%s.\n\n -- %s  %s\n' \
			'$(DEB_VERSION)' '$(DEB_VERSION)' '$(if $(BANGER_MAX_MIGRATION), BANGER_MAX_MIGRATION=$(BANGER_MAX_MIGRATION))' \
			"$$(dpkg-parsechangelog -l packaging/debian/changelog -SMaintainer)" "$$(date -R)" \
			> $(BUILD_DIR)/deb/src/debian/changelog; \
	fi
	cd $(BUILD_DIR)/deb/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		BANGER_MAX_MIGRATION=$(BANGER_MAX_MIGRATION) dpkg-buildpackage -b -us -uc
	cp $(BUILD_DIR)/deb/*.deb $(BUILD_DIR)/
	lintian --fail-on error,warning $(BUILD_DIR)/deb/*.changes

-include $(shell find $(BUILD_DIR)/obj -name '*.d' 2>/dev/null)

# libFuzzer: `make fuzz [FUZZ_SECONDS=N]` runs each harness in tests/fuzz/
# for N seconds (CI: 60) on a copy of its seed corpus, so that what it
# finds stays under BUILD_DIR; an input that takes over 10 seconds (a hang
# in libseccomp, say) is a failure. clang only (gcc has no
# -fsanitize=fuzzer), and the sources a harness needs are compiled again by
# clang with the sanitizers rather than taken from libbanger.a, which gcc
# built with hardening flags that do not mix with the fuzzer's runtime.
FUZZ_SECONDS ?= 60
FUZZ_DEPS := clang libclang-rt-dev
FUZZ_CC ?= clang
FUZZ_CFLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
	-Iinclude -I$(BUILD_DIR)/gen
FUZZ_COMMON := $(sort $(wildcard src/common/*.c))
FUZZ_SRCS_policy := $(sort $(wildcard src/sandbox/policy*.c))
FUZZ_LIBS_policy := -lseccomp
FUZZ_SRCS_line := src/store/schema_report.c
FUZZ_SRCS_control := $(sort $(wildcard src/control/*.c))
FUZZ_SRCS_classify := $(sort $(wildcard src/store/*.c))
FUZZ_LIBS_classify := -lsqlite3
# The ELF reader with VERIFY and the library closure, which read it as root.
FUZZ_SRCS_elf := src/update/elf_reader.c src/update/stage.c src/update/libraries.c src/update/verify.c
FUZZ_LIBS_elf := -lsodium
FUZZ_TARGETS := policy line control classify elf

.PHONY: fuzz
fuzz: $(CONFIG_H)
	@$(MAKE) --no-print-directory DEB_DEPS="$(FUZZ_DEPS)" deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(BUILD_DIR)/fuzz/fuzz_%)
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) --output-sync=target $(FUZZ_TARGETS:%=fuzz-run-%)

# Each harness on its own, FUZZ_JOBS at a time (default: one per CPU):
# libFuzzer's single process uses one CPU, so on two CPUs two harnesses
# take the time of one.
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
.PHONY: $(FUZZ_TARGETS:%=fuzz-run-%)
$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%:
	@rm -rf $(BUILD_DIR)/fuzz/corpus/$*; mkdir -p $(BUILD_DIR)/fuzz/corpus
	@cp -R tests/fuzz/corpus/$* $(BUILD_DIR)/fuzz/corpus/$*
	@echo "fuzz: $* for $(FUZZ_SECONDS)s"
	@ASAN_OPTIONS=detect_leaks=1 $(BUILD_DIR)/fuzz/fuzz_$* \
		-max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
		-artifact_prefix=$(BUILD_DIR)/fuzz/$*- $(BUILD_DIR)/fuzz/corpus/$* 2>&1 | \
		{ grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || true; }; \
		test "$${PIPESTATUS[0]}" = 0 || { echo "fuzz: $* failed"; exit 1; }

.SECONDEXPANSION:
$(BUILD_DIR)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON) $$(FUZZ_SRCS_$$*) $(wildcard include/banger/*.h) \
		$(CONFIG_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_COMMON) $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)
