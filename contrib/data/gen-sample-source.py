#!/usr/bin/env python3
"""contrib/data/gen-sample-source.py - write contrib/data/sample-source.sql.

The sample source is a table kriging_img in the seed's shape with station
readings in Nanshan district, Shenzhen: the project's embedded default demo
data.  Stations sit inside the district outline (data/nanshan-440305.geojson
in the shared data; pass its path as the first argument); readings are a
smooth field (a west-east gradient, a plume over the port area in the west,
a cleaner coast in the south) plus a little noise, so kriging has spatial
structure to find.  Deterministic: the same script writes the same file.

usage: gen-sample-source.py BOUNDARY.geojson > contrib/data/sample-source.sql
"""
import json
import math
import random
import sys

random.seed(440305)


def rings(geo):
    if geo["type"] == "FeatureCollection":
        for f in geo["features"]:
            yield from rings(f["geometry"])
    elif geo["type"] == "Feature":
        yield from rings(geo["geometry"])
    elif geo["type"] == "Polygon":
        yield from geo["coordinates"]
    elif geo["type"] == "MultiPolygon":
        for poly in geo["coordinates"]:
            yield from poly


def inside(rs, x, y):
    c = False
    for r in rs:
        for i in range(len(r)):
            (x1, y1), (x2, y2) = r[i - 1][:2], r[i][:2]
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                c = not c
    return c


def field(lon, lat, base, amp, t):
    # West-east gradient, a plume near the western port, cleaner to the south.
    g = 1.0 - 0.6 * (lon - 113.85) / 0.18
    plume = math.exp(-(((lon - 113.88) / 0.03) ** 2 + ((lat - 22.50) / 0.025) ** 2))
    coast = 0.3 * (lat - 22.44) / 0.16
    return base + amp * (0.5 * g + 0.8 * plume + coast) * (1 + 0.15 * t)


def main():
    rs = list(rings(json.load(open(sys.argv[1]))))
    stations = []
    while len(stations) < 22:
        lon, lat = random.uniform(113.85, 114.03), random.uniform(22.44, 22.60)
        if inside(rs, lon, lat):
            stations.append((round(lon, 6), round(lat, 6)))
    # index, base, amplitude, noise: pm25/pm10 in ug/m3, o3 1-h ug/m3, aqi.
    kinds = {"pm25": (22, 30, 2.0), "pm10": (40, 45, 3.0), "o3": (70, 90, 5.0), "aqi": (35, 45, 3.0)}
    rows = [("pm25", 3), ("pm10", 2), ("aqi", 3), ("o3", 2), ("pm25", 2), ("aqi", 2)]
    print("-- contrib/data/sample-source.sql - written by gen-sample-source.py; do not edit.")
    print("-- A source database in the seed's shape: sqlite3 sample.db < sample-source.sql")
    print("CREATE TABLE IF NOT EXISTS kriging_img (id_num INTEGER PRIMARY KEY, map_index TEXT, ret_data TEXT, img_list TEXT);")
    print("BEGIN;")
    day = 1
    for i, (index, nframes) in enumerate(rows, 1):
        base, amp, noise = kinds[index]
        frames = []
        # 15 to 22 stations report in each frame; a few are offline.
        for t in range(nframes):
            up = [s for s in stations if random.random() > 0.15][:22]
            while len(up) < 15:
                up = [s for s in stations if random.random() > 0.15]
            pts = [{"value_air": round(max(0.0, field(lon, lat, base, amp, t) + random.gauss(0, noise)), 1),
                    "longitude": lon, "latitude": lat} for lon, lat in up]
            frames.append({"pubtime": "2024-03-%02d %02d:00:00" % (day, 9 + t), "time_data": pts})
        day += 1
        ret = json.dumps(frames, separators=(", ", ": ")).replace("'", "''")
        print("INSERT INTO kriging_img (id_num, map_index, ret_data, img_list) VALUES (%d, '%s', '%s', NULL);"
              % (i, index, ret))
    print("COMMIT;")


if __name__ == "__main__":
    main()
