#!/bin/sh
# contrib/data/make-sample-source.sh DB - build the sample source database
# (table kriging_img in the seed's shape, Nanshan station readings) from
# sample-source.sql beside this script.  Refuses to touch an existing file.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DB" >&2; exit 2; }
sql=$(dirname "$0")/sample-source.sql
[ -e "$1" ] && { echo "$0: $1 exists; not touching it" >&2; exit 1; }
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$1" < "$sql"
else
	python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read()); c.commit()' "$1" "$sql"
fi
echo "$1: $(printf 'SELECT count(*) FROM kriging_img;' | sqlite3 "$1" 2>/dev/null || echo some) rows in kriging_img"
