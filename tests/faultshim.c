/*
 * faultshim.c - an LD_PRELOAD library for faults.sh and tui.sh: a file
 * whose path holds $R1CHAT_FAULT_PATH, once opened or made by open(2) or
 * mkstemp(3), fails as $R1CHAT_FAULT says:
 *
 *   full	the disk is full: every write to it fails with ENOSPC (the
 *		descriptor becomes /dev/full's, so stdio's writes fail too)
 *   kill	the process is killed (SIGKILL) in the middle of its first
 *		write(2) to it, half the bytes written
 *
 * Other files, and every file when the variables are unset, are left
 * alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int	kill_fd = -1;	/* "kill": the descriptor to die writing */

/* Applies the fault to fd, just opened on path, when path is the one. */
static int
fault(int fd, const char *path)
{
	const char	*want = getenv("R1CHAT_FAULT_PATH");
	const char	*how = getenv("R1CHAT_FAULT");
	int		 full, e = errno;

	if (fd < 0 || want == NULL || how == NULL || *want == '\0' ||
	    strstr(path, want) == NULL)
		return fd;
	if (strcmp(how, "full") == 0) {
		if ((full = open("/dev/full", O_WRONLY | O_CLOEXEC)) >= 0) {
			dup2(full, fd);
			close(full);
		}
	} else if (strcmp(how, "kill") == 0)
		kill_fd = fd;
	errno = e;
	return fd;
}

/* real_NAME: the libc function this one stands in front of. */
#define REAL(name)							\
	static __typeof__(&name) real_##name;				\
	if (real_##name == NULL)					\
		real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

int
open(const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;
	REAL(open);

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return fault(real_open(path, flags, mode), path);
}

int
open64(const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;
	REAL(open64);

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return fault(real_open64(path, flags, mode), path);
}

int
mkstemp(char *tmpl)
{
	REAL(mkstemp);

	return fault(real_mkstemp(tmpl), tmpl);
}

int
mkstemp64(char *tmpl)
{
	REAL(mkstemp64);

	return fault(real_mkstemp64(tmpl), tmpl);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	REAL(write);

	if (fd == kill_fd && kill_fd != -1) {
		real_write(fd, buf, n / 2);
		kill(getpid(), SIGKILL);
	}
	return real_write(fd, buf, n);
}
