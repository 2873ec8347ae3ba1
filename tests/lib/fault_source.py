#!/usr/bin/env python3
"""tests/lib/fault_source.py MODEFILE - an HTTP source (the protocol of
src/source/source.h) that misbehaves on demand, for tests/fault/fault-source.test.

Rows 1..50 exist.  Before answering any request it reads MODEFILE:
  ok       answer properly;
  hold     wait until MODEFILE says something else (at most 60 s), then
           act on that: a gate a test opens when it is ready;
  slow     wait 30 s before answering (past any sane time-out);
  reset    close the connection with a TCP reset, answering nothing;
  garbage  200 with a body that is not JSON;
  500      an HTTP 500.
Writes its port and a newline on stdout once listening; exits when its
stdin reaches end of file."""
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE_FILE = sys.argv[1]
IMG = {}


def row(i):
    pts = [{"longitude": 113.90 + 0.02 * k, "latitude": 22.50 + 0.015 * (k % 3),
            "value_air": 30.0 + i + 7.5 * k} for k in range(5)]
    return {"id_num": i, "map_index": "pm25",
            "ret_data": [{"pubtime": "2024-01-01 01:00:00", "time_data": pts}]}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def mode(self):
        try:
            return open(MODE_FILE).read().strip()
        except OSError:
            return "ok"

    def fault(self):
        mode = self.mode()
        deadline = time.monotonic() + 60
        while mode == "hold" and time.monotonic() < deadline:
            time.sleep(0.02)
            mode = self.mode()
        if mode == "slow":
            time.sleep(30)
        elif mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return True
        elif mode == "garbage":
            self.send(200, b"<html>502 Bad Gateway\x00\xff not json")
            return True
        elif mode == "500":
            self.send(500, b"oops")
            return True
        return False

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.fault():
            return
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts == ["src"]:
            self.send(200, json.dumps([i for i in range(1, 51) if i not in IMG]).encode())
        elif len(parts) == 2 and parts[0] == "src" and parts[1].isdigit() and 1 <= int(parts[1]) <= 50:
            self.send(200, json.dumps(row(int(parts[1]))).encode())
        else:
            self.send(404, b"")

    def do_PUT(self):
        if self.fault():
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) == 3 and parts[0] == "src" and parts[2] == "img_list":
            IMG[int(parts[1])] = body
            self.send(204, b"")
        else:
            self.send(404, b"")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
print(srv.server_address[1], flush=True)
sys.stdin.read()
