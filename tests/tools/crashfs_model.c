/* crashfs's durable view: what a power cut would leave, kept beside the
 * live file system (the backing directory) under DESIGN.md's rules:
 *
 *   - a file's data, size, mode, owner and times are durable at its
 *     fsync/fdatasync: each one copies the whole file into the store as a
 *     new immutable version;
 *   - a directory's entries (name -> inode) are durable at its fsync: each
 *     one records the directory's listing as it is then. A rename across
 *     directories is durable in each directory when that one is fsynced.
 *
 * Inodes get identities of their own (struct node), made when the backing
 * file system makes the inode, because it reuses inode numbers. A name
 * that is durable for an inode whose data never was is an empty file with
 * the attributes the inode was born with. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crashfs.h"

struct attr {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

struct entry {
	char *name;
	size_t node;
};

struct node {
	ino_t ino;	/* 0: the backing inode is gone or its number reused */
	struct attr born, dur;
	bool synced;	/* dur is set */
	long version;	/* the store's file of its durable data; -1: none */
	char *link;	/* a symlink's target */
	dev_t rdev;
	struct entry *ents;
	size_t nents;
	size_t placed_gen;	/* the view being written placed it... */
	char *placed;	/* ...at this path */
};

static struct node *nodes;
static size_t nnodes, cap_nodes, root, view_gen;
static int bfd = -1, store_fd = -1;
static long versions;
static char store_dir[PATH_MAX];

static struct attr attr_of(const struct stat *st)
{
	return (struct attr){ st->st_mode, st->st_uid, st->st_gid, st->st_mtim };
}

static size_t node_new(const struct stat *st)
{
	for (size_t i = 0; i < nnodes; i++)
		if (nodes[i].ino == st->st_ino)
			nodes[i].ino = 0;	/* a reused number: that inode is gone */
	if (nnodes == cap_nodes) {
		cap_nodes = cap_nodes ? cap_nodes * 2 : 256;
		nodes = realloc(nodes, cap_nodes * sizeof(*nodes));
		if (nodes == NULL)
			abort();
	}
	nodes[nnodes] = (struct node){ .ino = st->st_ino, .born = attr_of(st), .version = -1,
				       .rdev = st->st_rdev };
	return nnodes++;
}

static size_t node_of(const struct stat *st)
{
	for (size_t i = 0; i < nnodes; i++)
		if (nodes[i].ino == st->st_ino)
			return i;
	return node_new(st);	/* made outside crashfs: before the mount */
}

static const char *rel_or_dot(const char *rel)
{
	return rel[0] ? rel : ".";
}

int cf_model_born_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	node_new(&st);
	return 0;
}

int cf_model_born(const char *rel)
{
	struct stat st;
	if (fstatat(bfd, rel_or_dot(rel), &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	size_t n = node_new(&st);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(bfd, rel, target, sizeof(target) - 1);
		if (len < 0)
			return -errno;
		target[len] = '\0';
		nodes[n].link = strdup(target);
	}
	return 0;
}

static int copy_fd(int from, int to)
{
	char buf[1 << 16];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(from, buf, sizeof(buf), off);
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));
			if (w < 0)
				return -errno;
			done += w;
		}
		off += n;
	}
}

static int apply_attr(int fd, const struct attr *a)
{
	struct timespec times[2] = { a->mtime, a->mtime };
	if (fchown(fd, a->uid, a->gid) != 0 || fchmod(fd, a->mode & 07777) != 0 ||
	    futimens(fd, times) != 0)
		return -errno;
	return 0;
}

int cf_model_sync_file(int fd)
{
	struct stat st;
	char name[32];
	if (fstat(fd, &st) != 0)
		return -errno;
	size_t n = node_of(&st);
	if (!S_ISREG(st.st_mode)) {
		nodes[n].dur = attr_of(&st);
		nodes[n].synced = true;
		return 0;
	}
	/* FD may be open for writing only: read through a new descriptor. */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	int in = open(self, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	snprintf(name, sizeof(name), "v%ld", versions);
	int out = openat(store_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -errno;
	}
	int rc = copy_fd(in, out);
	close(in);
	struct attr a = attr_of(&st);
	if (rc == 0)
		rc = apply_attr(out, &a);
	close(out);
	if (rc != 0)
		return rc;
	nodes[n].version = versions++;
	nodes[n].dur = attr_of(&st);
	nodes[n].synced = true;
	return 0;
}

static void entries_free(struct node *d)
{
	for (size_t i = 0; i < d->nents; i++)
		free(d->ents[i].name);
	free(d->ents);
	d->ents = NULL;
	d->nents = 0;
}

int cf_model_sync_dir(const char *rel)
{
	struct stat st;
	int fd = openat(bfd, rel_or_dot(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		return e;
	}
	size_t d = node_of(&st);
	nodes[d].dur = attr_of(&st);
	nodes[d].synced = true;
	entries_free(&nodes[d]);
	DIR *dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return -ENOMEM;
	}
	size_t cap = 0;
	for (struct dirent *e; (e = readdir(dir)) != NULL;) {
		struct stat cst;
		/* libfuse's stand-in for an unlinked file that is still open:
		 * unlinked, for the model. */
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strncmp(e->d_name, ".fuse_hidden", 12) == 0 ||
		    fstatat(dirfd(dir), e->d_name, &cst, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		size_t c = node_of(&cst);
		if (nodes[d].nents == cap) {
			cap = cap ? cap * 2 : 16;
			nodes[d].ents = realloc(nodes[d].ents, cap * sizeof(struct entry));
			if (nodes[d].ents == NULL)
				abort();
		}
		if (S_ISLNK(cst.st_mode) && nodes[c].link == NULL) {
			char target[PATH_MAX];
			ssize_t len = readlinkat(dirfd(dir), e->d_name, target, sizeof(target) - 1);
			target[len < 0 ? 0 : len] = '\0';
			nodes[c].link = strdup(target);
		}
		nodes[d].ents[nodes[d].nents++] = (struct entry){ strdup(e->d_name), c };
	}
	closedir(dir);
	return 0;
}

/* Everything already there when crashfs mounts is durable. */
static int scan(const char *rel)
{
	int rc = cf_model_sync_dir(rel);
	struct stat st;
	if (rc != 0 || fstatat(bfd, rel_or_dot(rel), &st, 0) != 0)
		return rc ? rc : -errno;
	struct node *d = &nodes[node_of(&st)];
	for (size_t i = 0; i < d->nents && rc == 0; i++) {
		char child[PATH_MAX];
		snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] ? "/" : "", d->ents[i].name);
		struct stat cst;
		if (fstatat(bfd, child, &cst, AT_SYMLINK_NOFOLLOW) != 0)
			return -errno;
		if (S_ISDIR(cst.st_mode)) {
			rc = scan(child);
		} else if (S_ISREG(cst.st_mode)) {
			int fd = openat(bfd, child, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0)
				return -errno;
			rc = cf_model_sync_file(fd);
			close(fd);
		}
		d = &nodes[node_of(&st)];	/* nodes may have moved */
	}
	return rc;
}

int cf_model_init(int backing_fd, const char *store)
{
	bfd = backing_fd;
	snprintf(store_dir, sizeof(store_dir), "%s", store);
	if (mkdir(store, 0700) != 0 && errno != EEXIST)
		return -errno;
	store_fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (store_fd < 0)
		return -errno;
	struct stat st;
	if (fstat(bfd, &st) != 0)
		return -errno;
	root = node_new(&st);
	return scan("");
}

static int place_file(size_t n, const char *out, bool link_it)
{
	struct node *f = &nodes[n];
	char from[PATH_MAX + 32];
	if (f->placed_gen == view_gen)	/* a second name: a hard link */
		return link(f->placed, out) == 0 ? 0 : -errno;
	if (f->version >= 0 && link_it) {
		snprintf(from, sizeof(from), "%s/v%ld", store_dir, f->version);
		if (link(from, out) != 0)
			return -errno;
	} else {
		int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		int rc = 0;
		if (f->version >= 0) {
			snprintf(from, sizeof(from), "v%ld", f->version);
			int src = openat(store_fd, from, O_RDONLY | O_CLOEXEC);
			rc = src < 0 ? -errno : copy_fd(src, fd);
			if (src >= 0)
				close(src);
		}
		if (rc == 0)
			rc = apply_attr(fd, f->synced ? &f->dur : &f->born);
		close(fd);
		if (rc != 0)
			return rc;
	}
	free(f->placed);
	f->placed = strdup(out);
	f->placed_gen = view_gen;
	return 0;
}

static int place_other(size_t n, const char *out)
{
	struct node *f = &nodes[n];
	const struct attr *a = f->synced ? &f->dur : &f->born;
	if (S_ISLNK(a->mode))
		return symlink(f->link ? f->link : "", out) == 0 ? 0 : -errno;
	if (mknod(out, a->mode, f->rdev) != 0)
		return -errno;
	return lchown(out, a->uid, a->gid) == 0 ? 0 : -errno;
}

static int write_dir(size_t d, const char *out, bool link_it, int depth)
{
	if (depth > 64)
		return -ELOOP;
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return -errno;
	for (size_t i = 0; i < nodes[d].nents; i++) {
		char child[PATH_MAX];
		size_t c = nodes[d].ents[i].node;
		snprintf(child, sizeof(child), "%s/%s", out, nodes[d].ents[i].name);
		const struct attr *a = nodes[c].synced ? &nodes[c].dur : &nodes[c].born;
		int rc = S_ISDIR(a->mode) ? write_dir(c, child, link_it, depth + 1)
			 : S_ISREG(a->mode) ? place_file(c, child, link_it)
					    : place_other(c, child);
		if (rc != 0)
			return rc;
	}
	int fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = apply_attr(fd, nodes[d].synced ? &nodes[d].dur : &nodes[d].born);
	close(fd);
	return rc;
}

int cf_model_write_view(const char *out, bool link_it)
{
	view_gen++;
	return write_dir(root, out, link_it, 0);
}
