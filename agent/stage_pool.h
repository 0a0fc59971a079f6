/* stage_pool.h: unnamed files a worker opens ahead between batches, so that staging an output needs no new inode. */
#ifndef BD_STAGE_POOL_H
#define BD_STAGE_POOL_H
#include <sys/types.h>

/*
 * Allocating an inode is the dearest part of creating a staged output (on an ext4 without a journal, creation
 * scans past every inode deleted in the last minutes). A worker that stays for its partner's next batch opens
 * two unnamed files (O_TMPFILE) in that partner's staging folder while it waits; a staged output then takes one
 * and links it under its name. An unnamed file that is never linked vanishes when closed or when the worker
 * dies, so nothing is left behind. Where O_TMPFILE is not supported, outputs are created as before.
 */

/* Open unnamed files in dir until two wait (those opened in another folder are closed first). Best effort. */
void bd_stage_pool_fill(const char *dir);

/* A new empty file at path (the folder filled above, else any): a waiting unnamed file linked there, or one
 * created with O_CREAT | O_TRUNC. An fd open for writing, or -1 with errno. */
int bd_stage_open(const char *path, mode_t mode);
#endif
