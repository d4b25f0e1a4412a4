/* paths_resolve(): docs/CONTRACT.md's "Paths" table. */
#define _GNU_SOURCE
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/paths.h"

static int clean_env(void **state)
{
	(void)state;
	unsetenv("BANGER_STATE_DIR");
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_RUNTIME_DIR");
	setenv("HOME", "/home/op", 1);
	return 0;
}

static struct banger_paths resolve(struct paths_options o)
{
	struct banger_paths p;
	struct banger_error err = { 0 };
	if (paths_resolve(&o, &p, &err) != 0)
		fail_msg("paths_resolve: %s", err.msg);
	return p;
}

static void test_system_mode(void **state)
{
	(void)state;
	setenv("XDG_STATE_HOME", "/ignored", 1);
	struct banger_paths p = resolve((struct paths_options){ .system = true });
	assert_string_equal(p.state_dir, "/var/lib/banger");
	assert_string_equal(p.db, "/var/lib/banger/banger.db");
	assert_string_equal(p.socket, "/run/banger/bangerd.sock");
}

static void test_user_mode_follows_xdg_state_home(void **state)
{
	(void)state;
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	struct banger_paths p = resolve((struct paths_options){ 0 });
	assert_string_equal(p.db, "/xdg/state/banger/banger.db");
	assert_string_equal(p.socket, "/run/user/1000/banger/bangerd.sock");
}

static void test_user_mode_falls_back_to_home_and_state_dir_socket(void **state)
{
	(void)state;
	struct banger_paths p = resolve((struct paths_options){ 0 });
	assert_string_equal(p.state_dir, "/home/op/.local/state/banger");
	assert_string_equal(p.socket, "/home/op/.local/state/banger/bangerd.sock");
}

static void test_relative_xdg_values_are_ignored(void **state)
{
	(void)state;
	setenv("XDG_STATE_HOME", "relative", 1);
	setenv("XDG_RUNTIME_DIR", "also/relative", 1);
	struct banger_paths p = resolve((struct paths_options){ 0 });
	assert_string_equal(p.db, "/home/op/.local/state/banger/banger.db");
	assert_string_equal(p.socket, "/home/op/.local/state/banger/bangerd.sock");
}

static void test_overrides_in_order(void **state)
{
	(void)state;
	setenv("BANGER_STATE_DIR", "/env/dir", 1);
	struct banger_paths p = resolve((struct paths_options){ .system = true });
	assert_string_equal(p.db, "/env/dir/banger.db");
	p = resolve((struct paths_options){ .state_dir = "/flag/dir" });
	assert_string_equal(p.db, "/flag/dir/banger.db");
	p = resolve((struct paths_options){ .db = "/x/y.db", .socket = "/s.sock" });
	assert_string_equal(p.db, "/x/y.db");
	assert_string_equal(p.state_dir, "/env/dir");
	assert_string_equal(p.socket, "/s.sock");
	unsetenv("BANGER_STATE_DIR");
	unsetenv("HOME");
	p = resolve((struct paths_options){ .db = "/x/y.db" });
	assert_string_equal(p.state_dir, "/x");	/* no HOME needed */
	assert_string_equal(p.socket, "/x/bangerd.sock");
}

/* systemd's DynamicUser: /var/lib/banger -> private/banger. */
static void test_a_state_dir_behind_a_symlink_is_resolved_once(void **state)
{
	(void)state;
	char top[] = "/tmp/banger-paths.XXXXXX", real[PATH_MAX], link[PATH_MAX], want[PATH_MAX + 16];
	assert_non_null(mkdtemp(top));
	snprintf(real, sizeof(real), "%s/private", top);
	snprintf(link, sizeof(link), "%s/banger", top);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink("private", link), 0);
	struct banger_paths p = resolve((struct paths_options){ .state_dir = link });
	assert_string_equal(p.state_dir, real);
	snprintf(want, sizeof(want), "%s/banger.db", real);
	assert_string_equal(p.db, want);
	/* --db through the link: its directory resolved, its name kept */
	snprintf(want, sizeof(want), "%s/x.db", link);
	p = resolve((struct paths_options){ .db = want });
	snprintf(want, sizeof(want), "%s/x.db", real);
	assert_string_equal(p.db, want);
	rmdir(real);
	unlink(link);
	rmdir(top);
}

/* The database file itself is never resolved: a symlink there stays a
 * symlink, for O_NOFOLLOW to refuse. */
static void test_a_database_that_is_a_symlink_is_not_resolved(void **state)
{
	(void)state;
	char top[] = "/tmp/banger-paths.XXXXXX", db[PATH_MAX];
	assert_non_null(mkdtemp(top));
	snprintf(db, sizeof(db), "%s/banger.db", top);
	assert_int_equal(symlink("/etc/passwd", db), 0);
	struct banger_paths p = resolve((struct paths_options){ .db = db });
	assert_string_equal(p.db, db);
	unlink(db);
	rmdir(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_system_mode, clean_env),
		cmocka_unit_test_setup(test_user_mode_follows_xdg_state_home, clean_env),
		cmocka_unit_test_setup(test_user_mode_falls_back_to_home_and_state_dir_socket, clean_env),
		cmocka_unit_test_setup(test_relative_xdg_values_are_ignored, clean_env),
		cmocka_unit_test_setup(test_overrides_in_order, clean_env),
		cmocka_unit_test_setup(test_a_state_dir_behind_a_symlink_is_resolved_once, clean_env),
		cmocka_unit_test_setup(test_a_database_that_is_a_symlink_is_not_resolved, clean_env),
	};
	return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
