#!/usr/bin/env python3
"""tests/lib/flaky_source.py - an HTTP source (protocol in src/source/source.h) whose
rows misbehave on purpose, for tests/fault/fault-source-flaky.test.

Rows are taken from a SQLite file in the seed's shape (--db); the row's
behaviour is chosen by its id: ids 100-199 answer HTTP 500 to the first two
GETs of the row and then the row; ids 200-299 always answer 500; every other
id is served normally.  PUT .../img_list is stored back into the SQLite file.
Port on stdout when ready; exits when stdin closes.  Each GET is logged as
"ID STATUS" lines to --log."""
import argparse
import json
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
GETS = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        db = sqlite3.connect(ARGS.db)
        if len(parts) == 1:
            ids = [r[0] for r in db.execute("SELECT id_num FROM kriging_img WHERE img_list IS NULL ORDER BY id_num")]
            return self.reply(200, ids)
        rid = int(parts[1])
        with LOCK:
            GETS[rid] = GETS.get(rid, 0) + 1
            n = GETS[rid]
        status = 200
        if 100 <= rid < 200 and n <= 2:
            status = 500
        elif 200 <= rid < 300:
            status = 500
        with LOCK, open(ARGS.log, "a") as f:
            f.write("%d %d\n" % (rid, status))
        if status != 200:
            return self.reply(status, {"error": "flaky"})
        row = db.execute("SELECT map_index, ret_data FROM kriging_img WHERE id_num = ?", (rid,)).fetchone()
        if not row:
            return self.reply(404, {"error": "no such row"})
        self.reply(200, {"id_num": rid, "map_index": row[0], "ret_data": row[1]})

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
        db = sqlite3.connect(ARGS.db)
        with LOCK:
            db.execute("UPDATE kriging_img SET img_list = ? WHERE id_num = ?", (body, int(parts[1])))
            db.commit()
        self.reply(204)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--log", required=True)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.read()
    srv.shutdown()


if __name__ == "__main__":
    main()
