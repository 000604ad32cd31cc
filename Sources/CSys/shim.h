#ifndef SLUICE_CSYS_SHIM_H
#define SLUICE_CSYS_SHIM_H
/* What Swift's Glibc module does not export: the Linux pipe-size fcntls,
   splice(2), and the GNU extensions memmem(3)/memrchr(3). Header-only.
   The prototypes are declared here rather than pulled in with _GNU_SOURCE,
   because the system headers are already built into the Glibc clang module
   without it. */
#include <stddef.h>
#include <sys/types.h>

/* <linux/fcntl.h>: F_LINUX_SPECIFIC_BASE (1024) + 7 and + 8. */
#define SLUICE_F_SETPIPE_SZ 1031
#define SLUICE_F_GETPIPE_SZ 1032
/* <linux/fcntl.h>: SPLICE_F_MOVE and SPLICE_F_MORE. */
#define SLUICE_SPLICE_F_MOVE 1
#define SLUICE_SPLICE_F_MORE 4

extern int fcntl(int fd, int cmd, ...);
extern ssize_t splice(int fd_in, long *off_in, int fd_out, long *off_out,
                      size_t len, unsigned int flags);
extern void *memmem(const void *haystack, size_t haystack_len,
                    const void *needle, size_t needle_len);
extern void *memrchr(const void *s, int c, size_t n);

/* fcntl is variadic, which Swift cannot call: a fixed-arity wrapper. */
static inline int sluice_fcntl_int(int fd, int cmd, int arg) {
    return fcntl(fd, cmd, arg);
}

static inline ssize_t sluice_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}
#endif
