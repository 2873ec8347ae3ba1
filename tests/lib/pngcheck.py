#!/usr/bin/env python3
"""tests/lib/pngcheck.py DIR - decode every *.png under DIR completely, without
krigd's code: signature, every chunk's CRC, IHDR first, IEND last with
nothing after it, the IDAT stream inflated to its end and exactly as long as
the image needs (8-bit RGBA or RGB/grey, non-interlaced), every row's filter
byte valid.  Also fails on leftover temporary files (outfile's ".krigd-tmp"
names) unless --allow-tmp is given (a SIGKILL in the middle of a write may
leave one; it is never a .png).  Prints one line per bad file and
"checked N tmp T" last; exit 1 if any was bad."""
import os
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "bad signature"
    pos, first, idat, ihdr = 8, True, [], None
    while True:
        if pos + 8 > len(data):
            return "truncated before IEND"
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + n > len(data):
            return "chunk %r truncated" % kind
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(kind + body) & 0xffffffff != crc:
            return "bad CRC in %r" % kind
        if first and kind != b"IHDR":
            return "IHDR is not first"
        first = False
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
        if kind == b"IEND":
            break
    if pos != len(data):
        return "bytes after IEND"
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in CHANNELS or interlace:
        return "unexpected format %r" % (ihdr,)
    d = zlib.decompressobj()
    raw = d.decompress(b"".join(idat))
    if not d.eof:
        return "IDAT stream does not end"
    stride = 1 + w * CHANNELS[ctype]
    if len(raw) != h * stride:
        return "IDAT holds %d bytes, the image needs %d" % (len(raw), h * stride)
    if any(raw[r * stride] > 4 for r in range(h)):
        return "bad filter byte"
    return None


def main():
    allow_tmp = "--allow-tmp" in sys.argv
    bad = n = tmp = 0
    for root, _, files in os.walk(sys.argv[-1]):
        for name in files:
            p = os.path.join(root, name)
            if "krigd-tmp" in name:
                tmp += 1
                if not allow_tmp:
                    print("leftover temporary file: %s" % p)
                    bad += 1
                continue
            if not name.endswith(".png"):
                continue
            n += 1
            why = check(p)
            if why:
                print("%s: %s" % (p, why))
                bad += 1
    print("checked %d tmp %d" % (n, tmp))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
