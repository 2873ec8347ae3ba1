#!/bin/sh
# tests/fuzz/run.sh SRCDIR BUILDDIR TARGET... - build each fuzz target with
# clang's libFuzzer (+ASan+UBSan) from the library sources and run it for
# $FUZZ_SECONDS (or, with $FUZZ_RUNS, for that many executions) over a
# scratch copy of its corpus.  A crash leaves its
# input in BUILDDIR/fuzz/TARGET/: copy it into tests/fuzz/corpus/TARGET/
# so it becomes a regression test of `make check`.  Exits 1 when a target
# failed to build or found a crash, a leak or undefined behaviour.
set -eu
src=$1 build=$2
shift 2
cc=${CC_FUZZ:-clang}
secs=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
case $runs in
'') limit=-max_total_time=$secs what="$secs s" ;;
*[!0-9]*) echo "fuzz: FUZZ_RUNS must be a number of executions, got '$runs'" >&2; exit 1 ;;
*) limit=-runs=$runs what="$runs executions" ;;
esac
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
# FUZZ_LIBS and FUZZ_CFLAGS: what the build links with and compiles with
# (make fuzz passes KD_LIBS and every library's CFLAGS: FreeType, libpq,
# libsystemd and libmariadb when configure found them).
libs="$(pkg-config --cflags --libs sqlite3 json-c libpng libcurl libcrypto) ${FUZZ_LIBS:-}"
libcflags="$(pkg-config --cflags sqlite3 json-c libpng libcurl) ${FUZZ_CFLAGS:-}"
# The library as the build configured it (config.h in BUILDDIR): the SIMD
# kernels with their instruction sets, the MySQL source when it is enabled,
# the schema generated into the build tree.
obj=$build/fuzz/obj
mkdir -p "$obj"
inc="-I$build -I$src/tests/fuzz"
for d in "$src"/src/*/; do inc="$inc -I$d"; done
cflags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined $inc"
objs=
for f in "$src"/src/*/*.c "$build"/src/queue/*_schema.c; do
	base=$(basename "$f" .c)
	case $base in
	main | cmd_*) continue ;;
	kernel_avx2 | lkernel_avx2) extra="-mavx2 -mfma -ffp-contract=off" ;;
	kernel_avx512 | lkernel_avx512) extra="-mavx512f -ffp-contract=off" ;;
	source_mysql)
		grep -q '^#define HAVE_MYSQL 1' "$build/config.h" || continue
		extra= ;;
	*) extra= ;;
	esac
	[ -f "$f" ] || continue
	case " $objs " in *" $obj/$base.o "*) continue ;; esac # an in-tree build has queue_schema.c in src/queue/
	"$cc" $cflags $extra $libcflags -c -o "$obj/$base.o" "$f"
	objs="$objs $obj/$base.o"
done
mkdir -p "$build/fuzz"
failed=
for t in "$@"; do
	dir=$build/fuzz/$t
	mkdir -p "$dir/corpus"
	cp "$src/tests/fuzz/corpus/$t"/* "$dir/corpus/" 2>/dev/null || true
	"$cc" -g -O1 -fsanitize=fuzzer,address,undefined $inc \
		-o "$dir/fuzz_$t" "$src/tests/fuzz/fuzz_$t.c" $objs $libs -lm -pthread
	echo "== fuzz_$t for $what"
	rc=0
	(cd "$dir" && ./fuzz_$t "$limit" -max_len=65536 -print_final_stats=1 corpus) \
		> "$dir/fuzz.log" 2>&1 || rc=$?
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|#[0-9]+ *DONE)' "$dir/fuzz.log" || true
	if [ $rc -ne 0 ]; then
		echo "fuzz_$t FAILED (exit $rc): see $dir/fuzz.log; the input is in $dir/" >&2
		failed="$failed $t"
	fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed" >&2; exit 1; }
