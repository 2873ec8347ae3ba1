#!/bin/sh
# bench/ingest.sh - acked triggers per second through `krigd listen`, run by
# `make bench` from the build tree.  Loads: 1 and 8 concurrent clients, each
# keeping up to 16 triggers in flight (tests/lib/kd_flood).  Rows:
#   group commit, synchronous=FULL     the default: a reply means "on disk"
#   one commit per trigger (baseline)  --max-batch 1: one autocommit INSERT each
#   group commit, synchronous=NORMAL   survives a krigd crash, not power loss
#   beanstalkd -b -f0 / -b (default)   Debian's beanstalkd, same load, for scale
# The median fsync latency of the disk under the build tree is printed beside.
# BENCH_N (default 40000) triggers per run; the baseline runs a tenth of it.
set -u
KRIGD=${KRIGD:-./krigd}
FLOOD=${FLOOD:-./tests/lib/kd_flood}
N=${BENCH_N:-40000}
[ -x "$KRIGD" ] && [ -x "$FLOOD" ] || { echo "bench/ingest.sh: build first (make)"; exit 1; }
DIR=$(mktemp -d ./bench-ingest.XXXXXX)
LPID=
cleanup() { [ -n "$LPID" ] && kill "$LPID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

wait_log() {   # wait_log FILE TEXT: poll with a deadline
	local deadline=$(( $(date +%s) + 20 ))
	until grep -q "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.02
	done
}

# run_krigd CLIENTS COUNT [listen options]: prints the acked rate
run_krigd() {
	local clients=$1 total=$2; shift 2
	rm -f "$DIR"/q.db* "$DIR/s.sock"
	"$KRIGD" listen --db "$DIR/q.db" --socket "$DIR/s.sock" "$@" 2> "$DIR/listen.log" &
	LPID=$!
	wait_log "$DIR/listen.log" "listening on" || { echo "listener did not start" >&2; return 1; }
	"$FLOOD" --socket "$DIR/s.sock" --clients "$clients" --count $((total / clients)) --window 16 \
		--deadline-s 600 | awk '{ print $6 }'
	kill -TERM "$LPID"
	wait "$LPID"
	LPID=
}

run_beanstalk() {   # run_beanstalk CLIENTS COUNT [beanstalkd options]
	local clients=$1 total=$2 port=$(( 20000 + $$ % 20000 )); shift 2
	rm -rf "$DIR/binlog"
	mkdir -p "$DIR/binlog"
	# Its stdout is not ours: we run inside $(...), which waits for every
	# writer of the pipe to go away.
	beanstalkd -l 127.0.0.1 -p $port -b "$DIR/binlog" "$@" > /dev/null 2> "$DIR/bs.log" &
	LPID=$!
	local n=0
	# Ready once a put gets its reply (no /dev/tcp: this is sh, not bash).
	until "$FLOOD" --beanstalk $port --clients 1 --count 1 --window 1 > /dev/null 2>&1; do
		n=$((n + 1))
		if [ $n -gt 500 ]; then
			echo "beanstalkd did not start" >&2
			kill "$LPID"; wait "$LPID" 2>/dev/null; LPID=
			return 1
		fi
		sleep 0.02
	done
	"$FLOOD" --beanstalk $port --clients "$clients" --count $((total / clients)) --window 16 | awk '{ print $6 }'
	kill "$LPID"
	wait "$LPID" 2>/dev/null
	LPID=
}

fsync_ms=$("$FLOOD" --fsync-probe "$DIR/probe" | awk '{ print $2 }')
echo "krigd ingest bench: $N triggers per run, 16 in flight per client; $(nproc) cores"
echo "median fsync (4 KiB write + fdatasync) on this disk: $fsync_ms ms"
echo

g1=$(run_krigd 1 "$N"); g8=$(run_krigd 8 "$N")
b1=$(run_krigd 1 $((N / 10)) --max-batch 1); b8=$(run_krigd 8 $((N / 10)) --max-batch 1)
n1=$(run_krigd 1 "$N" --synchronous normal); n8=$(run_krigd 8 "$N" --synchronous normal)
# The same two rows on an emulated disk whose fsync costs 1 ms more.
SLOW=${SLOW_FSYNC:-./bench/slow_fsync.so}
if [ -f "$SLOW" ]; then
	sg1=$(LD_PRELOAD=$SLOW run_krigd 1 "$N"); sg8=$(LD_PRELOAD=$SLOW run_krigd 8 "$N")
	sb1=$(LD_PRELOAD=$SLOW run_krigd 1 $((N / 20)) --max-batch 1); sb8=$(LD_PRELOAD=$SLOW run_krigd 8 $((N / 20)) --max-batch 1)
else
	sg1=n/a; sg8=n/a; sb1=n/a; sb8=n/a
fi

if ! command -v beanstalkd >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt-get install -y beanstalkd > /dev/null 2>&1 || true
fi
if command -v beanstalkd >/dev/null; then
	s1=$(run_beanstalk 1 "$N" -f0); s8=$(run_beanstalk 8 "$N" -f0)
	d1=$(run_beanstalk 1 "$N"); d8=$(run_beanstalk 8 "$N")
else
	s1=n/a; s8=n/a; d1=n/a; d8=n/a
fi

printf '%-44s %12s %12s\n' "acked triggers/s" "1 client" "8 clients"
printf '%-44s %12s %12s\n' "krigd group commit, synchronous=FULL" "$g1" "$g8"
printf '%-44s %12s %12s\n' "baseline: one autocommit INSERT per trigger" "$b1" "$b8"
printf '%-44s %12s %12s\n' "krigd group commit, synchronous=NORMAL" "$n1" "$n8"
printf '%-44s %12s %12s\n' "group commit, fsync + 1 ms (emulated disk)" "$sg1" "$sg8"
printf '%-44s %12s %12s\n' "baseline, fsync + 1 ms (emulated disk)" "$sb1" "$sb8"
printf '%-44s %12s %12s\n' "beanstalkd -b -f0 (fsync every write)" "$s1" "$s8"
printf '%-44s %12s %12s\n' "beanstalkd -b (default fsync policy)" "$d1" "$d8"
awk -v g1="$g1" -v g8="$g8" -v b1="$b1" -v b8="$b8" 'BEGIN {
	if (b1 > 0 && b8 > 0) printf "group commit / baseline: %.1fx (1 client), %.1fx (8 clients)\n", g1 / b1, g8 / b8 }'
awk -v g1="$sg1" -v g8="$sg8" -v b1="$sb1" -v b8="$sb8" 'BEGIN {
	if (b1 > 0 && b8 > 0) printf "with fsync + 1 ms: %.1fx (1 client), %.1fx (8 clients)\n", g1 / b1, g8 / b8 }'
echo "fsync latency: $fsync_ms ms"
