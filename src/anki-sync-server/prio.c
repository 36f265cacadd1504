/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prio.c - bulk work yields to interactive requests.  Every connection
 * has its own thread (httpd.c), so a connection that starts a full upload
 * or download, a media transfer or a slow password hash can lower its own
 * thread's CPU (nice) and I/O priority: another user's meta or chunk then
 * runs as soon as it is ready instead of sharing the cores equally with a
 * 300 MB decompression and integrity check.  An unprivileged thread
 * cannot raise its priority again, so the connection stays at background
 * priority until the client closes it; clients open a connection per
 * sync, so that is the rest of the bulk client's own sync.
 */
#include "server.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* nice 10 gives the thread about a tenth of the weight of a normal one. */
#define PRIO_BULK_NICE 10

/* linux/ioprio.h is not in every libc's headers: best-effort class,
 * lowest level. */
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_BE 2
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_BULK ((IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | 7)

void prio_background(void)
{
	pid_t tid = gettid();
	errno = 0;
	int cur = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno == 0 && cur >= PRIO_BULK_NICE)
		return;
	if (setpriority(PRIO_PROCESS, (id_t)tid, PRIO_BULK_NICE) != 0)
		log_debug("setpriority(thread %d): %s", (int)tid, strerror(errno));
	/* Only I/O schedulers with priorities (BFQ) act on this; elsewhere
	 * it is accepted and ignored. */
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)tid, IOPRIO_BULK) != 0)
		log_debug("ioprio_set(thread %d): %s", (int)tid, strerror(errno));
}
