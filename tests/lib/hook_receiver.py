#!/usr/bin/env python3
"""tests/lib/hook_receiver.py - a callback receiver for the drain tests.

Listens on 127.0.0.1 (port chosen by the kernel), writes the port and a
newline on stdout when it accepts connections, and exits when its stdin
reaches end of file.  Every POST is logged as one JSON line to --log:
{"t0", "t1", "reply", "id", "ts", "sig", "body"} where "sig" is "ok" or why
the Standard Webhooks check failed.  That check is written here from the
specification (HMAC-SHA256 over "id.timestamp.body" with the base64-decoded
part of the whsec_ secret), not taken from krigd.

--script "500:3,hang" answers the first three requests with HTTP 500, then
holds every request open (no answer) until the file --release exists, and
answers 200 from then on; the start time of each held request is appended
to LOG.hang.  Without --script every request gets 200.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
KEY = None
LOCK = threading.Lock()
COUNT = [0]


def verify(h, body):
    mid, ts, sig = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not mid or not ts or not sig:
        return "missing webhook headers"
    if h.get("content-type", "").split(";")[0].strip() != "application/json":
        return "content-type is not application/json"
    try:
        if abs(time.time() - int(ts)) > 300:
            return "timestamp not fresh"
    except ValueError:
        return "timestamp not a number"
    want = base64.b64encode(hmac.new(KEY, mid.encode() + b"." + ts.encode() + b"." + body,
                                     hashlib.sha256).digest()).decode()
    for part in sig.split(" "):
        ver, _, value = part.partition(",")
        if ver == "v1" and hmac.compare_digest(value, want):
            return "ok"
    return "signature mismatch"


def plan(n):
    """What to do with request number n (0-based): 200, 500 or 'hang'."""
    if not ARGS.script:
        return 200
    for step in ARGS.script.split(","):
        what, _, times = step.partition(":")
        if not times:
            return "hang" if what == "hang" else int(what)
        if n < int(times):
            return "hang" if what == "hang" else int(what)
        n -= int(times)
    return 200


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        t0 = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with LOCK:
            n = COUNT[0]
            COUNT[0] += 1
        what = plan(n)
        if what == "hang":
            with LOCK, open(ARGS.log + ".hang", "a") as f:
                f.write("%f\n" % t0)  # the test's signal that a request is being held
            # Held until the test releases it (or a minute passes).
            while not os.path.exists(ARGS.release) and time.time() - t0 < 60:
                time.sleep(0.05)
            what = 200
        rec = {"t0": t0, "t1": time.time(), "n": n, "reply": what, "path": self.path,
               "id": self.headers.get("webhook-id"), "ts": self.headers.get("webhook-timestamp"),
               "sig": verify(self.headers, body) if KEY else "unsigned",
               "body": body.decode("utf-8", "replace")}
        # Logged before the answer: a delivery the sender saw succeed is always in the log.
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        try:
            self.send_response(what)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the sender timed out and went away


def main():
    global ARGS, KEY
    p = argparse.ArgumentParser()
    p.add_argument("--secret-file")
    p.add_argument("--log", required=True)
    p.add_argument("--script")
    p.add_argument("--release", default="/nonexistent")
    ARGS = p.parse_args()
    if ARGS.secret_file:
        s = open(ARGS.secret_file).read().strip()
        KEY = base64.b64decode(s[6:] if s.startswith("whsec_") else s)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.read()  # until the test closes our stdin
    srv.shutdown()


if __name__ == "__main__":
    main()
