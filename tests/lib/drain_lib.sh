# tests/lib/drain_lib.sh - what the serve, drain and callback tests share
# beyond tests/lib/lib.sh (source that first: q, wait_for, start_serve,
# start_receiver, count and is_count are there): the tools they need, a
# webhook secret, and inline jobs made of the sample source's rows.
command -v sqlite3 >/dev/null || skip_all "the sqlite3 shell is needed"
command -v python3 >/dev/null || skip_all "python3 is needed"

# A whsec_ secret (24 random bytes, base64) in FILE.
make_secret() { printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64)" > "$1"; }

# inline_job SRCDB ROW INDEX KEY WIDTH COPIES [CALLBACK]: an inline trigger
# made of source row ROW's frames repeated COPIES times (distinct pubtimes);
# $INLINE_EXTRA (a JSON object), when set, is merged into it.
inline_job() {
	python3 - "$@" <<'PY'
import json, sqlite3, sys
db, row, index, key, width, copies = sys.argv[1:7]
cb = sys.argv[7] if len(sys.argv) > 7 else None
frames = json.loads(sqlite3.connect(db).execute(
    "SELECT ret_data FROM kriging_img WHERE id_num = ?", (int(row),)).fetchone()[0])
out = []
for c in range(int(copies)):
    for f in frames:
        out.append({"pubtime": "%s c%d" % (f["pubtime"], c), "points": f["time_data"]})
t = {"index": index, "key": key, "width": int(width), "frames": out}
if cb:
    t["callback"] = cb
import os
t.update(json.loads(os.environ.get("INLINE_EXTRA") or "{}"))
print(json.dumps(t))
PY
}
