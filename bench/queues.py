#!/usr/bin/env python3
"""bench/queues.py - the queue backends side by side, in one run.

For SQLite (a temporary file) and, when BENCH_PG_URI names one (bench/queues.sh
starts a private server), PostgreSQL:
  - idle submit -> PNG latency, p50 and p99: one job at a time (one 100x100
    frame, 20 stations, "model": "exponential"; then again with the default
    model, whose fit of every candidate is part of the render) sent to `krigd listen` while a drain (poll fallback
    ten minutes) idles; from the ok reply to the PNG's mtime (renamed into
    place after fsync, so its mtime is when it became visible);
  - drain jobs/s for BENCH_TINY tiny jobs (one 32x32 frame each), queued
    first, then 1, 2 and 4 `krigd drain` processes (1 worker, 1 thread each)
    started together with --exit-when-idle: jobs / (last PNG - start).
Everything is read from the output directory, so both backends are timed
the same way.  Ratios are PostgreSQL / SQLite of this run.
"""
import json, math, os, random, shutil, socket, statistics, subprocess, sys, tempfile, time

KRIGD = os.environ.get("KRIGD", "./krigd")
PG = os.environ.get("BENCH_PG_URI", "")
N_IDLE = int(os.environ.get("BENCH_IDLE", "40"))
N_TINY = int(os.environ.get("BENCH_TINY", "200"))
RUN = [0]


def square(lon0=113.9, lat0=22.5, dlon=0.1):
    dlat = dlon * math.cos(math.radians(lat0))
    return [[[lon0, lat0], [lon0 + dlon, lat0], [lon0 + dlon, lat0 + dlat], [lon0, lat0 + dlat]]], dlat


def job(i, rng, width, model="exponential"):
    """One frame of 20 random stations.  The variogram model is named
    (exponential, the default when the goals were set) so the figures time
    the queue; model=None leaves the default ("auto": every candidate fitted)."""
    ring, dlat = square()
    pts = [{"longitude": 113.9 + 0.1 * rng.random(), "latitude": 22.5 + dlat * rng.random(),
            "value_air": round(40 + 30 * rng.random(), 1)} for _ in range(20)]
    j = {"index": "pm25", "boundary": ring, "width": width, "key": "bench-%d-%d" % (RUN[0], i),
         "frames": [{"pubtime": "t%d" % i, "points": pts}]}
    if model:
        j["model"] = model
    return j


def wait_for(pred, secs, what):
    end = time.time() + secs
    while not pred():
        if time.time() > end:
            sys.exit("bench/queues: timed out waiting for " + what)
        time.sleep(0.002)


def pngs(out):
    found = []
    for root, _, files in os.walk(out):
        found += [os.path.join(root, f) for f in files if f.endswith(".png")]
    return found


def fresh(backend, d):
    """A new, empty queue: a file, or a schema of its own on the server."""
    RUN[0] += 1
    if backend == "sqlite":
        return os.path.join(d, "q.db")
    schema = "bench_%d_%d" % (os.getpid(), RUN[0])
    subprocess.run(["psql", PG, "-X", "-q", "-c", "CREATE SCHEMA " + schema], check=True)
    return PG + ("&" if "?" in PG else "?") + "options=-c%20search_path%3D" + schema


class Daemons:
    def __init__(self):
        self.procs = []

    def start(self, *args, **kw):
        p = subprocess.Popen([KRIGD] + list(args), stderr=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            p.wait()


def client(sock, tag):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind("\0krigd-bench-%s-%d" % (tag, os.getpid()))
    c.settimeout(30)
    return c


def send(c, sock, trig):
    c.sendto(json.dumps(trig).encode(), sock)
    r = json.loads(c.recv(65536))
    if not r.get("ok"):
        sys.exit("bench/queues: refused: %s" % r)
    return r["jobs"][0]


def idle_latency(backend, model="exponential"):
    d = tempfile.mkdtemp(prefix="bench-queues.", dir=".")
    db, sock, out = fresh(backend, d), os.path.join(d, "s.sock"), os.path.join(d, "out")
    ds = Daemons()
    try:
        ds.start("listen", "--db", db, "--socket", sock)
        wait_for(lambda: os.path.exists(sock), 30, "the socket")
        ds.start("drain", "--db", db, "--out", out, "--threads", "1", "--no-callbacks", "--poll-fallback", "600000")
        rng = random.Random(13)
        c = client(sock, "idle")
        send(c, sock, job(-1, rng, 100, model))  # the drain is up and has rendered once
        wait_for(lambda: len(pngs(out)) == 1, 60, "the first PNG")
        lat = []
        for i in range(N_IDLE):
            time.sleep(0.1 + 0.2 * rng.random())  # idle again, at a random phase
            send(c, sock, job(i, rng, 100, model))
            t_ack = time.time()
            wait_for(lambda: len(pngs(out)) == i + 2, 60, "job %d" % i)
            newest = max(pngs(out), key=os.path.getmtime)
            lat.append(os.path.getmtime(newest) - t_ack)
    finally:
        ds.stop()
        shutil.rmtree(d)
    lat.sort()
    return statistics.median(lat), lat[min(len(lat) - 1, int(0.99 * len(lat)))]


def drain_rate(backend, procs):
    d = tempfile.mkdtemp(prefix="bench-queues.", dir=".")
    db, sock, out = fresh(backend, d), os.path.join(d, "s.sock"), os.path.join(d, "out")
    ds = Daemons()
    try:
        ds.start("listen", "--db", db, "--socket", sock)
        wait_for(lambda: os.path.exists(sock), 30, "the socket")
        rng = random.Random(7)
        c = client(sock, "tiny")
        acked, sent = 0, 0
        while acked < N_TINY:  # 8 in flight
            while sent < N_TINY and sent - acked < 8:
                c.sendto(json.dumps(job(sent, rng, 32)).encode(), sock)
                sent += 1
            r = json.loads(c.recv(65536))
            if not r.get("ok"):
                sys.exit("bench/queues: refused: %s" % r)
            acked += 1
        t0 = time.time()
        drains = [ds.start("drain", "--db", db, "--out", out, "--workers", "1", "--threads", "1", "--exit-when-idle",
                           "--no-callbacks") for _ in range(procs)]
        for p in drains:
            p.wait(timeout=1200)
        files = pngs(out)
        span = max(os.path.getmtime(f) for f in files) - t0 if files else float("nan")
    finally:
        ds.stop()
        shutil.rmtree(d)
    return len(files), len(files) / span


def main():
    if not os.access(KRIGD, os.X_OK):
        sys.exit("bench/queues: build first (make)")
    backends = ["sqlite"] + (["postgresql"] if PG else [])
    load = os.getloadavg()
    print("krigd queues side by side: %s; %d cores, load average %.1f %.1f %.1f at the start"
          % (", ".join(backends), os.cpu_count(), *load))
    res = {}
    for b in backends:
        res[b, "idle"] = idle_latency(b)
        res[b, "idle-auto"] = idle_latency(b, None)
        for procs in (1, 2, 4):
            res[b, procs] = drain_rate(b, procs)
    cols = "%-44s" + " %14s" * len(backends) + ("  %10s" if PG else "")
    print(cols % (("",) + tuple(backends) + (("PG/SQLite",) if PG else ())))

    def row(name, vals, fmt):
        ratio = (("%.2fx" % (vals[1] / vals[0]) if vals[0] > 0 else "-"),) if PG else ()
        print(cols % ((name,) + tuple(fmt % v for v in vals) + ratio))
    row("idle submit -> PNG p50 (goal <= 5 ms)", [res[b, "idle"][0] * 1e3 for b in backends], "%.1f ms")
    row("idle submit -> PNG p99 (goal <= 20 ms)", [res[b, "idle"][1] * 1e3 for b in backends], "%.1f ms")
    row("... the same, default model (auto fit) p50", [res[b, "idle-auto"][0] * 1e3 for b in backends], "%.1f ms")
    row("... the same, default model (auto fit) p99", [res[b, "idle-auto"][1] * 1e3 for b in backends], "%.1f ms")
    for procs in (1, 2, 4):
        row("drain jobs/s, %d tiny jobs, %d drain process%s" % (N_TINY, procs, "es" if procs > 1 else ""),
            [res[b, procs][1] for b in backends], "%.1f")
    for b in backends:
        for procs in (1, 2, 4):
            if res[b, procs][0] != N_TINY:
                print("warning: %s with %d drains rendered %d of %d" % (b, procs, res[b, procs][0], N_TINY))
    print("load average %.1f %.1f %.1f at the end" % os.getloadavg())


if __name__ == "__main__":
    main()
