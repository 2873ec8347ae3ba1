/* lsock.h - the listener's Unix datagram socket: the one systemd passed
 * (socket activation), or one bound here, replacing a stale socket file
 * only when nothing answers on it.  Used by listener.c only. */
#ifndef KD_LSOCK_H
#define KD_LSOCK_H

struct error;

/* A socket passed by the service manager (LISTEN_FDS/LISTEN_PID): 1 with
 * *fd set (and the variables cleared, so no child takes it for its own),
 * 0 when none was passed, or an error (a passed socket of the wrong kind). */
int lsock_inherited(int *fd, struct error *e);

/* Bind a datagram socket at path with mode; *out owns it on success.  A
 * live listener already on path is KD_EINPUT ("another listener is
 * running"); nothing is left behind on error. */
int lsock_create(const char *path, unsigned mode, int *out, struct error *e);

#endif
