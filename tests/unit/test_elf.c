/* The update module's one ELF reader (src/update/elf_reader.h): VERIFY and the
 * library closure judge a file the same way. Issue 20 found them apart:
 * VERIFY took up to 128 program headers, the closure 64, and a binary
 * with 65-128 passed VERIFY and then failed the check with "Exec format
 * error". The program here is this test's own executable, a dynamic PIE
 * that needs libcmocka, libsqlite3, libc and more. */
#define _GNU_SOURCE
#include "support.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/update.h"
#include "../../src/update/elf_reader.h"

/* A copy of this test's executable with its program header table moved to
 * the end and grown to phnum entries (the new ones PT_NULL), opened
 * read-only. */
static int copy_with_phdrs(const char *dir, unsigned phnum)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	assert_true(in >= 0 && fstat(in, &st) == 0);
	size_t size = ((size_t)st.st_size + 7) & ~(size_t)7;
	unsigned char *buf = calloc(1, size + phnum * sizeof(Elf64_Phdr));
	assert_non_null(buf);
	assert_int_equal(pread(in, buf, (size_t)st.st_size, 0), st.st_size);
	close(in);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	assert_true(eh->e_phnum <= phnum);
	memcpy(buf + size, buf + eh->e_phoff, eh->e_phnum * sizeof(Elf64_Phdr));
	eh->e_phoff = size;
	eh->e_phnum = (Elf64_Half)phnum;
	const char *path = path_in(dir, "grown");
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	assert_true(out >= 0);
	size += phnum * sizeof(Elf64_Phdr);
	assert_int_equal(write(out, buf, size), (ssize_t)size);
	close(out);
	free(buf);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* VERIFY's and the closure's verdicts on a copy with phnum headers. The
 * closure is asked with the interpreter VERIFY resolves for the original. */
static void judge(const char *dir, unsigned phnum, int *verify_rc, int *closure_rc)
{
	struct banger_error err = { 0 };
	struct staged orig = { .exec_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC) };
	assert_int_equal(update_verify_elf(&orig, &err), 0);
	assert_true(orig.interpreter[0] == '/');
	struct staged s = { .exec_fd = copy_with_phdrs(dir, phnum) };
	*verify_rc = update_verify_elf(&s, &err);
	memcpy(s.interpreter, orig.interpreter, sizeof(s.interpreter));
	memcpy(s.interpreter_path, orig.interpreter_path, sizeof(s.interpreter_path));
	char **files = NULL;
	*closure_rc = update_loader_files(&s, &files, &err);
	if (*closure_rc == 0) {
		size_t n = 0;
		while (files[n])
			n++;
		/* The interpreter and at least libc: the headers were read. */
		assert_true(n >= 2);
	}
	update_loader_files_free(files);
	update_staged_close(&s);
	update_staged_close(&orig);
}

static void test_100_program_headers_pass_both(void **state)
{
	int v, c;
	judge(*state, 100, &v, &c);
	assert_int_equal(v, 0);
	assert_int_equal(c, 0);
}

static void test_65_program_headers_pass_both(void **state)
{
	int v, c;
	judge(*state, 65, &v, &c);
	assert_int_equal(v, 0);
	assert_int_equal(c, 0);
}

static void test_one_over_the_limit_fails_both(void **state)
{
	int v, c;
	judge(*state, UPDATE_ELF_PHDRS_MAX + 1, &v, &c);
	assert_int_equal(v, -ENOEXEC);
	assert_int_equal(c, -ENOEXEC);
}

static void test_the_limit_passes_both(void **state)
{
	int v, c;
	judge(*state, UPDATE_ELF_PHDRS_MAX, &v, &c);
	assert_int_equal(v, 0);
	assert_int_equal(c, 0);
}

static void test_library_roots_are_real_and_once(void **state)
{
	(void)state;
	const char *const *roots = update_library_roots();
	assert_true(roots == update_library_roots());
	assert_non_null(roots[0]);
	for (size_t i = 0; roots[i]; i++) {
		char real[4096];
		assert_non_null(realpath(roots[i], real));
		assert_string_equal(real, roots[i]);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(roots[i], roots[j]);
	}
	char libc[4096];
	snprintf(libc, sizeof(libc), "%s/x", roots[0]);
	assert_true(update_under_library_root(libc));
	assert_false(update_under_library_root("/etc/shadow"));
	/* A prefix is not a parent. */
	snprintf(libc, sizeof(libc), "%sx/y", roots[0]);
	assert_false(update_under_library_root(libc));
}

static int mkdir_fixture(void **state)
{
	*state = tmpdir_make();
	return 0;
}

static int rm_fixture(void **state)
{
	tmpdir_remove(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_100_program_headers_pass_both, mkdir_fixture, rm_fixture),
		cmocka_unit_test_setup_teardown(test_65_program_headers_pass_both, mkdir_fixture, rm_fixture),
		cmocka_unit_test_setup_teardown(test_the_limit_passes_both, mkdir_fixture, rm_fixture),
		cmocka_unit_test_setup_teardown(test_one_over_the_limit_fails_both, mkdir_fixture, rm_fixture),
		cmocka_unit_test(test_library_roots_are_real_and_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
