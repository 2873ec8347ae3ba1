#!/bin/sh
# tests/fuzz/run.sh SRCDIR BUILDDIR TARGET... - build each fuzz target with
# clang's libFuzzer (+ASan+UBSan) from the library sources and run it for
# $FUZZ_SECONDS over a scratch copy of its corpus.  A crash leaves its
# input in BUILDDIR/fuzz/TARGET/: copy it into tests/fuzz/corpus/TARGET/
# so it becomes a regression test of `make check`.
set -eu
src=$1 build=$2
shift 2
cc=${CC_FUZZ:-clang}
secs=${FUZZ_SECONDS:-60}
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
libs=$(pkg-config --cflags --libs sqlite3 json-c libpng libcurl libcrypto)
lib_srcs=$(ls "$src"/src/*.c | grep -v -e '/main.c$' -e '/cmd_')
mkdir -p "$build/fuzz"
for t in "$@"; do
	dir=$build/fuzz/$t
	mkdir -p "$dir/corpus"
	cp "$src/tests/fuzz/corpus/$t"/* "$dir/corpus/" 2>/dev/null || true
	"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -I"$build" -I"$src/src" -I"$src/tests/fuzz" \
		-o "$dir/fuzz_$t" "$src/tests/fuzz/fuzz_$t.c" $lib_srcs $libs -lm -pthread
	echo "== fuzz_$t for $secs s"
	(cd "$dir" && ./fuzz_$t -max_total_time="$secs" -max_len=65536 -print_final_stats=1 corpus 2>&1 |
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|#[0-9]+ *DONE)' || true)
done
