/* notify.h - the systemd service manager protocol (sd_notify(3)): tell the
 * manager "READY=1" once the service works, "STOPPING=1" when it begins to
 * stop, "WATCHDOG=1" to keep the watchdog from firing.
 *
 * With libsystemd (configure found it) this is sd_notify(); without, a
 * datagram to $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace), which is the whole protocol.  Outside systemd (no
 * $NOTIFY_SOCKET) every call does nothing and returns 0. */
#ifndef KD_NOTIFY_H
#define KD_NOTIFY_H

/* Send state ("READY=1", "STATUS=...", several separated by '\n').
 * Returns 1 when sent, 0 when there is no manager, -1 on a send error
 * (errno set); the caller logs, the service goes on either way. */
int notify_send(const char *state);

/* The watchdog interval in microseconds the manager asked for
 * ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or is this process),
 * 0 when there is no watchdog.  Ping at half of it. */
long long notify_watchdog_usec(void);

/* Make sure the children we start do not talk to the manager themselves
 * (NotifyAccess=main would refuse them): remove $NOTIFY_SOCKET,
 * $WATCHDOG_USEC and $WATCHDOG_PID from our environment.  Call in a child
 * between fork and exec. */
void notify_forget(void);

/* One journal entry with structured fields (MESSAGE, PRIORITY, JOB_ID when
 * job > 0, SYSLOG_IDENTIFIER=krigd) through sd_journal_send: 0 when sent;
 * -1 when it failed or krigd was built without libsystemd (the caller
 * then writes a "<p>" line to stderr, which journald also reads). */
int notify_journal(int priority, long long job, const char *message);

#endif
