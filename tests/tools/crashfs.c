/* crashfs: a FUSE file system that can lose power. See usage() and
 * crashfs_model.c for the rules of what survives a cut. */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "crashfs.h"

static void usage(FILE *to)
{
	fputs("usage: crashfs [OPTIONS] BACKING MOUNTPOINT\n"
	      "\n"
	      "Mounts BACKING at MOUNTPOINT (root; allow_other, default_permissions) and\n"
	      "keeps, beside that live view, the durable view: what a power cut leaves.\n"
	      "  - a file's data, size, mode, owner and times are durable at its\n"
	      "    fsync/fdatasync (chmod/chown/utimes wait for the file's next one);\n"
	      "  - a directory's entries made or changed by create, link/linkat, unlink,\n"
	      "    rename, mkdir, rmdir, symlink, mknod are durable at the directory's\n"
	      "    fsync; a rename across directories at the fsync of each of them;\n"
	      "  - everything in BACKING when crashfs starts is durable.\n"
	      "\n"
	      "  --store DIR       where the durable contents are kept (required; made)\n"
	      "  --out DIR         where a cut writes the durable view (default STORE.cut)\n"
	      "  --cut-at N        cut the power as operation N begins (numbered as in --log)\n"
	      "  --log FILE        counting mode: one line \"N OP PATH\" per operation that\n"
	      "                    changes something; OP fsync, fdatasync and fsyncdir are the\n"
	      "                    durability points, counted from 1\n"
	      "  --snapshots DIR   write the durable view as DIR/K at the mount (K=0) and\n"
	      "                    after each durability point K: every state a cut can\n"
	      "                    leave, from one run. Files are hard links into the store:\n"
	      "                    copy a view (cp -a) before writing to it.\n"
	      "  --foreground      do not detach (the default detaches once mounted)\n"
	      "\n"
	      "Cutting the power: SIGUSR1, or --cut-at. From then on every operation\n"
	      "fails with EIO; the durable view, and only it, is written to OUT.tmp and\n"
	      "renamed to OUT when complete. Unmount with 'umount MOUNTPOINT'.\n"
	      "\n"
	      "O_TMPFILE works (libfuse 3.14 has no tmpfile operation: crashfs turns the\n"
	      "kernel's FUSE_TMPFILE into a create of an O_TMPFILE in BACKING). fcntl\n"
	      "and flock locks are the kernel's own (no lock operation): exact for one\n"
	      "mount.\n", to);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int bfd = -1;
static volatile int cut;
static unsigned long ops, points, cut_at;
static FILE *oplog;
static const char *snapdir, *outdir;

static const char *rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

/* O_TMPFILEs: the kernel asks for one with FUSE_TMPFILE, which libfuse
 * 3.14 does not know; main_loop() hands it to libfuse as a FUSE_CREATE of
 * a name of this prefix, and cf_create() makes an O_TMPFILE in BACKING
 * instead. libfuse then knows the inode by that name (the kernel by its
 * node id): every operation on the name goes to the kept descriptor. */
#define TMPFILE_PREFIX ".crashfs-tmpfile-"
static struct {
	char *path;
	int fd;
} tmpfiles[256];
static unsigned ntmpfiles, tmpfile_seq;

static int tmpfile_fd(const char *path)
{
	const char *base = strrchr(path, '/');
	if (base == NULL || strncmp(base + 1, TMPFILE_PREFIX, strlen(TMPFILE_PREFIX)) != 0)
		return -1;
	for (unsigned i = 0; i < ntmpfiles; i++)
		if (strcmp(tmpfiles[i].path, path) == 0)
			return tmpfiles[i].fd;
	return -1;
}

static void fd_path(int fd, char *out, size_t size)
{
	snprintf(out, size, "/proc/self/fd/%d", fd);
}

static void do_cut(void)
{
	char tmp[PATH_MAX];
	cut = 1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", outdir);
	int rc = cf_model_write_view(tmp, false);
	if (rc == 0 && rename(tmp, outdir) != 0)
		rc = -errno;
	if (oplog)
		fprintf(oplog, "%lu cut %s\n", ops, rc ? strerror(-rc) : outdir);
	if (rc)
		fprintf(stderr, "crashfs: writing the durable view: %s\n", strerror(-rc));
}

/* Every operation holds the one lock; one that changes something is
 * counted (and may be where the power goes). 1: fail it with EIO. */
static int begin(const char *op, const char *path, int counted)
{
	pthread_mutex_lock(&lock);
	if (!cut && counted) {
		ops++;
		if (oplog)
			fprintf(oplog, "%lu %s %s\n", ops, op, path);
		if (ops == cut_at)
			do_cut();
	}
	if (cut) {
		pthread_mutex_unlock(&lock);
		return 1;
	}
	return 0;
}

static int end(int rc)
{
	pthread_mutex_unlock(&lock);
	return rc;
}

#define BEGIN(op, path, counted) \
	do { \
		if (begin(op, path, counted)) \
			return -EIO; \
	} while (0)
#define SYS(call) ((call) < 0 ? -errno : 0)

/* A durability point has been made durable: snapshot it. */
static int point(int rc)
{
	points++;
	if (rc == 0 && snapdir) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%lu", snapdir, points);
		rc = cf_model_write_view(dir, true);
		if (rc)
			fprintf(stderr, "crashfs: snapshot %s: %s\n", dir, strerror(-rc));
	}
	return rc;
}

/* The inode just made belongs to whoever made it, not to crashfs. */
static int born(const char *path, int rc)
{
	if (rc != 0)
		return rc;
	struct fuse_context *c = fuse_get_context();
	if (fchownat(bfd, rel(path), c->uid, c->gid, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return cf_model_born(rel(path));
}

static int cf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	BEGIN("getattr", path, 0);
	int t = fi ? (int)fi->fh : tmpfile_fd(path);
	int rc = t >= 0 ? SYS(fstat(t, st)) : SYS(fstatat(bfd, rel(path), st, AT_SYMLINK_NOFOLLOW));
	return end(rc);
}

static int cf_readlink(const char *path, char *buf, size_t size)
{
	BEGIN("readlink", path, 0);
	ssize_t n = readlinkat(bfd, rel(path), buf, size - 1);
	if (n >= 0)
		buf[n] = '\0';
	return end(n < 0 ? -errno : 0);
}

static int cf_mknod(const char *path, mode_t mode, dev_t dev)
{
	BEGIN("mknod", path, 1);
	return end(born(path, SYS(mknodat(bfd, rel(path), mode, dev))));
}

static int cf_mkdir(const char *path, mode_t mode)
{
	BEGIN("mkdir", path, 1);
	return end(born(path, SYS(mkdirat(bfd, rel(path), mode))));
}

static int cf_symlink(const char *target, const char *path)
{
	BEGIN("symlink", path, 1);
	return end(born(path, SYS(symlinkat(target, bfd, rel(path)))));
}

static int cf_unlink(const char *path)
{
	BEGIN("unlink", path, 1);
	return end(SYS(unlinkat(bfd, rel(path), 0)));
}

static int cf_rmdir(const char *path)
{
	BEGIN("rmdir", path, 1);
	return end(SYS(unlinkat(bfd, rel(path), AT_REMOVEDIR)));
}

static int cf_rename(const char *from, const char *to, unsigned int flags)
{
	BEGIN("rename", from, 1);
	return end(SYS(renameat2(bfd, rel(from), bfd, rel(to), flags)));
}

static int cf_link(const char *from, const char *to)
{
	BEGIN("link", to, 1);
	int t = tmpfile_fd(from);
	char self[64];
	fd_path(t, self, sizeof(self));
	return end(t >= 0 ? SYS(linkat(AT_FDCWD, self, bfd, rel(to), AT_SYMLINK_FOLLOW))
			  : SYS(linkat(bfd, rel(from), bfd, rel(to), 0)));
}

static int cf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	BEGIN("chmod", path, 1);
	int t = fi ? (int)fi->fh : tmpfile_fd(path);
	return end(t >= 0 ? SYS(fchmod(t, mode)) : SYS(fchmodat(bfd, rel(path), mode, 0)));
}

static int cf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	BEGIN("chown", path, 1);
	int t = fi ? (int)fi->fh : tmpfile_fd(path);
	return end(t >= 0 ? SYS(fchown(t, uid, gid))
		      : SYS(fchownat(bfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW)));
}

static int cf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	BEGIN("truncate", path, 1);
	int rc, t = fi ? (int)fi->fh : tmpfile_fd(path);
	if (t >= 0) {
		rc = SYS(ftruncate(t, size));
	} else {
		int fd = openat(bfd, rel(path), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		rc = fd < 0 ? -errno : SYS(ftruncate(fd, size));
		if (fd >= 0)
			close(fd);
	}
	return end(rc);
}

static int cf_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	BEGIN("utimens", path, 1);
	int t = fi ? (int)fi->fh : tmpfile_fd(path);
	return end(t >= 0 ? SYS(futimens(t, tv))
		      : SYS(utimensat(bfd, rel(path), tv, AT_SYMLINK_NOFOLLOW)));
}

static int cf_open(const char *path, struct fuse_file_info *fi)
{
	BEGIN("open", path, (fi->flags & O_TRUNC) != 0);
	int t = tmpfile_fd(path), fd;
	char self[64];
	fd_path(t, self, sizeof(self));
	if (t >= 0)
		fd = open(self, (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
	else
		fd = openat(bfd, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (fd < 0)
		return end(-errno);
	fi->fh = (uint64_t)fd;
	return end(0);
}

static int cf_create_tmpfile(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	BEGIN("tmpfile", path, 1);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (ntmpfiles == sizeof(tmpfiles) / sizeof(tmpfiles[0]))
		return end(-ENOSPC);
	int fd = openat(bfd, dir[0] ? dir + 1 : ".", fi->flags | O_CLOEXEC, mode);
	if (fd < 0)
		return end(-errno);
	struct fuse_context *c = fuse_get_context();
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	int rc = keep < 0 || fchown(fd, c->uid, c->gid) != 0 ? -errno : cf_model_born_fd(fd);
	if (rc != 0) {
		close(fd);
		if (keep >= 0)
			close(keep);
		return end(rc);
	}
	tmpfiles[ntmpfiles].path = strdup(path);
	tmpfiles[ntmpfiles++].fd = keep;
	fi->fh = (uint64_t)fd;
	return end(0);
}

static int cf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if ((fi->flags & O_TMPFILE) == O_TMPFILE)
		return cf_create_tmpfile(path, mode, fi);
	BEGIN("create", path, 1);
	int fd = openat(bfd, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return end(-errno);
	fi->fh = (uint64_t)fd;
	int rc = born(path, 0);
	if (rc != 0)
		close(fd);
	return end(rc);
}

static int cf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	BEGIN("read", path, 0);
	ssize_t n = pread((int)fi->fh, buf, size, off);
	return end(n < 0 ? -errno : (int)n);
}

static int cf_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	BEGIN("write", path, 1);
	ssize_t n = pwrite((int)fi->fh, buf, size, off);
	return end(n < 0 ? -errno : (int)n);
}

static int cf_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	BEGIN("fallocate", path, 1);
	return end(SYS(fallocate((int)fi->fh, mode, off, len)));
}

static int cf_statfs(const char *path, struct statvfs *st)
{
	BEGIN("statfs", path, 0);
	return end(SYS(fstatvfs(bfd, st)));
}

static int cf_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);	/* even after a cut: the descriptor is ours */
	return 0;
}

static int cf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	BEGIN(datasync ? "fdatasync" : "fsync", path, 1);
	return end(point(cf_model_sync_file((int)fi->fh)));
}

static int cf_opendir(const char *path, struct fuse_file_info *fi)
{
	BEGIN("opendir", path, 0);
	int fd = openat(bfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return end(-e);
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	return end(0);
}

static int cf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)flags;
	BEGIN("readdir", path, 0);
	DIR *d = (DIR *)(uintptr_t)fi->fh;
	rewinddir(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		struct stat st = { .st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type) };
		if (fill(buf, e->d_name, &st, 0, 0))
			break;
	}
	return end(0);
}

static int cf_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	closedir((DIR *)(uintptr_t)fi->fh);
	return 0;
}

static int cf_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	BEGIN("fsyncdir", path, 1);
	return end(point(cf_model_sync_dir(path[1] ? path + 1 : "")));
}

static int cf_access(const char *path, int mask)
{
	BEGIN("access", path, 0);
	return end(SYS(faccessat(bfd, rel(path), mask, AT_SYMLINK_NOFOLLOW)));
}

static void *cutter(void *arg);

static void *cf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Here, not in main(): fuse_main() forks to detach, and a thread does
	 * not survive a fork. */
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_t t;
	pthread_create(&t, NULL, cutter, &set);
	conn->want &= ~FUSE_CAP_SPLICE_READ;	/* main_loop() reads requests from memory */
	cfg->use_ino = 1;
	cfg->readdir_ino = 1;
	/* Every change comes through this mount: the kernel's cache of it is
	 * never stale, and a shared mapping (SQLite's -shm) stays coherent. */
	cfg->kernel_cache = 1;
	cfg->direct_io = 0;
	cfg->hard_remove = 0;	/* an unlinked open file keeps a (hidden) name */
	return NULL;
}

static const struct fuse_operations cf_ops = {
	.init = cf_init, .getattr = cf_getattr, .readlink = cf_readlink, .mknod = cf_mknod,
	.mkdir = cf_mkdir, .symlink = cf_symlink, .unlink = cf_unlink, .rmdir = cf_rmdir,
	.rename = cf_rename, .link = cf_link, .chmod = cf_chmod, .chown = cf_chown,
	.truncate = cf_truncate, .utimens = cf_utimens, .open = cf_open, .create = cf_create,
	.read = cf_read, .write = cf_write, .fallocate = cf_fallocate, .statfs = cf_statfs,
	.release = cf_release, .fsync = cf_fsync, .opendir = cf_opendir, .readdir = cf_readdir,
	.releasedir = cf_releasedir, .fsyncdir = cf_fsyncdir, .access = cf_access,
};

static void *cutter(void *arg)
{
	sigset_t *set = arg;
	int sig;
	while (sigwait(set, &sig) == 0) {
		pthread_mutex_lock(&lock);
		if (!cut)
			do_cut();
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

/* One request after another, as fuse_session_loop() does, except that a
 * FUSE_TMPFILE becomes a FUSE_CREATE of a fresh TMPFILE_PREFIX name (the
 * same request and answer, with a name libfuse can keep). One thread:
 * every operation takes the one lock anyway. */
static void main_loop(struct fuse_session *se)
{
	struct fuse_buf buf = { .mem = NULL };
	while (!fuse_session_exited(se)) {
		int n = fuse_session_receive_buf(se, &buf);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		struct fuse_in_header *h = buf.mem;
		size_t head = sizeof(*h) + sizeof(struct fuse_create_in);
		if ((buf.flags & FUSE_BUF_IS_FD) || h->opcode != FUSE_TMPFILE || h->len < head) {
			fuse_session_process_buf(se, &buf);
			continue;
		}
		char req[sizeof(struct fuse_in_header) + sizeof(struct fuse_create_in) + 64];
		memcpy(req, buf.mem, head);
		int len = snprintf(req + head, sizeof(req) - head, TMPFILE_PREFIX "%u", ++tmpfile_seq);
		h = (struct fuse_in_header *)req;
		h->opcode = FUSE_CREATE;
		h->len = (uint32_t)(head + (size_t)len + 1);
		h->total_extlen = 0;
		struct fuse_buf b = { .size = h->len, .mem = req };
		fuse_session_process_buf(se, &b);
	}
	free(buf.mem);
}

struct options {
	const char *store, *logpath;
	int fg, first;	/* first: index of BACKING */
};

/* -1: go on; else the exit code. */
static int parse_options(int argc, char *argv[], struct options *o)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--foreground") == 0) {
			o->fg = 1;
			continue;
		}
		if (v == NULL)
			break;
		if (strcmp(a, "--store") == 0)
			o->store = v;
		else if (strcmp(a, "--out") == 0)
			outdir = v;
		else if (strcmp(a, "--cut-at") == 0)
			cut_at = strtoul(v, NULL, 10);
		else if (strcmp(a, "--log") == 0)
			o->logpath = v;
		else if (strcmp(a, "--snapshots") == 0)
			snapdir = v;
		else
			break;
		i++;
	}
	o->first = i;
	if (argc - i != 2 || o->store == NULL) {
		usage(stderr);
		return 64;
	}
	/* Detached, crashfs works from /: every path it keeps is absolute. */
	if (o->store[0] != '/' || (outdir && outdir[0] != '/') || (snapdir && snapdir[0] != '/') ||
	    (o->logpath && o->logpath[0] != '/')) {
		fputs("crashfs: --store, --out, --snapshots and --log take absolute paths\n", stderr);
		return 64;
	}
	return -1;
}

/* The model of what is there (all durable), snapshot 0, the log. */
static int start_model(const char *backing, const struct options *o)
{
	static char defout[PATH_MAX];
	snprintf(defout, sizeof(defout), "%s.cut", o->store);
	outdir = outdir ? outdir : defout;
	bfd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = bfd < 0 ? -errno : cf_model_init(bfd, o->store);
	if (rc == 0 && snapdir && (mkdir(snapdir, 0700) != 0 && errno != EEXIST))
		rc = -errno;
	char zero[PATH_MAX];
	snprintf(zero, sizeof(zero), "%s/0", snapdir ? snapdir : "");
	if (rc == 0 && snapdir)
		rc = cf_model_write_view(zero, true);
	if (rc == 0 && o->logpath && (oplog = fopen(o->logpath, "we")) == NULL)
		rc = -errno;
	if (rc == 0 && oplog)
		setvbuf(oplog, NULL, _IOLBF, 0);
	return rc;
}

int main(int argc, char *argv[])
{
	struct options o = { 0 };
	int rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		return rc;
	umask(0);
	const char *backing = argv[o.first], *mnt = argv[o.first + 1];
	if ((rc = start_model(backing, &o)) != 0) {
		fprintf(stderr, "crashfs: %s: %s\n", backing, strerror(-rc));
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* every thread: the cutter takes it */
	char *fargv[] = { argv[0], "-o", "allow_other,default_permissions,fsname=crashfs,subtype=crashfs",
			  NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse *f = fuse_new(&args, &cf_ops, sizeof(cf_ops), NULL);
	if (f == NULL || fuse_mount(f, mnt) != 0) {
		fprintf(stderr, "crashfs: cannot mount %s\n", mnt);
		return 1;
	}
	struct fuse_session *se = fuse_get_session(f);
	if (fuse_daemonize(o.fg) != 0 || fuse_set_signal_handlers(se) != 0)
		return 1;
	main_loop(se);
	fuse_remove_signal_handlers(se);
	fuse_unmount(f);
	fuse_destroy(f);
	return 0;
}
