#!/bin/sh
# bench/e2e.sh - see bench/e2e.py
exec python3 "$(dirname "$0")/e2e.py" "$@"
