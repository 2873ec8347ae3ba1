#!/usr/bin/env python3
"""bench/e2e.py - end-to-end jobs per second through krigd listen + drain.

Each job: one 100x100 frame (a square district, 20 stations, exponential
model fitted).  A client sends BENCH_JOBS triggers over the socket (16 in
flight), recording when each ok reply arrives; latency is from that reply
to the PNG's mtime (the file is renamed into place after fsync, so its
mtime is when it became visible).  Run with 1 and 2 drain workers, one
kriging thread each.  Prints a table; run by `make bench` from the build tree.
"""
import json, math, os, random, shutil, socket, sqlite3, statistics, subprocess, sys, tempfile, time

KRIGD = os.environ.get("KRIGD", "./krigd")
N = int(os.environ.get("BENCH_JOBS", "300"))

def square(lon0=113.9, lat0=22.5, dlon=0.1):
    dlat = dlon * math.cos(math.radians(lat0))
    return [[[lon0, lat0], [lon0 + dlon, lat0], [lon0 + dlon, lat0 + dlat], [lon0, lat0 + dlat]]], dlat

def job(i, rng, ring, dlat):
    pts = [{"longitude": 113.9 + 0.1 * rng.random(), "latitude": 22.5 + dlat * rng.random(),
            "value_air": round(40 + 30 * rng.random(), 1)} for _ in range(20)]
    return {"index": "pm25", "boundary": ring, "width": 100, "key": "bench-%d" % i, "model": "exponential",
            "frames": [{"pubtime": "t%d" % i, "points": pts}]}

def wait_for(pred, secs, what):
    end = time.time() + secs
    while not pred():
        if time.time() > end:
            sys.exit("bench/e2e: timed out waiting for " + what)
        time.sleep(0.01)

def run(workers, procs=1):
    d = tempfile.mkdtemp(prefix="bench-e2e.", dir=".")
    db, sock, out = os.path.join(d, "q.db"), os.path.join(d, "s.sock"), os.path.join(d, "out")
    lis = subprocess.Popen([KRIGD, "listen", "--db", db, "--socket", sock], stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(sock), 20, "the socket")
    rng = random.Random(7)
    ring, dlat = square()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind("\0krigd-bench-%d" % os.getpid())
    c.settimeout(10)
    acked, sent = {}, 0
    # Drain starts after the queue is full, so jobs/s is the drain's rate.
    while len(acked) < N:
        while sent < N and sent - len(acked) < 8:
            c.sendto(json.dumps(job(sent, rng, ring, dlat)).encode(), sock)
            sent += 1
        r = json.loads(c.recv(65536))
        if not r.get("ok"):
            sys.exit("bench/e2e: refused: %s" % r)
        acked[r["jobs"][0]] = None
    t0 = time.time()
    for jid in acked:
        acked[jid] = t0
    drns = [subprocess.Popen([KRIGD, "drain", "--db", db, "--out", out, "--workers", str(workers), "--threads", "1",
                              "--exit-when-idle", "--no-callbacks"], stderr=subprocess.DEVNULL) for _ in range(procs)]
    for drn in drns:
        drn.wait(timeout=600)
    lis.terminate(); lis.wait()
    q = sqlite3.connect(db)
    done = q.execute("SELECT count(*) FROM jobs WHERE state='done'").fetchone()[0]
    mt = {}
    for jid, res in q.execute("SELECT id, result FROM jobs WHERE state='done'"):
        for rel in json.loads(res)["images"].values():
            mt[jid] = os.stat(os.path.join(out, rel)).st_mtime
    span = max(mt.values()) - t0
    # Latency: a second run with the drain already running, triggers paced.
    shutil.rmtree(d)
    return done, done / span if span > 0 else float("nan")

def latency(workers, n=100):
    d = tempfile.mkdtemp(prefix="bench-e2e.", dir=".")
    db, sock, out = os.path.join(d, "q.db"), os.path.join(d, "s.sock"), os.path.join(d, "out")
    lis = subprocess.Popen([KRIGD, "listen", "--db", db, "--socket", sock], stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(sock), 20, "the socket")
    drn = subprocess.Popen([KRIGD, "drain", "--db", db, "--out", out, "--workers", str(workers), "--threads", "1",
                            "--no-callbacks"], stderr=subprocess.DEVNULL)
    rng = random.Random(11)
    ring, dlat = square()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind("\0krigd-bench-lat-%d" % os.getpid())
    c.settimeout(10)
    ack = {}
    for i in range(n):
        c.sendto(json.dumps(job(i, rng, ring, dlat)).encode(), sock)
        r = json.loads(c.recv(65536))
        ack[r["jobs"][0]] = time.time()
        time.sleep(0.02)  # paced: about 50 jobs/s offered
    q = sqlite3.connect(db)
    wait_for(lambda: q.execute("SELECT count(*) FROM jobs WHERE state IN ('done','dead')").fetchone()[0] == n, 120,
             "the jobs")
    lat = []
    for jid, res in q.execute("SELECT id, result FROM jobs WHERE state='done'"):
        for rel in json.loads(res)["images"].values():
            lat.append(os.stat(os.path.join(out, rel)).st_mtime - ack[jid])
    drn.terminate(); drn.wait(); lis.terminate(); lis.wait()
    shutil.rmtree(d)
    lat.sort()
    return statistics.median(lat), lat[min(len(lat) - 1, int(0.99 * len(lat)))]

def idle_latency(poll, n=40):
    """Submit -> PNG on an idle daemon, one job at a time: with wake-ups, or
    (poll) with them off and the drain polling every 320 ms, the interval an
    idle drain used to reach."""
    d = tempfile.mkdtemp(prefix="bench-e2e.", dir=".")
    db, sock, out = os.path.join(d, "q.db"), os.path.join(d, "s.sock"), os.path.join(d, "out")
    env = dict(os.environ)
    if poll:
        env["KRIGD_BENCH_NO_WAKE"] = "1"
    lis = subprocess.Popen([KRIGD, "listen", "--db", db, "--socket", sock], stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(sock), 20, "the socket")
    drn = subprocess.Popen([KRIGD, "drain", "--db", db, "--out", out, "--threads", "1", "--no-callbacks",
                            "--poll-fallback", "320" if poll else "600000"], stderr=subprocess.DEVNULL, env=env)
    rng = random.Random(13)
    ring, dlat = square()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind("\0krigd-bench-idle-%d" % os.getpid())
    c.settimeout(10)
    q = sqlite3.connect(db)
    lat = []
    time.sleep(0.5)
    for i in range(n):
        c.sendto(json.dumps(job(i, rng, ring, dlat)).encode(), sock)
        r = json.loads(c.recv(65536))
        t_ack, jid = time.time(), r["jobs"][0]
        wait_for(lambda: q.execute("SELECT state FROM jobs WHERE id=?", (jid,)).fetchone()[0] in ("done", "dead"),
                 60, "job %d" % jid)
        res = q.execute("SELECT result FROM jobs WHERE id=?", (jid,)).fetchone()[0]
        for rel in json.loads(res)["images"].values():
            lat.append(os.stat(os.path.join(out, rel)).st_mtime - t_ack)
        time.sleep(0.1 + 0.2 * rng.random())  # idle again, at a random phase of any poll
    drn.terminate(); drn.wait(); lis.terminate(); lis.wait()
    shutil.rmtree(d)
    lat.sort()
    return statistics.median(lat), lat[min(len(lat) - 1, int(0.99 * len(lat)))]

if __name__ == "__main__":
    if not os.access(KRIGD, os.X_OK):
        sys.exit("bench/e2e: build first (make)")
    print("end to end: %d jobs, each one 100x100 frame, 20 stations, fitted exponential" % N)
    print("%-8s %10s %14s %16s %16s" % ("workers", "done", "jobs/s", "median latency", "p99 latency"))
    for w in (1, 2):
        done, rate = run(w)
        med, p99 = latency(w)
        print("%-8d %10d %14.1f %14.1f ms %14.1f ms" % (w, done, rate, med * 1e3, p99 * 1e3))
    print("\nsubmit -> PNG on an idle daemon (one 100x100 frame, 20 stations), one job at a time")
    print("%-34s %12s %12s" % ("drain", "p50", "p99"))
    for poll in (True, False):
        med, p99 = idle_latency(poll)
        print("%-34s %9.1f ms %9.1f ms" % ("polling every 320 ms (before)" if poll else "woken after COMMIT (now)",
                                             med * 1e3, p99 * 1e3))
    print("\ndrain jobs/s for %d tiny jobs queued first, drain processes on one file (1 worker each)" % N)
    for procs in (1, 2, 4):
        done, rate = run(1, procs)
        print("%-2d process%-3s %6d done %10.1f jobs/s" % (procs, "es" if procs > 1 else "", done, rate))
