/* queue_wake.h - wake-ups between processes sharing one queue file.
 *
 * Beside the database PATH sits a directory PATH-wake; each watcher binds
 * a Unix datagram socket in it, and a connection that committed work sends
 * one byte to every socket there.  A socket whose owner is gone refuses the
 * byte and is removed.  Best effort by design: a lost byte costs one poll
 * period (the drain's fallback), never a job. */
#ifndef KD_QUEUE_WAKE_H
#define KD_QUEUE_WAKE_H

struct error;

struct queue_wake {
	char *dir;       /* PATH-wake, malloc'd */
	int dir_fd;      /* O_PATH descriptor of dir once opened, else -1 */
	int sock;        /* our bound socket, else -1 */
	int send_sock;   /* unbound sender, else -1 */
	char name[48];   /* our socket's name in dir */
};

/* Remember the directory for db_path; opens nothing yet. */
int queue_wake_init(struct queue_wake *w, const char *db_path, struct error *e);

/* Our socket (created, and the directory with it, on first call). */
int queue_wake_watch(struct queue_wake *w, struct error *e);

/* Read every pending byte. */
void queue_wake_drain(struct queue_wake *w);

/* One byte to every other watcher; never fails, never blocks. */
void queue_wake_send(struct queue_wake *w);

/* Close and remove our socket. */
void queue_wake_free(struct queue_wake *w);

#endif
