/* The update's state machine, reached without a sandbox or a daemon: the
 * judge of a check's answer, the journal (round trip, an old journal's
 * text, what root refuses to read), recover's decision for every step,
 * the restart's choice and what the journal accepts of it, and the one
 * JSON string writer. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/json.h"
#include "../../src/update/internal.h"

static struct sandbox_result exited(int code, const char *line)
{
	struct sandbox_result r;
	memset(&r, 0, sizeof(r));
	r.outcome = SANDBOX_EXITED;
	r.exit_code = code;
	snprintf(r.first_line, sizeof(r.first_line), "%s", line);
	return r;
}

#define JSON_NEEDED "{\"state\":\"migrations_needed\",\"applied\":[1,2],\"known\":[1,2,3]," \
		    "\"pending\":[3],\"unknown\":[],\"version\":\"1.2.3\"}"

static void judge_trusts_only_agreement(void **state)
{
	(void)state;
	struct verdict v;
	struct sandbox_result r = exited(1, "migrations needed: pending [3] (binary will apply on first Open)");
	update_judge_check(&r, false, &v);
	assert_int_equal(v.code, 1);
	assert_string_equal(v.line, r.first_line);
	r = exited(0, "migrations needed: pending [3] (binary will apply on first Open)");
	update_judge_check(&r, false, &v);
	assert_int_equal(v.code, 3);
	assert_non_null(strstr(v.reason, "says otherwise"));
	r = exited(1, JSON_NEEDED);
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 1);
	assert_string_equal(v.version, "1.2.3");
	assert_string_equal(v.line, "migrations needed: pending [3] (binary will apply on first Open)");
	/* the text line where JSON was asked, and JSON where text was */
	r = exited(1, "migrations needed: pending [3] (binary will apply on first Open)");
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 3);
	r = exited(1, JSON_NEEDED);
	update_judge_check(&r, false, &v);
	assert_int_equal(v.code, 3);
	r = exited(5, "");
	snprintf(r.stderr_tail, sizeof(r.stderr_tail), "boom");
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 3);
	assert_string_equal(v.reason, "the check exited with 5: 'boom'");
	memset(&r, 0, sizeof(r));
	r.outcome = SANDBOX_TIMED_OUT;
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 3);
	assert_non_null(strstr(v.reason, "timed out"));
}

/* The rehearsal's verdict: line and exit code agree, or 3; a failed
 * migration is 7, its message quoted. */
static void judge_rehearsal_trusts_only_agreement(void **state)
{
	(void)state;
	static const struct {
		int exit;
		const char *line;
		int code;
		const char *said;	/* in line (0) or reason (else) */
	} cases[] = {
		{ 0, "rehearsed: applied [3 4] in 12 ms; copy of 1048576 bytes is consistent", 0,
		  "applied [3 4] in 12 ms on a copy of 1048576 bytes" },
		{ 2, "rehearsal failed: migration 4 unique_image_digest: UNIQUE constraint failed: x",
		  7, "migration 4 unique_image_digest: 'UNIQUE constraint failed: x'" },
		{ 2, "rehearsed: applied [3] in 1 ms; copy of 1 bytes is consistent", 3, "exited with 2" },
		{ 0, "rehearsal failed: migration 4 x: y", 3, "exited with 0" },
		{ 0, "nothing to rehearse: compatible", 3, "contradicts" },
		{ 2, "incompatible: unknown applied [9] (binary older than DB)", 3, "contradicts" },
		{ 0, "rehearsed: applied [] in 1 ms; copy of 1 bytes is consistent", 3, "printed" },
		{ 0, "rehearsed: applied [03] in 1 ms; copy of 1 bytes is consistent", 3, "printed" },
		{ 0, "rehearsed: applied [3] in 1 ms; copy of 1 bytes is consistent!", 3, "printed" },
		{ 2, "rehearsal failed: migration 4 Bad-Name: y", 3, "printed" },
		{ 1, "rehearsed: applied [3] in 1 ms; copy of 1 bytes is consistent", 3, "exited with 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rehearsal_verdict rv = { 0 };
		struct sandbox_result r = exited(cases[i].exit, cases[i].line);
		update_judge_rehearsal(&r, &rv);
		if (rv.code != cases[i].code ||
		    strstr(cases[i].code == 0 ? rv.line : rv.reason, cases[i].said) == NULL)
			fail_msg("case %zu '%s': code %d, line '%s', reason '%s'", i, cases[i].line, rv.code,
				 rv.line, rv.reason);
	}
	struct rehearsal_verdict rv = { 0 };
	struct sandbox_result r;
	memset(&r, 0, sizeof(r));
	r.outcome = SANDBOX_TIMED_OUT;
	update_judge_rehearsal(&r, &rv);
	assert_int_equal(rv.code, 3);
	assert_non_null(strstr(rv.reason, "the rehearsal timed out"));
}

static void judge_refuses_a_version_that_is_not_one(void **state)
{
	(void)state;
	struct verdict v;
	struct sandbox_result r = exited(0, "{\"state\":\"compatible\",\"applied\":[1],\"known\":[1],"
					 "\"pending\":[],\"unknown\":[],\"version\":\"1\\\",\\\"x\"}");
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 3);
	r = exited(0, "{\"state\":\"compatible\",\"applied\":[1],\"known\":[1],\"pending\":[],"
		   "\"unknown\":[],\"version\":\"1.0 evil\"}");
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 3);
	r = exited(0, "{\"state\":\"compatible\",\"applied\":[1],\"known\":[1],\"pending\":[],"
		   "\"unknown\":[],\"version\":\"1.0\"} trailing");
	update_judge_check(&r, true, &v);
	assert_int_equal(v.code, 3);
	assert_true(update_version_valid("0.1.0~rc1+deb12"));
	assert_false(update_version_valid(""));
	assert_false(update_version_valid("1 2"));
	assert_false(update_version_valid("1\"2"));
}

static void quote_collapses_and_caps(void **state)
{
	(void)state;
	char out[64];
	update_quote("  a \t\n b\x1b[31m   c  ", 100, out, sizeof(out));
	assert_string_equal(out, "'a b[31m c'");
	update_quote("updated:          1.0.0-old -> 6.6.6-evil", 12, out, sizeof(out));
	assert_string_equal(out, "'updated: 1.0...'");
}

static void json_string_escapes_everything(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	banger_json_string(f, "q\"b\\n\nt\tc\x01\x7f \xc3\xa9 \xff end");
	fclose(f);
	assert_string_equal(buf, "\"q\\\"b\\\\n\\u000at\\u0009c\\u0001\\u007f \xc3\xa9 \\ufffd end\"");
	free(buf);
}

struct dir {
	char *path;
	int fd;
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	d->path = tmpdir_make();
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = d;
	return d->fd < 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	close(d->fd);
	tmpdir_remove(d->path);
	free(d);
	return 0;
}

static void journal_round_trip(void **state)
{
	struct dir *d = *state;
	struct banger_error err = { 0 };
	struct journal j = { .step = JOURNAL_BACKED_UP, .timeout_s = 7 }, back;
	snprintf(j.target, sizeof(j.target), "/usr/local/bin/bangerd");
	snprintf(j.db, sizeof(j.db), "/var/lib/banger/banger.db");
	snprintf(j.backup, sizeof(j.backup), "/var/lib/banger/banger.db.pre-update");
	snprintf(j.restart, sizeof(j.restart), "systemd:bangerd.service");
	snprintf(j.new_version, sizeof(j.new_version), "0.2.0");
	assert_int_equal(journal_write(d->fd, d->path, &j, &err), 0);
	assert_int_equal(journal_read(d->fd, d->path, &back, &err), 1);
	assert_int_equal(back.step, JOURNAL_BACKED_UP);
	assert_string_equal(back.backup, j.backup);
	assert_string_equal(back.restart, j.restart);
	assert_int_equal(back.timeout_s, 7);
	assert_int_equal(journal_remove(d->fd), 0);
	assert_int_equal(journal_read(d->fd, d->path, &back, &err), 0);
	/* a unit name that is not one is never written */
	snprintf(j.restart, sizeof(j.restart), "systemd:--root=/ x.service");
	assert_int_equal(journal_write(d->fd, d->path, &j, &err), -EINVAL);
}

static void write_text(struct dir *d, const char *text, mode_t mode)
{
	int fd = openat(d->fd, "update.journal", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void journal_reads_old_text_and_refuses_the_rest(void **state)
{
	struct dir *d = *state;
	struct banger_error err = { 0 };
	struct journal j;
	/* as the release before the enum wrote it */
	write_text(d, "step=swapping\ntarget=/opt/b/bangerd\ndb=/s/banger.db\nbackup=\nsocket=/s/bangerd.sock\n"
		   "restart=cmd:/opt/b/restart.sh\nnew_version=0.1.0\nold_version=0.0.2\ntimeout_s=30\n", 0600);
	assert_int_equal(journal_read(d->fd, d->path, &j, &err), 1);
	assert_int_equal(j.step, JOURNAL_SWAPPING);
	assert_string_equal(j.restart, "cmd:/opt/b/restart.sh");
	write_text(d, "step=swapped\ntarget=/opt/b/bangerd\n", 0600);
	assert_int_equal(journal_read(d->fd, d->path, &j, &err), 1);
	assert_int_equal(j.step, JOURNAL_SWAPPING);
	write_text(d, "step=later\ntarget=/opt/b/bangerd\n", 0600);
	assert_int_equal(journal_read(d->fd, d->path, &j, &err), -EINVAL);
	write_text(d, "step=checked\ntarget=/opt/b/bangerd\n", 0620);
	assert_int_equal(journal_read(d->fd, d->path, &j, &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by others"));
	if (geteuid() == 0) {
		write_text(d, "step=checked\ntarget=/opt/b/bangerd\n", 0600);
		assert_int_equal(fchownat(d->fd, "update.journal", 4321, 4321, 0), 0);
		assert_int_equal(journal_read(d->fd, d->path, &j, &err), -EPERM);
	}
	assert_int_equal(unlinkat(d->fd, "update.journal", 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", d->fd, "update.journal"), 0);
	assert_true(journal_read(d->fd, d->path, &j, &err) < 0);
	assert_non_null(strstr(err.msg, "symlink"));
	assert_int_equal(unlinkat(d->fd, "update.journal", 0), 0);
	assert_int_equal(mkfifoat(d->fd, "update.journal", 0600), 0);
	assert_int_equal(journal_read(d->fd, d->path, &j, &err), -EPERM);
}

static void journal_clean_removes_a_half_written_one(void **state)
{
	struct dir *d = *state;
	int fd = openat(d->fd, "update.journal.tmp", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(journal_clean(d->fd), 0);
	assert_int_equal(faccessat(d->fd, "update.journal.tmp", F_OK, 0), -1);
}

static void recover_decides_per_step(void **state)
{
	(void)state;
	struct journal j = { 0 };
	j.step = JOURNAL_CHECKED;
	assert_int_equal(update_recover_decide(&j), RECOVER_FORGET);
	j.step = JOURNAL_BACKED_UP;
	assert_int_equal(update_recover_decide(&j), RECOVER_FORGET);
	j.step = JOURNAL_SWAPPING;
	assert_int_equal(update_recover_decide(&j), RECOVER_ROLL_BACK);
	for (int s = JOURNAL_CHECKED; s <= JOURNAL_SWAPPING; s++) {
		enum journal_step back;
		assert_int_equal(journal_step_parse(journal_step_name(s), &back), 0);
		assert_int_equal(back, s);
	}
}

static void restart_choice_and_what_the_journal_accepts(void **state)
{
	(void)state;
	char how[1024];
	struct update_options o = { .restart_cmd = "/opt/restart 'x'", .system = true };
	update_restart_choose(&o, how, sizeof(how));
	assert_string_equal(how, "cmd:/opt/restart 'x'");
	o = (struct update_options){ .no_restart = true, .system = true };
	update_restart_choose(&o, how, sizeof(how));
	assert_string_equal(how, "");
	assert_true(update_restart_valid(""));
	assert_true(update_restart_valid("systemd:bangerd.service"));
	assert_true(update_restart_valid("systemd-user:bangerd@x.service"));
	assert_true(update_restart_valid("cmd:anything the operator typed"));
	assert_false(update_restart_valid("systemd:--no-block.service"));
	assert_false(update_restart_valid("systemd:a b.service"));
	assert_false(update_restart_valid("systemd:ssh.socket"));
	assert_false(update_restart_valid("cmd:"));
	assert_false(update_restart_valid("cmd:a\nb"));
	assert_false(update_restart_valid("shell:id"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(judge_trusts_only_agreement),
		cmocka_unit_test(judge_refuses_a_version_that_is_not_one),
		cmocka_unit_test(judge_rehearsal_trusts_only_agreement),
		cmocka_unit_test(quote_collapses_and_caps),
		cmocka_unit_test(json_string_escapes_everything),
		cmocka_unit_test_setup_teardown(journal_round_trip, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(journal_reads_old_text_and_refuses_the_rest, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(journal_clean_removes_a_half_written_one, dir_setup,
						dir_teardown),
		cmocka_unit_test(recover_decides_per_step),
		cmocka_unit_test(restart_choice_and_what_the_journal_accepts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
