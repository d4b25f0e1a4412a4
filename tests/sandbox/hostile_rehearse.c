/* A hostile "bangerd" for the rehearsal, built once per attack
 * (-DATTACK="name"). To its --check-migrations it answers what a real
 * release would ("migrations needed: pending [4]"), so that banger goes on
 * to rehearse; under --rehearse-migrations --scratch DIR, the one
 * sandboxed job that may write, it attacks.
 *
 * Convention (as tests/sandbox/hostile.c's): when an attack works, it says
 * so on stderr ("ATTACK WORKED: ...") and prints a clean "rehearsed" line
 * with exit 0, so that a broken sandbox shows as banger going on (exit 1
 * from --check-only) plus a trace the test finds. When the kernel refuses,
 * it exits 42 ("blocked: ..."), unless the policy killed it first
 * (SIGSYS). Either way banger must exit 3. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ATTACK
#error "build with -DATTACK=\"name\""
#endif

static const char *db, *scratch;

static char *beside_db(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s", db);
	char *slash = strrchr(buf, '/');
	snprintf(slash ? slash + 1 : buf, sizeof(buf) - (size_t)(slash ? slash + 1 - buf : 0), "%s", name);
	return buf;
}

static char *in_scratch(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", scratch, name);
	return buf;
}

static int clean(void)
{
	printf("rehearsed: applied [4] in 1 ms; copy of 4096 bytes is consistent\n");
	return 0;
}

static int worked(const char *what)
{
	fprintf(stderr, "ATTACK WORKED: %s\n", what);
	return clean();
}

static int result(long rc, const char *what)
{
	if (rc >= 0)
		return worked(what);
	fprintf(stderr, "blocked: %s: %s\n", what, strerror(errno));
	return 42;
}

static int write_to(const char *path, int flags, const char *what)
{
	int fd = open(path, flags, 0600);
	/* pwrite64, as SQLite writes: write(2) is only for stdout and stderr. */
	if (fd >= 0 && pwrite(fd, "X", 1, 0) != 1) {
		close(fd);
		fd = -1;
	}
	return result(fd, what);
}

static int attack_write_live(void) { return write_to(db, O_RDWR, "write the live database"); }
static int attack_write_wal(void) { return write_to(beside_db("banger.db-wal"), O_RDWR | O_CREAT, "create the live -wal"); }
static int attack_create_in_state(void) { return write_to(beside_db("evil"), O_WRONLY | O_CREAT, "create a file in the state dir"); }
static int attack_unlink_live(void) { return result(unlink(db), "unlink the live database"); }
static int attack_rename_live(void) { return result(rename(db, beside_db("stolen.db")), "rename the live database"); }
static int attack_write_outside(void) { return write_to("/tmp/banger-hostile-created", O_WRONLY | O_CREAT, "create a file in /tmp"); }

/* Out of the scratch by a link: the tmpfs is its own mount (EXDEV), and
 * link is not in the policy. */
static int attack_link_out(void)
{
	if (write_to(in_scratch("x"), O_WRONLY | O_CREAT, "scratch") != 0)
		return 42;
	return result(link(in_scratch("x"), beside_db("linked")), "link a file out of the scratch");
}

/* Fill the scratch: it ends at its own size (ENOSPC) or at the file size
 * limit (SIGXFSZ), never on the machine's disk. */
static int attack_fill_scratch(void)
{
	static char chunk[1 << 20];
	memset(chunk, 'x', sizeof(chunk));
	int fd = open(in_scratch("fill"), O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return result(fd, "create in the scratch");
	for (long total = 0; total < (8L << 30); total += (long)sizeof(chunk))
		if (pwrite(fd, chunk, sizeof(chunk), total) != (ssize_t)sizeof(chunk))
			return result(-1, "fill the scratch (stopped, as it should be)");
	return worked("wrote 8 GiB into the scratch");
}

static int attack_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	return result(pid, "fork");
}

static int attack_spin(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

/* The verdict's line and exit code must agree. */
static int attack_lie_rehearsed(void) { clean(); return 2; }
static int attack_lie_failed(void)
{
	printf("rehearsal failed: migration 4 unique_image_digest: made up\n");
	return 0;
}
static int attack_lie_nothing(void) { printf("nothing to rehearse: compatible\n"); return 0; }

/* Positive controls: an honest verdict of each kind is relayed. */
static int attack_honest_ok(void) { return clean(); }
static int attack_honest_fail(void)
{
	printf("rehearsal failed: migration 4 unique_image_digest: UNIQUE constraint failed: images.digest\n");
	return 2;
}

#define A(name) { #name, attack_##name }
static const struct {
	const char *name;
	int (*fn)(void);
} attacks[] = {
	A(write_live), A(write_wal), A(create_in_state), A(unlink_live), A(rename_live),
	A(write_outside), A(link_out), A(fill_scratch), A(fork), A(spin), A(lie_rehearsed),
	A(lie_failed), A(lie_nothing), A(honest_ok), A(honest_fail),
};

int main(int argc, char *argv[])
{
	int check = 0, json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--scratch") == 0 && i + 1 < argc)
			scratch = argv[++i];
		else if (strcmp(argv[i], "--check-migrations") == 0)
			check = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
	}
	if (db == NULL)
		return 64;
	if (check) {
		if (json)
			printf("{\"state\":\"migrations_needed\",\"applied\":[1,2,3],\"known\":[1,2,3,4],"
			       "\"pending\":[4],\"unknown\":[],\"version\":\"6.6.6\"}\n");
		else
			printf("migrations needed: pending [4] (binary will apply on first Open)\n");
		return 1;
	}
	if (scratch == NULL)
		return 64;
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (strcmp(attacks[i].name, ATTACK) == 0)
			return attacks[i].fn();
	return 70;
}
