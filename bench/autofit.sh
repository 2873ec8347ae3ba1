#!/bin/sh
# bench/autofit.sh - what the automatic variogram choice ("model": "auto",
# the default) costs a small job: `krigd render --threads 1` of five jobs
# like bench/queues.py's (20 random stations, values 40-70, a square
# boundary, width 100; seeds 0-4), each with "model": "auto" and with
# "model": "exponential" (the baseline), BENCH_RUNS (10) runs of each,
# interleaved.  Prints the median wall and CPU (user + sys) time of a
# render and the ratio auto / exponential.
set -u
KRIGD=${KRIGD:-./krigd}
[ -x "$KRIGD" ] || { echo "bench/autofit.sh: build first (make)"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/krigd-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
python3 - "$KRIGD" "$TMP" "${BENCH_RUNS:-10}" <<'PYEOF'
import json, math, os, random, statistics, subprocess, sys, time

krigd, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
lon0, lat0, dlon = 113.9, 22.5, 0.1
dlat = dlon * math.cos(math.radians(lat0))
ring = [[[lon0, lat0], [lon0 + dlon, lat0], [lon0 + dlon, lat0 + dlat], [lon0, lat0 + dlat]]]
jobs = []
for seed in range(5):
    rng = random.Random(seed)
    pts = [{"longitude": lon0 + dlon * rng.random(), "latitude": lat0 + dlat * rng.random(),
            "value_air": round(40 + 30 * rng.random(), 1)} for _ in range(20)]
    for model in ("auto", "exponential"):
        path = os.path.join(tmp, "job%d-%s.json" % (seed, model))
        with open(path, "w") as f:
            json.dump({"index": "pm25", "boundary": ring, "width": 100, "model": model,
                       "frames": [{"pubtime": "t0", "points": pts}]}, f)
        jobs.append((model, path))
times = {"auto": ([], []), "exponential": ([], [])}
for _ in range(runs):
    for model, path in jobs:
        t0 = time.perf_counter()
        p = subprocess.Popen([krigd, "render", "--in", path, "--out", os.path.join(tmp, "out"), "--threads", "1"],
                             stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit("bench/autofit.sh: krigd render failed on " + path)
        times[model][0].append(time.perf_counter() - t0)
        times[model][1].append(ru.ru_utime + ru.ru_stime)
med = {m: (statistics.median(w), statistics.median(c)) for m, (w, c) in times.items()}
print("bench/autofit.sh: krigd render, 20 stations, width 100, 1 thread; %d renders each" % (5 * runs))
for m in ("exponential", "auto"):
    print("  %-12s wall %6.1f ms  CPU %6.1f ms" % (m, 1e3 * med[m][0], 1e3 * med[m][1]))
print("  auto / exponential: wall %.2fx, CPU %.2fx" % (med["auto"][0] / med["exponential"][0],
                                                     med["auto"][1] / med["exponential"][1]))
PYEOF
