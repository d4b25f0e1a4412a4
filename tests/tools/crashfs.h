/* crashfs's durable model (crashfs_model.c), shared with its FUSE side
 * (crashfs.c). Every function is called with crashfs's one lock held. */
#ifndef CRASHFS_H
#define CRASHFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The backing directory (an O_PATH-free directory descriptor) and the
 * store where fsynced contents are kept, one immutable file per fsync. */
int cf_model_init(int backing_fd, const char *store);
/* A new inode made by create/mknod/mkdir/symlink: at REL (relative to
 * the backing directory). Inode numbers are reused by the backing file
 * system, so a new inode always gets a new identity. */
int cf_model_born(const char *rel);
/* The same for an O_TMPFILE: no name, only FD. */
int cf_model_born_fd(int fd);
/* fsync/fdatasync of the file open as FD: its data, size, mode, owner and
 * times become durable. */
int cf_model_sync_file(int fd);
/* fsync of the directory at REL: its entries (name -> inode) and its own
 * attributes become durable. */
int cf_model_sync_dir(const char *rel);
/* Write the durable view, and only it, as a tree at OUT (which must not
 * exist). LINK: hard-link file contents to the store's immutable copies
 * (cheap; the reader must copy before writing); else copy them. */
int cf_model_write_view(const char *out, bool link);

#endif
