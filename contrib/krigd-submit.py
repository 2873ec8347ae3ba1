#!/usr/bin/env python3
"""krigd-submit.py - send a trigger to `krigd listen` and wait for its reply.

The seed's Python sender (a SOCK_DGRAM client that fired "hello server ..."
and never listened) reworked: it binds its own address so the listener can
answer, always sends a `key` (so a retry after a time-out can never make a
second job), tags each send with its own `req` and matches replies by it
(a late "queue busy" is never the answer to a later send), waits for the
reply with a deadline, retries with the same key, prints the job ids.
Exit 0: committed; 1: nothing committed; 3: outcome unknown (the key to
resend with is printed), as `krigd submit`.
Standard library only; Linux (abstract autobind address).

    krigd-submit.py --socket /run/krigd/krigd.sock '{"source_id": 42}'
    krigd-submit.py --socket /run/krigd/krigd.sock            # a ping
    echo '{"index": "pm25", ...}' | krigd-submit.py --socket S -
    krigd-submit.py --socket S --every 2                      # the seed's loop
"""
import argparse
import datetime
import json
import os
import socket
import sys
import time

JSON_START = tuple('{["-0123456789tfn')
SPACE = ' \t\r\n\f\v'   # as `krigd listen` counts white space around a trigger
BOM = '\ufeff'
EXIT_OK, EXIT_NOTHING, EXIT_UNKNOWN = 0, 1, 3
BACKOFF_MS, BACKOFF_MAX_MS = 500, 4000


class SubmitError(Exception):
    """Nothing was committed (every send that arrived was answered no)."""


class OutcomeUnknown(Exception):
    """Some send is unanswered: resend with the same key (self.key)."""

    def __init__(self, msg, key):
        Exception.__init__(self, msg)
        self.key = key


def _refuse(name):
    raise ValueError(name)


def _no_repeats(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError('duplicate key')
    return obj


class Trigger:
    """A JSON object gets a "key" when it has none and a fresh "req" on each
    send (replies are matched by it); anything else is sent as it is."""

    def __init__(self, text):
        self.obj, self.raw, self.key = None, text.encode('utf-8', 'surrogateescape'), ''
        self.tag = os.urandom(4).hex()
        s = text[1:] if text.startswith(BOM) else text
        s = s.strip(SPACE)
        if s.startswith('{'):
            # Only what the listener reads as JSON is rewritten (valid UTF-8,
            # no NaN, no key twice); the rest goes as it is, for it to say why.
            try:
                s.encode('utf-8')
                obj = json.loads(s, parse_constant=_refuse, object_pairs_hook=_no_repeats)
            except (ValueError, UnicodeError):
                return
            if isinstance(obj, dict):
                if 'key' not in obj:
                    obj['key'] = os.urandom(16).hex()
                if isinstance(obj['key'], str):
                    self.key = obj['key']
                self.obj = obj

    def message(self, n):
        if self.obj is None:
            return self.raw, None
        req = '%s-%d' % (self.tag, n)
        self.obj['req'] = req
        return json.dumps(self.obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8'), req


def submit(path, trigger, wait_ms=10000, retries=3):
    """Send a Trigger; return the job ids of the ok reply.  SubmitError when
    nothing was committed, OutcomeUnknown when that cannot be told."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sent = {}      # req (or send number) -> 'pending' | 'busy' | 'unknown' | 'refused'
    deadline = {}
    order = []
    last = 'no reply from the listener'
    try:
        sock.bind('')  # Linux autobind: a unique abstract address to reply to
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 * len(trigger.raw) + 65536)
        sock.settimeout(wait_ms / 1000.0)
        n, send_at, stop, connected = 0, time.monotonic(), False, False
        while True:
            now = time.monotonic()
            more = not stop and n <= retries
            if more and now >= send_at:
                payload, req = trigger.message(n)
                name = req if req is not None else n
                deadline[name] = now + wait_ms / 1000.0
                send_at = deadline[name]
                order.append(name)
                n += 1
                # Connected, the socket hears from the listener only; connect
                # again each time, as a restarted listener is a new socket.
                try:
                    connected = False
                    sock.connect(path)
                    connected = True
                    sock.send(payload)
                    sent[name] = 'pending'
                except OSError as e:  # listener restarting, or its queue full
                    last = 'sending to %s: %s' % (path, e.strerror)
                continue
            pending = [deadline[k] for k in order if sent.get(k) == 'pending']
            wake = send_at if more else max(pending, default=0)
            if not more and wake <= now:
                break
            sock.settimeout(max(wake - now, 0.001))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not connected:
                continue  # not the listener's: we could not reach it
            try:
                reply = json.loads(data.decode('utf-8'))
            except ValueError:
                continue
            if trigger.obj is not None and 'req' in reply:
                name = reply['req']
            else:  # a reply without req (a ping's): the oldest unanswered send
                name = next((k for k in order if sent.get(k) == 'pending'), None)
            if sent.get(name) != 'pending':
                continue  # not an answer to any of our sends
            if reply.get('ok'):
                return reply.get('jobs', [])
            last = reply.get('error', 'error')
            if last == 'queue busy':
                sent[name] = 'busy'
            elif 'commit failed' in last:
                sent[name] = 'unknown'
            else:
                sent[name] = 'refused'
                stop = True  # bad input: sending it again cannot help
            if sent[name] != 'refused' and name == order[-1]:
                k = len(order) - 1
                send_at = time.monotonic() + min(BACKOFF_MS << min(k, 4), BACKOFF_MAX_MS) / 1000.0
    finally:
        sock.close()
    open_ = [k for k in order if sent.get(k) in ('pending', 'unknown')]
    if not open_:
        raise SubmitError(last)
    raise OutcomeUnknown('outcome unknown: %d of %d sends unanswered (last: %s)' % (len(open_), len(order), last),
                         trigger.key)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--socket', required=True, help="the listener's socket")
    ap.add_argument('--wait-ms', type=int, default=10000,
                    help="wait this long for each reply (more than the listener's --busy-timeout)")
    ap.add_argument('--retries', type=int, default=3, help='send again after a time-out')
    ap.add_argument('--every', type=float, help="the seed's loop: send a ping every N seconds")
    ap.add_argument('trigger', nargs='?', help="JSON, '-' for stdin, or omitted for a ping")
    a = ap.parse_args()
    while True:
        if a.trigger == '-':
            text = sys.stdin.read()
        elif a.trigger is not None:
            text = a.trigger
        else:
            text = 'hello server ' + str(datetime.datetime.now()) + ' ' + os.getcwd()
        try:
            for job in submit(a.socket, Trigger(text), a.wait_ms, a.retries):
                print(job, flush=True)
        except SubmitError as e:
            print('krigd-submit.py: %s' % e, file=sys.stderr)
            if a.every is None:
                return EXIT_NOTHING
        except OutcomeUnknown as e:
            how = ('resend with the same key: %s' % e.key if e.key else
                   'a ping can be sent again (pings coalesce)')
            print('krigd-submit.py: %s; %s' % (e, how), file=sys.stderr)
            if a.every is None:
                return EXIT_UNKNOWN
        if a.every is None:
            return 0
        time.sleep(a.every)


if __name__ == '__main__':
    sys.exit(main())
