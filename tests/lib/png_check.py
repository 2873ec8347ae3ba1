#!/usr/bin/env python3
"""tests/lib/png_check.py [--must-exist] FILE... - exit 0 when every FILE is a complete PNG:
the signature, chunks whose CRCs match up to IEND and nothing after it, an
IHDR first, and IDAT data that zlib inflates to exactly the size the
header announces.  Prints the first bad file and why."""
import struct
import sys
import zlib


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "no PNG signature"
    pos, idat, hdr, end = 8, b"", None, False
    while pos < len(data):
        if pos + 12 > len(data):
            return "truncated chunk header at %d" % pos
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + n > len(data):
            return "truncated %s chunk" % typ.decode("latin-1")
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(typ + body) & 0xffffffff != crc:
            return "bad CRC in %s" % typ.decode("latin-1")
        if hdr is None and typ != b"IHDR":
            return "first chunk is not IHDR"
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
        if typ == b"IEND":
            end = True
            break
    if not end:
        return "no IEND"
    if pos != len(data):
        return "bytes after IEND"
    w, h, depth, colour, _, _, interlace = hdr
    if interlace:
        return None  # not ours; the chunk walk above is the check
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    want = h * (1 + (w * channels * depth + 7) // 8)
    try:
        raw = zlib.decompress(idat)
    except zlib.error as ex:
        return "IDAT does not inflate: %s" % ex
    if len(raw) != want:
        return "IDAT inflates to %d bytes, want %d" % (len(raw), want)
    return None


bad = 0
must_exist = "--must-exist" in sys.argv[1:]
for p in sys.argv[1:]:
    if p == "--must-exist":
        continue
    try:
        why = check(p)
    except FileNotFoundError:
        if not must_exist:
            continue  # gone between listing and reading: not a half-written file
        why = "missing"
    if why:
        print("%s: %s" % (p, why))
        bad += 1
sys.exit(1 if bad else 0)
