#ifndef KNETCAP_CNETNS_H
#define KNETCAP_CNETNS_H

/* The few Linux calls KnetcapNetns needs that Swift's Glibc module does not export (they are
   declared only under _GNU_SOURCE, or need linux/ headers). Thin: each returns what the kernel
   returned and leaves errno set. See setns(2), namespaces(7), ioctl_ns(2), statfs(2). */

#include <sys/types.h>

/* CLONE_NEWNET from <sched.h> (checked against it in CNetns.c). */
enum { KNETCAP_CLONE_NEWNET = 0x40000000 };
/* NSFS_MAGIC and PROC_SUPER_MAGIC from <linux/magic.h>: the f_type of a namespace file
   (nsfs, Linux >= 3.19) and of a /proc file (namespace files before 3.19). */
enum { KNETCAP_NSFS_MAGIC = 0x6e736673, KNETCAP_PROC_SUPER_MAGIC = 0x9fa0 };

/* setns(2): moves the calling THREAD into the namespace `fd` refers to. */
int knetcap_setns(int fd, int nstype);

/* gettid(2): the calling thread's id (its /proc/self/task/<tid> entry). */
pid_t knetcap_gettid(void);

/* ioctl(fd, NS_GET_NSTYPE) (ioctl_ns(2), Linux >= 4.11): the CLONE_NEW* type of the
   namespace `fd` refers to, or -1 with errno (ENOTTY: not a namespace file / older kernel). */
int knetcap_ns_get_nstype(int fd);

/* fstatfs(2): the filesystem magic of `fd` in *type; 0, or -1 with errno. */
int knetcap_fstatfs_type(int fd, long *type);

#endif
