#!/usr/bin/env python3
"""tests/lib/png_check.py [--must-exist] [--allow-tmp] FILE|DIR... - the PNG
checker of the tests: decodes every PNG completely, with the standard
library only (no krigd code, no libpng), and exits 0 when every one is whole:

  the signature; every chunk complete with its CRC right; IHDR first and
  valid (a colour type / bit depth pair PNG allows); IEND last with nothing
  after it; the IDAT stream inflated to its end (zlib's end-of-stream seen)
  and exactly as long as the image needs (every Adam7 pass when
  interlaced); every row's filter byte 0-4.

A FILE that vanished between listing and reading is skipped (it was
renamed or purged, not half-written) unless --must-exist is given.  A DIR
is walked: every *.png under it is checked, and a leftover temporary file
(outfile's ".krigd-tmp" names; never a .png) fails unless --allow-tmp is
given (a SIGKILL in the middle of a write may leave one); then the last
line says "checked N tmp T".  One line per bad file; exit 1 if any.
(Pixels are read by tests/lib/png_probe, through krigd's own reader.)"""
import os
import struct
import sys
import zlib

# colour type: (channels, allowed bit depths)
FORMATS = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)),
           4: (2, (8, 16)), 6: (4, (8, 16))}
# Adam7: (x0, y0, dx, dy) of each pass
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def chunks(data):
    """The chunks up to IEND as (type, body), or a string saying what is wrong."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "no PNG signature"
    pos, out = 8, []
    while True:
        if pos + 12 > len(data):
            return "truncated before IEND (chunk header at %d)" % pos
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + n > len(data):
            return "truncated %s chunk" % kind.decode("latin-1")
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(kind + body) & 0xffffffff != crc:
            return "bad CRC in %s" % kind.decode("latin-1")
        if not out and kind != b"IHDR":
            return "first chunk is not IHDR"
        out.append((kind, body))
        pos += 12 + n
        if kind == b"IEND":
            break
    if pos != len(data):
        return "bytes after IEND"
    return out


def rows(w, h, bits, interlace):
    """(row count, bytes per row including the filter byte) of each pass."""
    if not interlace:
        return [(h, 1 + (w * bits + 7) // 8)]
    out = []
    for x0, y0, dx, dy in ADAM7:
        pw, ph = (w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy
        if pw > 0 and ph > 0:
            out.append((ph, 1 + (pw * bits + 7) // 8))
    return out


def check(path):
    with open(path, "rb") as f:
        cs = chunks(f.read())
    if isinstance(cs, str):
        return cs
    if len(cs[0][1]) != 13:
        return "IHDR is not 13 bytes"
    w, h, depth, ctype, comp, filt, interlace = struct.unpack(">IIBBBBB", cs[0][1])
    if ctype not in FORMATS or depth not in FORMATS[ctype][1] or comp or filt or interlace > 1 or not w or not h:
        return "invalid IHDR %r" % ((w, h, depth, ctype, comp, filt, interlace),)
    d = zlib.decompressobj()
    try:
        raw = d.decompress(b"".join(b for k, b in cs if k == b"IDAT"))
    except zlib.error as ex:
        return "IDAT does not inflate: %s" % ex
    if not d.eof:
        return "IDAT stream does not end"
    passes = rows(w, h, depth * FORMATS[ctype][0], interlace)
    want = sum(n * stride for n, stride in passes)
    if len(raw) != want:
        return "IDAT inflates to %d bytes, the image needs %d" % (len(raw), want)
    pos = 0
    for n, stride in passes:
        for _ in range(n):
            if raw[pos] > 4:
                return "bad filter byte %d at offset %d" % (raw[pos], pos)
            pos += stride
    return None


def main(argv):
    flags = {a for a in argv if a in ("--must-exist", "--allow-tmp")}
    bad = n = tmp = 0
    walked = False

    def one(p, must_exist):
        nonlocal bad
        try:
            why = check(p)
        except FileNotFoundError:
            if not must_exist:
                return  # gone between listing and reading: not a half-written file
            why = "missing"
        if why:
            print("%s: %s" % (p, why))
            bad += 1

    for arg in argv:
        if arg in flags:
            continue
        if not os.path.isdir(arg):
            one(arg, "--must-exist" in flags)
            continue
        walked = True
        for root, _, files in os.walk(arg):
            for name in sorted(files):
                p = os.path.join(root, name)
                if "krigd-tmp" in name:
                    tmp += 1
                    if "--allow-tmp" not in flags:
                        print("leftover temporary file: %s" % p)
                        bad += 1
                elif name.endswith(".png"):
                    n += 1
                    one(p, True)
    if walked:
        print("checked %d tmp %d" % (n, tmp))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
