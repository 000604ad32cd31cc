#ifndef SLUICE_CSYS_SHIM_H
#define SLUICE_CSYS_SHIM_H
/* What Swift's Glibc module does not export: the Linux pipe-size fcntls,
   splice(2), pidfd_open(2), FIONREAD, and the GNU extensions memmem(3)/memrchr(3). Header-only.
   The prototypes are declared here rather than pulled in with _GNU_SOURCE,
   because the system headers are already built into the Glibc clang module
   without it. */
#include <fcntl.h>
#include <regex.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/types.h>

/* <linux/fcntl.h>: F_LINUX_SPECIFIC_BASE (1024) + 7 and + 8. */
#define SLUICE_F_SETPIPE_SZ 1031
#define SLUICE_F_GETPIPE_SZ 1032
/* <linux/fcntl.h>: SPLICE_F_MOVE and SPLICE_F_MORE. */
#define SLUICE_SPLICE_F_MOVE 1
#define SLUICE_SPLICE_F_MORE 4

extern int fcntl(int fd, int cmd, ...);
extern int pipe2(int pipefd[2], int flags);
extern ssize_t splice(int fd_in, long *off_in, int fd_out, long *off_out,
                      size_t len, unsigned int flags);
extern void *memmem(const void *haystack, size_t haystack_len,
                    const void *needle, size_t needle_len);
extern void *memrchr(const void *s, int c, size_t n);
/* <sys/pidfd.h> (glibc 2.36): a descriptor readable once the process has exited. */
extern int pidfd_open(pid_t pid, unsigned int flags);

/* GNU regex, which glibc exports but declares only under _GNU_SOURCE: GNU grep compiles
   with re_compile_pattern and explicit syntax bits, which regcomp(3) cannot select
   ('.' matching NUL, 'a{1' as literal text, '*' at the start of an ERE). */
struct re_registers;
extern unsigned long int re_set_syntax(unsigned long int syntax);
extern const char *re_compile_pattern(const char *pattern, size_t length,
                                      struct re_pattern_buffer *buffer);
extern regoff_t re_search(struct re_pattern_buffer *buffer, const char *string,
                          regoff_t length, regoff_t start, regoff_t range,
                          struct re_registers *regs);
/* The length of the longest match starting at START, or -1: where re_search found a
   match, the match's end (grep -o). */
extern regoff_t re_match(struct re_pattern_buffer *buffer, const char *string,
                         regoff_t length, regoff_t start, struct re_registers *regs);

/* The syntax bits of <regex.h> (also under _GNU_SOURCE only), and GNU grep's two
   syntaxes, composed exactly as <regex.h> composes RE_SYNTAX_GREP and RE_SYNTAX_EGREP. */
#define SLUICE_RE_CHAR_CLASSES (1UL << 2)
#define SLUICE_RE_CONTEXT_INDEP_ANCHORS (1UL << 3)
#define SLUICE_RE_CONTEXT_INDEP_OPS (1UL << 4)
#define SLUICE_RE_CONTEXT_INVALID_OPS (1UL << 5)
#define SLUICE_RE_DOT_NEWLINE (1UL << 6)
#define SLUICE_RE_DOT_NOT_NULL (1UL << 7)
#define SLUICE_RE_INTERVALS (1UL << 9)
#define SLUICE_RE_NEWLINE_ALT (1UL << 11)
#define SLUICE_RE_NO_BK_BRACES (1UL << 12)
#define SLUICE_RE_NO_BK_PARENS (1UL << 13)
#define SLUICE_RE_NO_BK_VBAR (1UL << 15)
#define SLUICE_RE_NO_EMPTY_RANGES (1UL << 16)
#define SLUICE_RE_UNMATCHED_RIGHT_PAREN_ORD (1UL << 17)
#define SLUICE_RE_INVALID_INTERVAL_ORD (1UL << 21)
#define SLUICE_RE_ICASE (1UL << 22)
#define SLUICE_RE_CONTEXT_INVALID_DUP (1UL << 24)
#define SLUICE_RE_NO_SUB (1UL << 25)
#define SLUICE_RE_BK_PLUS_QM (1UL << 1)

#define SLUICE_RE_SYNTAX_POSIX_COMMON (SLUICE_RE_CHAR_CLASSES | SLUICE_RE_DOT_NEWLINE \
    | SLUICE_RE_DOT_NOT_NULL | SLUICE_RE_INTERVALS | SLUICE_RE_NO_EMPTY_RANGES)
#define SLUICE_RE_SYNTAX_POSIX_BASIC (SLUICE_RE_SYNTAX_POSIX_COMMON | SLUICE_RE_BK_PLUS_QM \
    | SLUICE_RE_CONTEXT_INVALID_DUP)
#define SLUICE_RE_SYNTAX_POSIX_EXTENDED (SLUICE_RE_SYNTAX_POSIX_COMMON \
    | SLUICE_RE_CONTEXT_INDEP_ANCHORS | SLUICE_RE_CONTEXT_INDEP_OPS | SLUICE_RE_NO_BK_BRACES \
    | SLUICE_RE_NO_BK_PARENS | SLUICE_RE_NO_BK_VBAR | SLUICE_RE_CONTEXT_INVALID_OPS \
    | SLUICE_RE_UNMATCHED_RIGHT_PAREN_ORD)
static const unsigned long int sluice_re_syntax_grep =
    (SLUICE_RE_SYNTAX_POSIX_BASIC | SLUICE_RE_NEWLINE_ALT)
    & ~(SLUICE_RE_CONTEXT_INVALID_DUP | SLUICE_RE_DOT_NOT_NULL);
static const unsigned long int sluice_re_syntax_egrep =
    (SLUICE_RE_SYNTAX_POSIX_EXTENDED | SLUICE_RE_INVALID_INTERVAL_ORD | SLUICE_RE_NEWLINE_ALT)
    & ~(SLUICE_RE_CONTEXT_INVALID_OPS | SLUICE_RE_DOT_NOT_NULL);
static const unsigned long int sluice_re_icase = SLUICE_RE_ICASE;
static const unsigned long int sluice_re_no_sub = SLUICE_RE_NO_SUB;

/* FIONREAD: the bytes a pipe holds unread (either end), or -1. */
static inline int sluice_pipe_unread(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

/* ioctl is variadic too: the terminal's width in columns, or 0 when not a terminal. */
static inline int sluice_terminal_width(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return 0;
    return ws.ws_col;
}

/* fcntl is variadic, which Swift cannot call: a fixed-arity wrapper. */
static inline int sluice_fcntl_int(int fd, int cmd, int arg) {
    return fcntl(fd, cmd, arg);
}

static inline ssize_t sluice_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

/* <fcntl.h>/<linux/fcntl.h>: O_TMPFILE is __O_TMPFILE (020000000) | O_DIRECTORY
   (0200000) on x86_64 and arm64. An unnamed file in `dir`: gone on any exit. */
static inline int sluice_open_tmpfile(const char *dir) {
    return open(dir, 020000000 | 0200000 | O_RDWR | O_CLOEXEC, 0600);
}

/* <linux/falloc.h>: FALLOC_FL_KEEP_SIZE (1) | FALLOC_FL_PUNCH_HOLE (2): gives the disk
   blocks of [offset, offset + length) back without changing the file's size. */
int fallocate(int fd, int mode, off_t offset, off_t len);
static inline int sluice_punch_hole(int fd, off_t offset, off_t length) {
    return fallocate(fd, 1 | 2, offset, length);
}
#endif
