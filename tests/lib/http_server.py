#!/usr/bin/env python3
"""tests/lib/http_server.py - the HTTP peer of tests/callback/test_callback and tests/test_source.

Listens on 127.0.0.1, port chosen by the kernel, and writes that port and a
newline on stdout once it accepts connections (the tests' readiness signal).
It exits when its stdin reaches end of file, so it never outlives the test
that started it.  Everything it checks, it checks on its own: the Standard
Webhooks signature is recomputed here with Python's hmac, not with krigd's
code.

Callback routes (POST):  /ok /signed /nosig /fail /redirect /retry-secs
  /retry-date /hang /big /bigstream
Source routes: GET /src (ids without img_list), GET /src/ID,
  PUT /src/ID/img_list; GET /srcstr/ID (ret_data as a string); /badrow/ID
  (ret_data malformed); /src500/...; /garbage/...; /bigsrc/...
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = None  # bytes, the decoded whsec_ key, when --secret-file is given


def frames(shift):
    pts = [{"longitude": 113.90 + 0.02 * i, "latitude": 22.50 + 0.015 * (i % 3),
            "value_air": 30.0 + shift + 2.5 * i} for i in range(5)]
    return [{"pubtime": "2024-01-01 0%d:00:00" % h, "time_data": pts} for h in (1, 2)]


ROWS = {1: {"map_index": "pm25", "ret_data": frames(0), "img_list": None},
        2: {"map_index": "aqi", "ret_data": frames(10), "img_list": None},
        3: {"map_index": "pm10", "ret_data": frames(20), "img_list": None}}
LOCK = threading.Lock()


def verify(headers, body):
    """The Standard Webhooks check, written from the specification."""
    mid, ts, sig = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not mid or not ts or not sig:
        return "missing webhook headers"
    if headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return "content-type is not application/json"
    if abs(time.time() - int(ts)) > 300:
        return "timestamp not fresh"
    try:
        json.loads(body)
    except ValueError:
        return "body is not JSON"
    want = base64.b64encode(hmac.new(SECRET, b"%s.%s.%s" % (mid.encode(), ts.encode(), body),
                                     hashlib.sha256).digest()).decode()
    for part in sig.split(" "):
        ver, _, value = part.partition(",")
        if ver == "v1" and hmac.compare_digest(value, want):
            return None
    return "signature mismatch"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close-delimited bodies when no Content-Length

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("content-length", "0"))
        return self.rfile.read(n) if n else b""

    def stream(self, nbytes):
        """A 200 without Content-Length: only the client's cap can stop it."""
        self.send_response(200)
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(nbytes // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        p, body = self.path, self.body()
        if p == "/ok":
            self.reply(200, b"ok")
        elif p == "/signed":
            why = verify(self.headers, body) if SECRET else "server has no secret"
            self.reply(401 if why else 200, (why or "verified").encode())
        elif p == "/nosig":
            ok = "webhook-signature" not in self.headers and "webhook-id" in self.headers
            self.reply(200 if ok else 400)
        elif p == "/fail":
            self.reply(500, b"boom")
        elif p == "/redirect":
            self.reply(302, b"", [("Location", "/ok")])
        elif p == "/retry-secs":
            self.reply(503, b"", [("Retry-After", "120")])
        elif p == "/retry-date":
            self.reply(429, b"", [("Retry-After", email.utils.formatdate(time.time() + 300, usegmt=True))])
        elif p == "/hang":
            time.sleep(60)
        elif p == "/big":
            self.reply(200, b"y" * (1 << 20))
        elif p == "/bigstream":
            self.stream(4 << 20)
        else:
            self.reply(404)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        kind = parts[0]
        if kind == "src500":
            return self.reply(500, b"down")
        if kind == "garbage":
            return self.reply(200, b"<html>maintenance</html>")
        if kind == "bigsrc":
            return self.stream(4 << 20)
        if kind not in ("src", "srcstr", "badrow"):
            return self.reply(404)
        with LOCK:
            if len(parts) == 1:
                ids = [i for i, r in sorted(ROWS.items()) if r["img_list"] is None]
                return self.reply(200, json.dumps(ids).encode())
            try:
                rid = int(parts[1])
            except ValueError:
                return self.reply(400)
            row = ROWS.get(rid)
            if row is None:
                return self.reply(404, b"no such row")
            ret = row["ret_data"]
            if kind == "srcstr":
                ret = json.dumps(ret)
            elif kind == "badrow":
                ret = [{"pubtime": "t", "time_data": [{"longitude": 113.9, "value_air": 1}]}]
            out = {"id_num": rid, "map_index": row["map_index"], "ret_data": ret, "img_list": row["img_list"]}
        self.reply(200, json.dumps(out).encode(), [("Content-Type", "application/json")])

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        body = self.body()
        if len(parts) != 3 or parts[0] != "src" or parts[2] != "img_list":
            return self.reply(405)
        with LOCK:
            row = ROWS.get(int(parts[1]))
            if row is None:
                return self.reply(404)
            try:
                row["img_list"] = json.loads(body)
            except ValueError:
                return self.reply(400)
        self.reply(204, None)


def main():
    global SECRET
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret-file")
    args = ap.parse_args()
    if args.secret_file:
        with open(args.secret_file) as f:
            s = f.read().strip()
        SECRET = base64.b64decode(s[len("whsec_"):] if s.startswith("whsec_") else s)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    sys.stdin.read()  # end of file: the test is gone
    os._exit(0)


if __name__ == "__main__":
    main()
