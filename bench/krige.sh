#!/bin/sh
# bench/krige.sh - kriging speed: our kernel paths and threads against
# kriging.js and R gstat, on the same stations and the same cells (those
# inside the Nanshan boundary), run by `make bench` from the build tree.
#
# Ours (bench/krige_bench): N = 20, 100, 500 stations, grids 256 and 1000
# pixels wide, exponential / gaussian / spherical at one fixed variogram
# (nugget 20, psill 400, range a third of the district's width), every path
# the CPU runs at 1..all threads, prediction alone and prediction +
# variance.  To keep the whole run near a minute on 2 cores, the slow
# cases run on part of a grid (the first rows holding the stated number of
# cells): scalar and portable on the 256 grid only; variance at N = 500 on
# up to 60k cells; figures are cells per second, so they compare per cell.
#
# Peers, installed here when missing: kriging.js (npm @sakitam-gis/kriging
# into bench/.npm/kriging under the build tree): train, then its predict()
# loop over our inside cells (the 256 grid; and the 1000 grid for the
# target case, exponential N = 100), and its grid() over the same boundary
# rings and cell size (256 grid).  R gstat (apt r-cran-gstat): krige() with
# the same variogram, global neighbourhood (prediction + variance), on the
# 256 grid's cells (N = 500: the first 3000 cells).  Ratios use cells/s.
#
# The global system of 2,000 stations (bench/solve_bench): its set-up with
# LAPACK (dpotrf, OpenBLAS on one thread, its tiles on krigd's 1 and all
# threads; the core OpenBLAS picked is printed) and with KRIGD_LAPACK=off
# (our own Cholesky, one thread).
#
# The ceiling (bench/peak_bench): OpenBLAS's dgemm on 1 and all threads,
# with the core OpenBLAS picks for this CPU (OPENBLAS_CORETYPE unset), set
# against what 100x gstat's prediction + variance would ask in useful
# flops (bench/README's rule) at N = 100 and 500.
#
# Last, a whole frame: `krigd render` of contrib/demo/pm25-job.json at
# width 1000 (fit + predict + PNG), wall time, best of 3; and the same
# frames with a given matern (kappa 1.5) and exponential variogram: the
# matern model's cost on the scalar path.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCHBIN=${KRIGE_BENCH:-./bench/krige_bench}
KRIGD=${KRIGD:-./krigd}
[ -x "$BENCHBIN" ] && [ -x "$KRIGD" ] || { echo "bench/krige.sh: build first (make)"; exit 1; }
DIR=$(mktemp -d ./bench-krige.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
NCPU=$(nproc 2>/dev/null || echo 1)

echo "== kriging: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NCPU CPUs"
"$BENCHBIN" "$SRC/contrib/data/nanshan.geojson" "$DIR" >"$DIR/ours" || { echo "krige_bench failed"; exit 1; }

# ---- kriging.js
CACHE=./bench/.npm/kriging
PKG=@sakitam-gis/kriging
PKG_VERSION=0.1.0 # pinned: a new release must not change what we compare with
have_kjs=0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm >/dev/null 2>&1
	fi
fi
if command -v node >/dev/null 2>&1; then
	if [ ! -f "$CACHE/node_modules/$PKG/package.json" ] && command -v npm >/dev/null 2>&1; then
		mkdir -p "$CACHE"
		(cd "$CACHE" && npm install --prefix . --no-save --no-package-lock --no-audit --no-fund --silent "$PKG@$PKG_VERSION" \
			>npm.log 2>&1)
	fi
	[ -f "$CACHE/node_modules/$PKG/package.json" ] && have_kjs=1
fi
cat >"$DIR/kjs.js" <<'JEOF'
const fs = require('fs');
const kriging = require(process.argv[2]);
const dir = process.argv[3];
const read = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
const cells = { 256: read('cells.256'), 1000: read('cells.1000') };
const rings = [];
for (const l of fs.readFileSync(`${dir}/rings`, 'utf8').trim().split('\n')) {
	if (l.startsWith('ring')) rings.push([]); else rings[rings.length - 1].push(l.split(' ').map(Number));
}
const cellm = Number(process.argv[4]);
const now = () => Number(process.hrtime.bigint()) / 1e9;
for (const n of [20, 100, 500]) {
	const st = read(`st.${n}`);
	const t = st.map((p) => p[2]), x = st.map((p) => p[0]), y = st.map((p) => p[1]);
	for (const model of ['exponential', 'gaussian', 'spherical']) {
		const v = kriging.train(t, x, y, model, 0, 100);
		const sizes = (model === 'exponential' && n === 100) ? [256, 1000] : [256];
		for (const w of sizes) {
			const c = cells[w];
			let s = 0;
			const t0 = now();
			for (let i = 0; i < c.length; i++) s += kriging.predict(c[i][0], c[i][1], v);
			console.log(`kjs ${model} ${n} ${w} ${c.length} predict ${now() - t0} ${s === 42 ? '!' : ''}`);
		}
		const t1 = now();
		const g = kriging.grid(rings, v, cellm);
		let m = 0;
		for (const col of g.data) if (col) for (const z of col) if (z !== undefined) m++;
		console.log(`kjs ${model} ${n} 256 ${m} grid ${now() - t1}`);
	}
}
JEOF
if [ $have_kjs = 1 ]; then
	cellm=$(awk '$1 == "grid" && $2 == 256 { print $5 }' "$DIR/ours")
	node "$DIR/kjs.js" "$(pwd)/$CACHE/node_modules/$PKG" "$DIR" "$cellm" >"$DIR/kjs" 2>"$DIR/kjs.err" ||
		{ echo "kriging.js run failed:"; sed 's/^/  /' "$DIR/kjs.err"; }
else
	echo "kriging.js: not available (node/npm missing or npm install failed; see $CACHE/npm.log)"
	: >"$DIR/kjs"
fi

# ---- R gstat
have_gstat() { Rscript -e 'suppressPackageStartupMessages(library(gstat))' >/dev/null 2>&1; }
if ! have_gstat && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y r-cran-gstat >/dev/null 2>&1
fi
cat >"$DIR/gstat.R" <<'REOF'
suppressPackageStartupMessages({ library(sp); library(gstat) })
a <- commandArgs(TRUE); dir <- a[1]; range <- as.numeric(a[2])
cells <- read.table(file.path(dir, "cells.256"), col.names = c("x", "y"))
coordinates(cells) <- ~x + y
short <- c(exponential = "Exp", gaussian = "Gau", spherical = "Sph")
for (n in c(20, 100, 500)) {
	d <- read.table(file.path(dir, paste0("st.", n)), col.names = c("x", "y", "z"))
	coordinates(d) <- ~x + y
	p <- if (n == 500) cells[1:3000, ] else cells
	for (m in names(short)) {
		t <- system.time(k <- krige(z ~ 1, d, p, model = vgm(400, short[[m]], range, 20), debug.level = 0))
		cat(sprintf("gstat %s %d 256 %d predvar %.6f\n", m, n, length(p), t[["elapsed"]]))
	}
}
REOF
if have_gstat; then
	range=$(awk '$1 == "variogram" { print $4 }' "$DIR/ours")
	Rscript "$DIR/gstat.R" "$DIR" "$range" >"$DIR/gstat" 2>"$DIR/gstat.err" ||
		{ echo "gstat run failed:"; sed 's/^/  /' "$DIR/gstat.err"; }
else
	echo "gstat: R package gstat not installed and could not be installed"
	: >"$DIR/gstat"
fi

# ---- a whole frame
mkdir -p "$DIR/frame"
best=
for i in 1 2 3; do
	t0=$(date +%s.%N)
	"$KRIGD" render --in "$SRC/contrib/demo/pm25-job.json" --out "$DIR/frame" --boundary-dir "$SRC/contrib/data" \
		--width 1000 >"$DIR/render.out" 2>"$DIR/render.err" || { echo "krigd render failed:"; cat "$DIR/render.err"; break; }
	t1=$(date +%s.%N)
	best=$(echo "$t0 $t1 ${best:-1e9}" | awk '{ d = $2 - $1; print (d < $3 ? d : $3) }')
done
frames=$(grep -o '"pubtime"' "$SRC/contrib/demo/pm25-job.json" | wc -l)

# ---- the global system of 2,000 stations: LAPACK against our own Cholesky
SOLVEBIN=${SOLVE_BENCH:-./bench/solve_bench}
solve_lapack= solve_own=
if [ -x "$SOLVEBIN" ]; then
	# one line per thread count: "solve N SECONDS NAME (CORE) threads T"
	solve_lapack=$("$SOLVEBIN" 2000 20 "1,$NCPU" 3 2>/dev/null | grep '^solve' | tr '\n' ';')
	solve_own=$(KRIGD_LAPACK=off "$SOLVEBIN" 2000 20 1 3 2>/dev/null | grep '^solve' | head -1)
fi
PEAKBIN=${PEAK_BENCH:-./bench/peak_bench}
peak=
[ -x "$PEAKBIN" ] && peak=$(env -u OPENBLAS_CORETYPE "$PEAKBIN" 2048 "$NCPU" 3 | grep '^peak [0-9]' | tail -1)

# ---- the matern model (scalar path, tabulated correlation) against the
# exponential (vector kernels): the demo frames with a given variogram of
# each, same nugget, sill and range, width 1000, best of 3, same run.
vgm_frame() { # MODEL_JSON -> best wall seconds
	sed "s/\"model\": \"auto\"/\"variogram\": {$1, \"nugget\": 20, \"psill\": 1500, \"range\": 3000}/" \
		"$SRC/contrib/demo/pm25-job.json" >"$DIR/vgm.json"
	b=
	for i in 1 2 3; do
		t0=$(date +%s.%N)
		"$KRIGD" render --in "$DIR/vgm.json" --out "$DIR/frame" --boundary-dir "$SRC/contrib/data" --width 1000 \
			>/dev/null 2>"$DIR/render.err" || { cat "$DIR/render.err" >&2; break; }
		t1=$(date +%s.%N)
		b=$(echo "$t0 $t1 ${b:-1e9}" | awk '{ d = $2 - $1; print (d < $3 ? d : $3) }')
	done
	echo "${b:-0}"
}
t_exp=$(vgm_frame '"model": "exponential"')
t_mat=$(vgm_frame '"model": "matern", "kappa": 1.5')

# ---- the table
cat "$DIR/ours" "$DIR/kjs" "$DIR/gstat" | awk -v ncpu="$NCPU" -v frame="${best:-}" -v frames="$frames" \
	-v texp="$t_exp" -v tmat="$t_mat" -v slap="$solve_lapack" -v sown="$solve_own" -v peak="$peak" '
function rate(c, s) { return s > 0 ? c / s : 0 }
function ratio(a, b) { return b > 0 ? sprintf("%.1fx", a / b) : "-" }
function fmt(r) { return r >= 1e6 ? sprintf("%7.2fM", r / 1e6) : r > 0 ? sprintf("%7.1fk", r / 1e3) : "       -" }
$1 == "grid" { gcells[$2] = $4; gh[$2] = $3 }
$1 == "exp" { ex[++nex] = sprintf("  %-9s %8.2f ns/value  max %.2f ulp", $2, $3, $4) }
$1 == "run" {
	key = $2 " " $3 " " $4; keys[key] = 1
	r = rate($5, $9); R[key, $6, $7, $8] = r
	if (r > best[key, $8]) { best[key, $8] = r; bestp[key, $8] = $6 "/" $7 "t" }
}
$1 == "kjs" { K[$2 " " $3 " " $4, $6] = rate($5, $7) }
$1 == "gstat" { G[$2 " " $3, $6] = rate($5, $7) }
END {
	printf "\ngrids over Nanshan: width 256 (%d rows, %d inside cells), width 1000 (%d rows, %d inside cells)\n",
		gh[256], gcells[256], gh[1000], gcells[1000]
	print "\nexp over [-708, 0], 64k values (libm = glibc exp, one call per value):"
	for (i = 1; i <= nex; i++) print ex[i]
	print "\ncells per second (k = 1e3, M = 1e6); columns PATH/THREADS; kjs = kriging.js, x = ours (best) / peer"
	split("scalar portable avx2 avx512", P, " ")
	for (what = 1; what <= 2; what++) {
		w = what == 1 ? "pred" : "predvar"
		printf "\n-- %s\n", what == 1 ? "prediction alone" : "prediction + variance"
		printf "%-12s %4s %5s", "model", "N", "grid"
		for (p = 1; p <= 4; p++) for (t = 1; t <= ncpu; t++) printf " %9s", substr(P[p], 1, 6) "/" t
		if (w == "pred") printf " %9s %9s %8s", "kjs-pred", "kjs-grid", "x kjs"
		else printf " %9s %8s", "gstat", "x gstat"
		printf "\n"
		split("exponential gaussian spherical", M, " ")
		for (m = 1; m <= 3; m++) for (ni = 1; ni <= 3; ni++) for (gi = 1; gi <= 2; gi++) {
			n = ni == 1 ? 20 : ni == 2 ? 100 : 500; g = gi == 1 ? 256 : 1000
			key = M[m] " " n " " g
			if (!(key in keys)) continue
			printf "%-12s %4d %5d", M[m], n, g
			for (p = 1; p <= 4; p++) for (t = 1; t <= ncpu; t++) printf " %9s", fmt(R[key, P[p], t, w])
			if (w == "pred") {
				kp = K[key, "predict"]; kg = K[key, "grid"]
				printf " %9s %9s %8s", fmt(kp), fmt(kg), ratio(best[key, w], kp)
			} else {
				gs = G[M[m] " " n, "predvar"]
				printf " %9s %8s", fmt(gs), ratio(best[key, w], gs)
			}
			printf "\n"
		}
	}
	key = "exponential 100 1000"
	kp = K[key, "predict"]; gs = G["exponential 100", "predvar"]
	print "\ntargets (exponential, N = 100, 1000-wide grid):"
	if (kp > 0) printf "  prediction:            ours %s cells/s (%s), kriging.js predict %s cells/s: %.1fx (target >= 50x)\n",
		fmt(best[key, "pred"]), bestp[key, "pred"], fmt(kp), best[key, "pred"] / kp
	if (gs > 0) printf "  prediction + variance: ours %s cells/s (%s), gstat %s cells/s (measured on the 256 grid): %.1fx (target >= 30x)\n",
		fmt(best[key, "predvar"]), bestp[key, "predvar"], fmt(gs), best[key, "predvar"] / gs
	if (frame != "") printf "  krigd render, width 1000, %d frame(s) (fit + predict + PNG): %.3f s wall, best of 3 (target < 0.25 s per frame)\n", frames, frame
	if (slap != "" && sown != "") {
		split(sown, b, " ")
		printf "\nglobal system set-up, %d stations (matrix, factor, condition, weights; best of 3; target < 0.05 s):\n", b[2]
		printf "  own Cholesky, 1 thread: %.3f s\n", b[3]
		nl = split(slap, L, ";")
		for (i = 1; i <= nl; i++) {
			if (L[i] == "") continue
			split(L[i], a, " "); name = L[i]; sub(/^solve [0-9]+ [0-9.]+ /, "", name)
			printf "  %s: %.3f s, %.1fx the own Cholesky\n", name, a[3], b[3] / a[3]
		}
	}
	split(peak, pk, " ")
	if (pk[3] > 0) {
		printf "\nceiling: OpenBLAS dgemm %.1f Gflop/s on %d thread(s) (%s core); useful flops per cell as bench/README counts them:\n", pk[3], pk[2], pk[4]
		for (ni = 1; ni <= 2; ni++) {
			n = ni == 1 ? 100 : 500; key = "exponential " n " 1000"; gs = G["exponential " n, "predvar"]
			f = n * (n - 1) + 19 * n
			if (!(gs > 0) || !(best[key, "predvar"] > 0)) continue
			printf "  N = %d, prediction + variance, %d flops/cell: ours %.1f Gflop/s (%.1fx gstat); 100x gstat would need %.1f Gflop/s, %.0f %% of dgemm\n",
				n, f, best[key, "predvar"] * f / 1e9, best[key, "predvar"] / gs, 100 * gs * f / 1e9, 100 * 100 * gs * f / 1e9 / pk[3]
		}
	}
	if (texp > 0 && tmat > 0) printf "\nmatern (scalar path, tabulated) vs exponential, the demo at width 1000, given variogram: %.3f s vs %.3f s wall: %.1fx\n", tmat, texp, tmat / texp
}'
