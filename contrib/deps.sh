#!/bin/sh
# contrib/deps.sh - install what building and testing krigd needs on Debian 12.
# Run as root.  Peers used only by some tests (R gstat, kriging.js from npm)
# are installed by those tests themselves; libsleef-dev serves only the exp
# comparison in bench/krige_bench (optional: configure goes on without it).
# FreeType, fontconfig and the two fonts draw the legend's text (English,
# Chinese); configure --without-freetype goes without them.  libgdal-dev
# writes the cog output (Cloud-Optimized GeoTIFF); configure --without-gdal
# goes without it (cog is then refused).  The GIS tests install python3-gdal,
# gdal-bin and python3-shapely themselves.  LAPACKE and OpenBLAS factorise
# global kriging systems; configure --without-lapack goes without them.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake pkg-config \
	libsqlite3-dev libjson-c-dev libpng-dev libcurl4-openssl-dev libssl-dev libmariadb-dev libpq-dev \
	libsystemd-dev libsleef-dev libfreetype-dev libfontconfig-dev fonts-dejavu-core fonts-wqy-zenhei \
	libgdal-dev \
	liblapacke-dev libopenblas-dev \
	sqlite3 python3 ca-certificates >/dev/null
