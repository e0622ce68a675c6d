#define _GNU_SOURCE
#include "CNetns.h"
#include <sched.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE 0xb703 /* _IO(0xb7, 0x3), <linux/nsfs.h> */
#endif

_Static_assert(KNETCAP_CLONE_NEWNET == CLONE_NEWNET, "CLONE_NEWNET");

int knetcap_setns(int fd, int nstype) { return setns(fd, nstype); }

pid_t knetcap_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int knetcap_ns_get_nstype(int fd) { return ioctl(fd, NS_GET_NSTYPE); }

int knetcap_fstatfs_type(int fd, long *type) {
    struct statfs s;
    if (fstatfs(fd, &s) != 0) return -1;
    *type = (long)s.f_type;
    return 0;
}
