/*
 * ipvsadm-zygote.so: an LD_PRELOAD library that turns a dynamically linked
 * program (Debian's ipvsadm) into a fork server, so that a test can run it
 * thousands of times without paying the dynamic loader for every run.
 *
 * It replaces __libc_start_main. When ZYGOTE_DIR is set, the process never
 * runs main itself: it reads requests on fd 3 and for each one forks a
 * child, which opens ZYGOTE_DIR/in as standard input, ZYGOTE_DIR/out and
 * ZYGOTE_DIR/err as standard output and error, and only then starts the
 * program's main with the requested arguments. So every child is the
 * program as the loader left it, before main, with its own argv: a fresh
 * run in all but its process id.
 *
 * Requests (fd 3), native byte order: u32 argc, then per argument u32
 * length and the bytes (argv[0] included). Replies (fd 4): i32 child pid as
 * soon as it is forked, then the i32 wait status. End of input on fd 3 ends
 * the server.
 *
 * Without ZYGOTE_DIR the program runs as usual.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void),
			void (*)(void), void *);

static int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* read_request returns a NULL-terminated argv followed by the environment
 * (where glibc looks for it), or NULL at the end of the input. */
static char **read_request(int fd, int *argc)
{
	uint32_t n, len, i;
	size_t nenv = 0;
	char **argv;

	if (read_full(fd, &n, sizeof n) < 0 || n == 0 || n > 65536)
		return NULL;
	while (environ[nenv])
		nenv++;
	argv = calloc(n + 1 + nenv + 1, sizeof *argv);
	if (!argv)
		return NULL;
	for (i = 0; i < n; i++) {
		if (read_full(fd, &len, sizeof len) < 0 || len > (1u << 24))
			return NULL;
		argv[i] = malloc(len + 1);
		if (!argv[i] || read_full(fd, argv[i], len) < 0)
			return NULL;
		argv[i][len] = 0;
	}
	memcpy(argv + n + 1, environ, nenv * sizeof *argv);
	*argc = (int)n;
	return argv;
}

static void redirect(const char *dir, const char *name, int target, int flags)
{
	char path[4096];
	int fd;

	if (strlen(dir) + strlen(name) + 2 > sizeof path)
		_exit(125);
	strcpy(path, dir);
	strcat(path, "/");
	strcat(path, name);
	fd = open(path, flags, 0600);
	if (fd < 0 || dup2(fd, target) < 0)
		_exit(125);
	close(fd);
}

static void free_argv(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

int __libc_start_main(main_fn main, int argc, char **argv,
		      void (*init)(void), void (*fini)(void),
		      void (*rtld_fini)(void), void *stack_end)
{
	start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
	const char *dir = getenv("ZYGOTE_DIR");

	if (!dir)
		return real(main, argc, argv, init, fini, rtld_fini, stack_end);
	for (;;) {
		int n, status;
		int32_t reply;
		char **args = read_request(3, &n);
		pid_t pid;

		if (!args)
			_exit(0);
		pid = fork();
		if (pid < 0)
			_exit(124);
		if (pid == 0) {
			redirect(dir, "in", 0, O_RDONLY);
			redirect(dir, "out", 1, O_WRONLY | O_CREAT | O_TRUNC);
			redirect(dir, "err", 2, O_WRONLY | O_CREAT | O_TRUNC);
			close(3);
			close(4);
			unsetenv("ZYGOTE_DIR");
			unsetenv("LD_PRELOAD");
			return real(main, n, args, init, fini, rtld_fini, stack_end);
		}
		free_argv(args, n);
		reply = (int32_t)pid;
		if (write_full(4, &reply, sizeof reply) < 0)
			_exit(0);
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				_exit(123);
		reply = (int32_t)status;
		if (write_full(4, &reply, sizeof reply) < 0)
			_exit(0);
	}
}
