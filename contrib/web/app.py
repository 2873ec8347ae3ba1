#!/usr/bin/env python3
"""contrib/web/app.py - the browser path: a web page that asks krigd for maps.

In the original deployment a browser asked a Python web app for a map and the
app pinged the renderer over its Unix socket.  This is that path, working:

  page --POST /api/draw--> app --trigger datagram--> krigd listen --> queue
  page <--SSE /events---- app <--signed callback---- krigd drain  <--+
                          app --krigd show --json--> (pending, running)

The app lists the source rows and recent jobs, sends an inline trigger (or
{"source_id": N}) with "grid": true and a callback to itself, verifies the
callback's Standard Webhooks signature, pushes every state change to the page
as Server-Sent Events and serves the PNGs, the district outline and the
kriged grid (.asc, as JSON) for the hover read-out.  Standard library only;
it binds 127.0.0.1 and needs no network beyond it.

    app.py --krigd ./krigd --db Q.db --socket S --out DIR --source SRC.db \
           --boundary nanshan.geojson --secret-file callback.secret [--port N]

contrib/web/run.sh starts krigd serve on the sample source and this app.
"""
import argparse
import base64
import collections
import hashlib
import hmac
import importlib.util
import json
import mimetypes
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = os.path.join(HERE, 'static')
FINISHED = ('done', 'dead', 'cancelled')
MAX_BODY = 1 << 20          # a callback or a draw request; both are small
SIGNATURE_TOLERANCE = 300   # seconds, as the Standard Webhooks libraries use

# HJ 633-2012 levels, as src/image/palette.h documents them: upper bounds (inclusive)
# of levels 1..5 per index, and the unit.  The page draws the legend from this.
HJ633 = {
    'aqi': ('', [50, 100, 150, 200, 300]),
    'pm25': ('µg/m³', [35, 75, 115, 150, 250]),
    'pm10': ('µg/m³', [50, 150, 250, 350, 420]),
    'so2': ('µg/m³', [150, 500, 650, 800, 1600]),
    'no2': ('µg/m³', [100, 200, 700, 1200, 2340]),
    'co': ('mg/m³', [5, 10, 35, 60, 90]),
    'o3': ('µg/m³', [160, 200, 300, 400, 800]),
    'so2_24h': ('µg/m³', [50, 150, 475, 800, 1600]),
    'no2_24h': ('µg/m³', [40, 80, 180, 280, 565]),
    'co_24h': ('mg/m³', [2, 4, 14, 24, 36]),
    'o3_8h': ('µg/m³', [100, 160, 215, 265, 800]),
}
HJ633_COLOURS = [(0, 228, 0), (255, 255, 0), (255, 126, 0), (255, 0, 0), (153, 0, 76), (126, 0, 35)]
HJ633_NAMES = ['Excellent', 'Good', 'Lightly polluted', 'Moderately polluted', 'Heavily polluted',
               'Severely polluted']


def load_submit():
    """contrib/krigd-submit.py's submit(): bind, send, wait for the reply, retry with a key."""
    path = os.path.join(HERE, '..', 'krigd-submit.py')
    spec = importlib.util.spec_from_file_location('krigd_submit', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def palette_for(index):
    key = (index or '').lower().replace('pm2.5', 'pm25').replace('pm2_5', 'pm25')
    if key not in HJ633:
        return {'index': index, 'levels': None}
    unit, bounds = HJ633[key]
    levels, lo = [], 0
    for i, rgb in enumerate(HJ633_COLOURS):
        hi = bounds[i] if i < len(bounds) else None
        levels.append({'level': i + 1, 'from': lo, 'to': hi, 'rgb': list(rgb), 'name': HJ633_NAMES[i]})
        lo = hi
    return {'index': index, 'unit': unit, 'levels': levels}


def load_secret(path):
    """The key of a whsec_<base64> secret (a bare base64 string works too)."""
    with open(path) as f:
        s = f.read().strip()
    if s.startswith('whsec_'):
        s = s[len('whsec_'):]
    return base64.b64decode(s, validate=True)


def verify_webhook(key, headers, body, now=None):
    """Standard Webhooks: HMAC-SHA256(key, "id.timestamp.body"), base64, in a
    space-separated list of "v1,<sig>".  Returns None if it verifies, else why not."""
    msg_id = headers.get('webhook-id')
    ts = headers.get('webhook-timestamp')
    sigs = headers.get('webhook-signature')
    if not msg_id or not ts or not sigs:
        return 'missing webhook-id, webhook-timestamp or webhook-signature'
    try:
        t = int(ts)
    except ValueError:
        return 'bad webhook-timestamp'
    now = time.time() if now is None else now
    if abs(now - t) > SIGNATURE_TOLERANCE:
        return 'webhook-timestamp too far from now'
    mac = hmac.new(key, msg_id.encode() + b'.' + ts.encode() + b'.' + body, hashlib.sha256).digest()
    want = base64.b64encode(mac).decode()
    for s in sigs.split():
        version, _, sig = s.partition(',')
        # bytes: compare_digest refuses a str with non-ASCII characters,
        # and one odd entry must not hide a valid one after it
        if version == 'v1' and hmac.compare_digest(sig.encode('utf-8', 'replace'), want.encode()):
            return None
    return 'no matching v1 signature'


def read_asc(path):
    """An Esri ASCII grid as {ncols, nrows, xll, yll, dx, dy, values (row-major,
    north row first, None outside)}.  Values are rounded to 0.001 to keep the
    JSON small; the read-out shows one decimal."""
    head = {}
    with open(path) as f:
        while len(head) < 7:
            k, v = f.readline().split()
            head[k.lower()] = v
        nodata = float(head.get('nodata_value', '-9999'))
        values = []
        for line in f:
            for tok in line.split():
                v = float(tok)
                values.append(None if v == nodata else round(v, 3))
    ncols, nrows = int(head['ncols']), int(head['nrows'])
    dx = float(head.get('dx', head.get('cellsize', 0)))
    dy = float(head.get('dy', head.get('cellsize', 0)))
    if len(values) != ncols * nrows:
        raise ValueError('%s: %d values for %d x %d cells' % (path, len(values), ncols, nrows))
    return {'ncols': ncols, 'nrows': nrows, 'xll': float(head['xllcorner']), 'yll': float(head['yllcorner']),
            'dx': dx, 'dy': dy, 'values': values}


class Hub:
    """Fan-out of events to every open /events stream, plus the last event per job."""

    def __init__(self):
        self.lock = threading.Lock()
        self.subs = set()
        self.last = collections.OrderedDict()

    def subscribe(self):
        q = queue.Queue(maxsize=1000)
        with self.lock:
            self.subs.add(q)
        return q

    def unsubscribe(self, q):
        with self.lock:
            self.subs.discard(q)

    def publish(self, ev):
        with self.lock:
            job = ev.get('job')
            if job is not None:
                prev = self.last.get(job, {})
                self.last[job] = dict(prev, **ev)
                while len(self.last) > 200:
                    self.last.popitem(last=False)
            for q in list(self.subs):
                try:
                    q.put_nowait(ev)
                except queue.Full:  # a stalled page loses events, never the app
                    pass

    def state_of(self, job):
        with self.lock:
            return dict(self.last.get(job, {}))


class App:
    def __init__(self, a):
        self.a = a
        self.key = load_secret(a.secret_file)
        self.submit_mod = load_submit()
        self.hub = Hub()
        self.watch = {}            # job id -> last state seen by the poller
        self.watch_lock = threading.Lock()
        self.grid_cache = collections.OrderedDict()
        self.grid_lock = threading.Lock()
        self.port = None
        self.stop = threading.Event()

    # -- krigd ------------------------------------------------------------
    def krigd(self, *args):
        p = subprocess.run([self.a.krigd] + list(args), capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError('krigd %s: %s' % (args[0], p.stderr.strip() or 'exit %d' % p.returncode))
        return p.stdout

    def show(self, job):
        return json.loads(self.krigd('show', '--db', self.a.db, '--json', str(int(job))))

    def jobs(self, limit=20):
        out = json.loads(self.krigd('jobs', '--db', self.a.db, '--json', '--limit', str(limit)))
        for j in out:
            j.update(self.describe_payload(j.get('payload')))
            j.pop('payload', None)
            j.pop('result', None)
        return out

    @staticmethod
    def describe_payload(payload):
        try:
            p = json.loads(payload or 'null')
        except ValueError:
            p = None
        if not isinstance(p, dict):
            return {'index': None, 'times': []}
        frames = p.get('frames') or []
        return {'index': p.get('index'), 'times': [f.get('pubtime') for f in frames if isinstance(f, dict)],
                'source_id': p.get('source_id')}

    # -- source rows ------------------------------------------------------
    def source_rows(self, row_id=None):
        con = sqlite3.connect('file:%s?mode=ro' % urllib.parse.quote(self.a.source), uri=True, timeout=5)
        try:
            if row_id is None:
                cur = con.execute('SELECT id_num, map_index, ret_data, img_list FROM kriging_img ORDER BY id_num')
            else:
                cur = con.execute('SELECT id_num, map_index, ret_data, img_list FROM kriging_img WHERE id_num = ?',
                                  (int(row_id),))
            rows = []
            for rid, index, ret, img in cur:
                try:
                    frames = json.loads(ret or '[]')
                except ValueError:
                    frames = []
                rows.append({'id': rid, 'index': index, 'rendered': img is not None,
                             'frames': [{'pubtime': f.get('pubtime'),
                                         'points': f.get('time_data', f.get('points', []))} for f in frames]})
            return rows
        finally:
            con.close()

    # -- a job as the page needs it --------------------------------------
    def job_view(self, job):
        j = self.show(job)
        p = {}
        try:
            p = json.loads(j.get('payload') or '{}')
        except ValueError:
            pass
        if not isinstance(p, dict):
            p = {}
        index, frames = p.get('index'), p.get('frames')
        if frames is None and p.get('source_id') is not None:
            rows = self.source_rows(p['source_id'])
            if rows:
                index, frames = rows[0]['index'], rows[0]['frames']
        frames = frames or []
        result = j.get('result') or {}
        images = result.get('images') or {}
        files = result.get('files') or {}
        view = []
        for f in frames:
            if not isinstance(f, dict):
                continue
            t = f.get('pubtime')
            rel = images.get(t)
            pts = f.get('points', f.get('time_data', [])) or []
            view.append({'pubtime': t,
                         'image': '/images/' + urllib.parse.quote(rel) if rel else None,
                         'grid': '/api/grid?path=' + urllib.parse.quote(rel[:-4] + '.asc')
                         if rel and rel.endswith('.png') and os.path.exists(self.out_path(rel[:-4] + '.asc'))
                         else None,
                         'isobands': '/api/isobands?path=' + urllib.parse.quote(files[t]['isobands'])
                         if isinstance(files.get(t), dict) and isinstance(files[t].get('isobands'), str) else None,
                         'points': [{'lon': q.get('longitude'), 'lat': q.get('latitude'), 'value': q.get('value_air')}
                                    for q in pts if isinstance(q, dict)]})
        seen = self.hub.state_of(int(job))
        return {'job': j['id'], 'state': j['state'], 'kind': j.get('kind'), 'attempts': j.get('attempts'),
                'last_error': j.get('last_error'), 'index': index, 'bbox': result.get('bbox'),
                'variogram': result.get('variogram'), 'stations': result.get('stations'),
                'frames': view, 'source_id': j.get('source_id'),
                'callback': seen.get('callback')}

    def out_path(self, rel):
        """rel (relative to --out) as a path that cannot leave --out."""
        root = os.path.realpath(self.a.out)
        p = os.path.realpath(os.path.join(root, rel))
        if not p.startswith(root + os.sep):
            raise PermissionError(rel)
        return p

    def grid(self, rel):
        if not rel.endswith('.asc'):
            raise PermissionError(rel)
        path = self.out_path(rel)
        with self.grid_lock:
            if rel in self.grid_cache:
                self.grid_cache.move_to_end(rel)
                return self.grid_cache[rel]
        body = json.dumps(read_asc(path), separators=(',', ':')).encode()
        with self.grid_lock:
            self.grid_cache[rel] = body
            while len(self.grid_cache) > 16:
                self.grid_cache.popitem(last=False)
        return body

    # -- draw -------------------------------------------------------------
    def draw(self, req):
        """Build and send a trigger for one source row: all its frames or one
        pubtime, optionally only the first N stations of each frame (so a
        person, or a test, can see what a frame that cannot be kriged does)."""
        if not isinstance(req, dict):
            raise ValueError('expected a JSON object')
        rows = self.source_rows(req.get('source_id'))
        if not rows:
            raise ValueError('no source row %r' % req.get('source_id'))
        row = rows[0]
        callback = 'http://127.0.0.1:%d/callback' % self.port
        width = int(req.get('width') or self.a.width)
        if req.get('mode') == 'source_id':
            trigger = {'source_id': row['id']}
        else:
            frames = row['frames']
            if req.get('pubtime'):
                frames = [f for f in frames if f['pubtime'] == req['pubtime']]
                if not frames:
                    raise ValueError('row %d has no frame at %s' % (row['id'], req['pubtime']))
            n = req.get('stations')
            if n not in (None, ''):
                frames = [dict(f, points=f['points'][:max(0, int(n))]) for f in frames]
            trigger = {'index': row['index'], 'boundary': self.a.boundary_name,
                       'frames': [{'pubtime': f['pubtime'], 'points': f['points']} for f in frames]}
        trigger.update({'callback': callback, 'outputs': ['png', 'grid', 'isobands'], 'width': width, 'req': 'web'})
        if req.get('colors'):
            trigger['colors'] = str(req['colors'])  # krigd refuses what it does not know
        payload = self.submit_mod.Trigger(json.dumps(trigger, separators=(',', ':')))
        try:
            ids = self.submit_mod.submit(self.a.socket, payload, wait_ms=5000, retries=2)
        except self.submit_mod.SubmitError as e:
            raise ValueError('krigd refused the trigger: %s' % e)
        except self.submit_mod.OutcomeUnknown as e:
            raise ValueError('krigd did not answer whether it took the trigger (%s); send it again with key %s'
                             % (e, e.key))
        for j in ids:
            self.watch_job(j)
        return ids

    # -- progress ---------------------------------------------------------
    def watch_job(self, job):
        with self.watch_lock:
            self.watch.setdefault(int(job), None)

    def poller(self):
        """pending -> running (and a finish, should a callback be slow) come
        from `krigd show --json`; done/dead also come signed by the callback."""
        while not self.stop.wait(0.2):
            with self.watch_lock:
                jobs = list(self.watch.items())
            for job, seen in jobs:
                try:
                    j = self.show(job)
                except Exception as e:  # krigd busy or gone: try again next round
                    print('krigd-web: show %d: %s' % (job, e), file=sys.stderr)
                    continue
                if j['state'] != seen:
                    self.hub.publish({'job': job, 'state': j['state'], 'via': 'poll', 'attempts': j.get('attempts'),
                                      'error': j.get('last_error')})
                with self.watch_lock:
                    if j['state'] in FINISHED:
                        self.watch.pop(job, None)
                    else:
                        self.watch[job] = j['state']

    def callback(self, headers, body):
        why = verify_webhook(self.key, headers, body)
        if why:
            print('krigd-web: callback refused: %s' % why, file=sys.stderr)
            return 401, why
        ev = json.loads(body)
        self.hub.publish({'job': ev.get('job'), 'state': ev.get('state'), 'via': 'callback',
                          'callback': 'verified', 'error': ev.get('error'), 'attempts': ev.get('attempts'),
                          'webhook_id': headers.get('webhook-id')})
        return 200, 'ok'


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        server_version = 'krigd-web/1'
        # A client that sends half a request (or nothing) must not hold a
        # thread for ever; /events writes at least every 10 s.
        timeout = 60

        def log_message(self, fmt, *args):
            if app.a.verbose:
                sys.stderr.write('krigd-web: %s\n' % (fmt % args))

        def send(self, code, body, ctype='application/json', extra=None):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(code)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Cache-Control', 'no-store')
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)

        def send_json(self, obj, code=200):
            self.send(code, json.dumps(obj, separators=(',', ':')))

        def body(self):
            n = int(self.headers.get('Content-Length') or 0)
            if n < 0 or n > MAX_BODY:
                raise ValueError('request body too large')
            return self.rfile.read(n)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query)
            try:
                if u.path in ('/', '/index.html'):
                    return self.static('index.html')
                if u.path.startswith('/static/'):
                    return self.static(u.path[len('/static/'):])
                if u.path == '/events':
                    if self.command == 'HEAD':
                        return self.send(200, b'', 'text/event-stream')
                    return self.events()
                if u.path == '/api/sources':
                    return self.send_json([dict(r, frames=[{'pubtime': f['pubtime'], 'stations': len(f['points'])}
                                                           for f in r['frames']]) for r in app.source_rows()])
                if u.path == '/api/jobs':
                    return self.send_json(app.jobs())
                if u.path.startswith('/api/job/'):
                    job = int(u.path[len('/api/job/'):])
                    v = app.job_view(job)
                    if v['state'] not in FINISHED:
                        app.watch_job(job)
                    return self.send_json(v)
                if u.path == '/api/boundary':
                    with open(app.a.boundary, 'rb') as f:
                        return self.send(200, f.read(), 'application/geo+json')
                if u.path == '/api/palette':
                    return self.send_json(palette_for(q.get('index', [''])[0]))
                if u.path == '/api/grid':
                    return self.send(200, app.grid(q.get('path', [''])[0]))
                if u.path == '/api/isobands':
                    rel = q.get('path', [''])[0]
                    if not rel.endswith('.geojson'):
                        raise PermissionError(rel)
                    with open(app.out_path(rel), 'rb') as f:
                        return self.send(200, f.read(), 'application/geo+json')
                if u.path.startswith('/images/'):
                    rel = urllib.parse.unquote(u.path[len('/images/'):])
                    if not rel.endswith('.png'):
                        raise PermissionError(rel)
                    with open(app.out_path(rel), 'rb') as f:
                        return self.send(200, f.read(), 'image/png')
                return self.send_json({'error': 'not found'}, 404)
            except (FileNotFoundError, PermissionError):
                return self.send_json({'error': 'not found'}, 404)
            except (ValueError, RuntimeError) as e:
                return self.send_json({'error': str(e)}, 400)
            except (subprocess.SubprocessError, sqlite3.Error) as e:
                return self.send_json({'error': 'krigd or the source is busy: %s' % e}, 503)

        do_HEAD = do_GET

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            try:
                body = self.body()
                if u.path == '/callback':
                    code, msg = app.callback({k.lower(): v for k, v in self.headers.items()}, body)
                    return self.send_json({'ok': code == 200, 'message': msg}, code)
                if u.path == '/api/draw':
                    ids = app.draw(json.loads(body or b'{}'))
                    return self.send_json({'ok': True, 'jobs': ids})
                return self.send_json({'error': 'not found'}, 404)
            except (ValueError, TypeError, KeyError) as e:
                return self.send_json({'ok': False, 'error': str(e)}, 400)
            except (subprocess.SubprocessError, sqlite3.Error, OSError) as e:
                return self.send_json({'ok': False, 'error': 'krigd or the source is busy: %s' % e}, 503)

        def static(self, name):
            path = os.path.realpath(os.path.join(STATIC, name))
            if not path.startswith(os.path.realpath(STATIC) + os.sep) or not os.path.isfile(path):
                raise FileNotFoundError(name)
            ctype = mimetypes.guess_type(path)[0] or 'application/octet-stream'
            if ctype.startswith('text/') or ctype.endswith('javascript'):
                ctype += '; charset=utf-8'
            with open(path, 'rb') as f:
                self.send(200, f.read(), ctype)

        def events(self):
            """Server-Sent Events: every state change of every job, until the page goes."""
            self.send_response(200)
            self.send_header('Content-Type', 'text/event-stream')
            self.send_header('Cache-Control', 'no-store')
            self.end_headers()
            q = app.hub.subscribe()
            try:
                self.wfile.write(b'retry: 1000\n: hello\n\n')
                self.wfile.flush()
                while not app.stop.is_set():
                    try:
                        ev = q.get(timeout=10)
                        data = 'event: job\ndata: %s\n\n' % json.dumps(ev, separators=(',', ':'))
                    except queue.Empty:
                        data = ': keep-alive\n\n'
                    self.wfile.write(data.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                app.hub.unsubscribe(q)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--krigd', required=True, help='the krigd binary (for show and jobs)')
    ap.add_argument('--db', required=True, help="krigd's queue database")
    ap.add_argument('--socket', required=True, help="krigd listen's socket")
    ap.add_argument('--out', required=True, help="krigd drain's --out directory")
    ap.add_argument('--source', required=True, help='the source database (table kriging_img)')
    ap.add_argument('--boundary', required=True, help='the district outline (GeoJSON) drawn on the page')
    ap.add_argument('--boundary-name', default=None,
                    help="the boundary's name in krigd's --boundary-dir (default: the file's base name)")
    ap.add_argument('--secret-file', required=True, help='the whsec_ secret krigd signs callbacks with')
    ap.add_argument('--port', type=int, default=8080, help='0 picks a free port')
    ap.add_argument('--width', type=int, default=600, help='image width asked for (pixels)')
    ap.add_argument('--verbose', action='store_true', help='log every request')
    a = ap.parse_args()
    if a.boundary_name is None:
        a.boundary_name = os.path.splitext(os.path.basename(a.boundary))[0]
    app = App(a)
    try:
        srv = ThreadingHTTPServer(('127.0.0.1', a.port), make_handler(app))
    except OSError as e:
        print('krigd-web: cannot listen on 127.0.0.1:%d: %s (--port 0 picks a free port)' % (a.port, e.strerror),
              file=sys.stderr)
        return 1
    srv.daemon_threads = True
    app.port = srv.server_address[1]
    threading.Thread(target=app.poller, daemon=True).start()

    def stop(*_):
        app.stop.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print('krigd web demo: http://127.0.0.1:%d/' % app.port, flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
