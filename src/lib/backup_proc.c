/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_proc.c - a filter child on two pipes, driven with poll(2)
 * (see backup_proc.h for the contract).
 *
 * Invariants: our pipe ends are O_CLOEXEC and O_NONBLOCK, so no other child
 * inherits them and no read or write can block outside poll; the child gets
 * a clean signal mask and default SIGPIPE/SIGINT/SIGTERM dispositions.
 */
#include "backup_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* One pipe transfer at a time; the kernel pipe holds 64 KiB. */
#define PROC_CHUNK 65536

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

enum status backup_proc_start(struct backup_proc *p, char *const argv[], struct errinfo *e)
{
	memset(p, 0, sizeof *p);
	p->in_fd = p->out_fd = p->err_fd = -1;
	buf_init(&p->err, BACKUP_PROC_ERR_MAX);
	snprintf(p->name, sizeof p->name, "%s", argv[0]);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		errinfo_errno(e, ST_IO, "cannot create pipes for %s", p->name);
		goto fail;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawnattr_init(&attr);
	sigset_t none, defs;
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defs);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int r = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		p->pid = 0;
		errno = r;
		errinfo_errno(e, r == ENOENT ? ST_NOTFOUND : ST_IO, "cannot run %s", p->name);
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = err[0];
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	return ST_OK;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&err[i]);
	}
	buf_free(&p->err);
	return e ? e->code : ST_IO;
}

/* The child's complaint, one line, for messages. */
static const char *err_text(struct backup_proc *p)
{
	if (!p->err.data || p->err.len == 0)
		return "(no message)";
	char *s = (char *)p->err.data;
	size_t n = p->err.len;
	while (n > 0 && (s[0] == '\n' || s[0] == '\r')) {
		s++;
		n--;
	}
	char *nl = memchr(s, '\n', n); /* the first line says it; the rest is boilerplate */
	if (nl)
		n = (size_t)(nl - s);
	while (n > 0 && s[n - 1] == '\r')
		n--;
	s[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			s[i] = ' ';
	return s;
}

/* SIGPIPE is per-thread blocked around the write; a pending one raised by
 * this write is consumed so it never reaches the process. */
static ssize_t write_nosigpipe(int fd, const void *data, size_t len)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ssize_t w = write(fd, data, len);
	int saved = errno;
	if (w < 0 && saved == EPIPE) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return w;
}

/* Move bytes until data is written (and, when closing, until both output
 * pipes reach EOF). */
static enum status pump(struct backup_proc *p, const unsigned char *data, size_t len, int closing,
                        backup_sink_fn sink, void *ctx, struct errinfo *e)
{
	unsigned char chunk[PROC_CHUNK];
	while (len > 0 || (closing && (p->out_fd >= 0 || p->err_fd >= 0))) {
		struct pollfd fds[3];
		int n = 0, iw = -1, io = -1, ie = -1;
		if (len > 0) {
			if (p->in_fd < 0)
				return errinfo_set(e, ST_IO, "%s closed its input early: %s", p->name,
				                   err_text(p));
			iw = n;
			fds[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
		}
		if (p->out_fd >= 0) {
			io = n;
			fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
		}
		if (p->err_fd >= 0) {
			ie = n;
			fds[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
		}
		if (n == 0)
			break;
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "poll on %s pipes failed", p->name);
		}
		if (io >= 0 && (fds[io].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(p->out_fd, chunk, sizeof chunk);
			if (r > 0) {
				enum status st = sink(ctx, chunk, (size_t)r, e);
				if (st)
					return st;
			} else if (r == 0) {
				close_fd(&p->out_fd);
			} else if (errno != EAGAIN && errno != EINTR) {
				return errinfo_errno(e, ST_IO, "reading from %s failed", p->name);
			}
		}
		if (ie >= 0 && (fds[ie].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(p->err_fd, chunk, sizeof chunk);
			if (r > 0) {
				size_t room = p->err.len < BACKUP_PROC_ERR_MAX ? BACKUP_PROC_ERR_MAX - p->err.len : 0;
				if (room > 0)
					buf_append(&p->err, chunk, (size_t)r < room ? (size_t)r : room, NULL);
			} else if (r == 0) {
				close_fd(&p->err_fd);
			} else if (errno != EAGAIN && errno != EINTR) {
				close_fd(&p->err_fd);
			}
		}
		if (iw >= 0 && (fds[iw].revents & (POLLOUT | POLLERR | POLLHUP))) {
			size_t want = len < PROC_CHUNK ? len : PROC_CHUNK;
			ssize_t w = write_nosigpipe(p->in_fd, data, want);
			if (w > 0) {
				data += w;
				len -= (size_t)w;
			} else if (w < 0 && errno == EPIPE) {
				close_fd(&p->in_fd);
				/* Collect its last words before reporting. */
				while (p->err_fd >= 0) {
					struct pollfd one = {.fd = p->err_fd, .events = POLLIN};
					if (poll(&one, 1, 2000) <= 0)
						break;
					ssize_t r = read(p->err_fd, chunk, sizeof chunk);
					if (r <= 0) {
						if (r < 0 && errno == EAGAIN)
							continue;
						break;
					}
					size_t room = p->err.len < BACKUP_PROC_ERR_MAX ? BACKUP_PROC_ERR_MAX - p->err.len : 0;
					if (room > 0)
						buf_append(&p->err, chunk, (size_t)r < room ? (size_t)r : room, NULL);
				}
				return errinfo_set(e, ST_IO, "%s stopped reading its input: %s", p->name,
				                   err_text(p));
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				return errinfo_errno(e, ST_IO, "writing to %s failed", p->name);
			}
		}
	}
	return ST_OK;
}

enum status backup_proc_feed(struct backup_proc *p, const void *data, size_t len,
                             backup_sink_fn sink, void *ctx, struct errinfo *e)
{
	return pump(p, data, len, 0, sink, ctx, e);
}

enum status backup_proc_finish(struct backup_proc *p, backup_sink_fn sink, void *ctx,
                               struct errinfo *e)
{
	close_fd(&p->in_fd);
	enum status st = pump(p, NULL, 0, 1, sink, ctx, e);
	if (st)
		return st;
	int ws;
	pid_t r;
	while ((r = waitpid(p->pid, &ws, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return errinfo_errno(e, ST_IO, "waiting for %s failed", p->name);
	p->pid = 0;
	st = ST_OK;
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127 && p->err.len == 0)
		/* posix_spawnp may report a failed exec only this way (POSIX
		 * allows it; valgrind's emulation does it). */
		st = errinfo_set(e, ST_NOTFOUND, "cannot run %s (exit 127: not installed?)", p->name);
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
		st = errinfo_set(e, ST_IO, "%s failed (exit %d): %s", p->name, WEXITSTATUS(ws),
		                 err_text(p));
	else if (WIFSIGNALED(ws))
		st = errinfo_set(e, ST_IO, "%s was killed by signal %d", p->name, WTERMSIG(ws));
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	buf_free(&p->err);
	return st;
}

void backup_proc_kill(struct backup_proc *p)
{
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	buf_free(&p->err);
}
