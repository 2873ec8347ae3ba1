#!/usr/bin/env python3
"""krigd-submit.py - send a trigger to `krigd listen` and wait for its reply.

The seed's Python sender (a SOCK_DGRAM client that fired "hello server ..."
and never listened) reworked: it binds its own address so the listener can
answer, always sends a `key` (so a retry after a time-out can never make a
second job), waits for the reply with a deadline, retries with the same
bytes, prints the job ids and exits non-zero on an error reply.
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


class SubmitError(Exception):
    pass


def with_key(text):
    """A JSON object without "key" gets a random one; anything else as is."""
    s = text.lstrip(' \t\r\n')
    if s.startswith('{'):
        try:
            obj = json.loads(s)
        except ValueError:
            return text.encode('utf-8', 'surrogateescape')  # the listener says why
        if isinstance(obj, dict) and 'key' not in obj:
            obj['key'] = os.urandom(16).hex()
            return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    return text.encode('utf-8', 'surrogateescape')


def submit(path, payload, wait_ms=5000, retries=3):
    """Send payload (bytes); return the list of job ids of the ok reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind('')  # Linux autobind: a unique abstract address to reply to
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 * len(payload) + 65536)
        sock.settimeout(wait_ms / 1000.0)
        last = 'no reply from the listener'
        for _ in range(retries + 1):
            deadline = time.monotonic() + wait_ms / 1000.0
            # Connected, the socket hears from the listener only, whatever
            # spelling of its path (symlink, relative) we were given; connect
            # again each time, as a restarted listener is a new socket.
            connected = False
            try:
                sock.connect(path)
                connected = True
                sock.send(payload)
            except OSError as e:  # listener restarting, or its queue full
                last = 'sending to %s: %s' % (path, e.strerror)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    break
                if not connected:
                    continue  # not the listener's: we could not reach it
                reply = json.loads(data.decode('utf-8'))
                if reply.get('ok'):
                    return reply.get('jobs', [])
                last = reply.get('error', 'error')
                if last != 'queue busy':
                    raise SubmitError(last)
                break  # busy: send again
        raise SubmitError(last)
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--socket', required=True, help="the listener's socket")
    ap.add_argument('--wait-ms', type=int, default=5000, help='wait this long for each reply')
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
            for job in submit(a.socket, with_key(text), a.wait_ms, a.retries):
                print(job, flush=True)
        except SubmitError as e:
            print('krigd-submit.py: %s' % e, file=sys.stderr)
            if a.every is None:
                return 1
        if a.every is None:
            return 0
        time.sleep(a.every)


if __name__ == '__main__':
    sys.exit(main())
