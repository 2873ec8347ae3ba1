# tests/lib/harden.sh - what the fault-injection tests share beyond
# tests/lib/lib.sh (source that first: q, wait_for, start_bg and the PNG
# checker are there): a made-up source, small inline jobs, the invariants
# every fault test ends with and the drain that settles the queue first.

# make_source FILE N: a seed-shaped source, rows 1..N, one frame of five
# stations each (row k's values shifted by k, so rows differ).
make_source() {
	sqlite3 "$1" "CREATE TABLE kriging_img(id_num INTEGER PRIMARY KEY, map_index TEXT, ret_data TEXT, img_list TEXT);
WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < $2)
INSERT INTO kriging_img SELECT k, 'pm25',
 '[{\"pubtime\":\"2024-01-01 01:00:00\",\"time_data\":[' ||
 '{\"longitude\":113.90,\"latitude\":22.50,\"value_air\":' || (30 + k % 50) || '},' ||
 '{\"longitude\":113.92,\"latitude\":22.53,\"value_air\":' || (42 + k % 40) || '},' ||
 '{\"longitude\":113.94,\"latitude\":22.56,\"value_air\":' || (55 + k % 30) || '},' ||
 '{\"longitude\":113.96,\"latitude\":22.51,\"value_air\":' || (61 + k % 20) || '},' ||
 '{\"longitude\":113.98,\"latitude\":22.54,\"value_air\":' || (75 + k % 10) || '}]}]', NULL FROM c;"
}

# inline_job N [EXTRA]: a small inline trigger with key N (EXTRA: more members).
inline_job() {
	printf '{"key":"%s","index":"pm25","width":%s,"frames":[{"pubtime":"2024-01-01 0%s:00:00","points":[%s]}]%s}' \
		"$1" "${WIDTH:-120}" "$(( $1 % 10 ))" \
		'{"longitude":113.90,"latitude":22.50,"value_air":30},{"longitude":113.92,"latitude":22.53,"value_air":45},{"longitude":113.94,"latitude":22.56,"value_air":60},{"longitude":113.96,"latitude":22.51,"value_air":80},{"longitude":113.98,"latitude":22.54,"value_air":120}' \
		"${2:-}"
}

# invariants DB OUT ACKLOG [--allow-tmp]: the checks every fault test ends
# with, once the faults have stopped and a drain ran until idle:
#   every acked trigger (ACKLOG lines "KEY ID", may be empty) is that job;
#   every job is done, dead with a reason, or cancelled;
#   every PNG decodes completely; PRAGMA integrity_check says ok.
invariants() {
	local db=$1 out=$2 acks=$3 lost open nreason integ
	sqlite3 "$TMP/oracle.db" "DROP TABLE IF EXISTS a; CREATE TABLE a(key TEXT, id INTEGER);"
	[ -s "$acks" ] && sqlite3 "$TMP/oracle.db" ".separator ' '" ".import $acks a"
	lost=$(sqlite3 "$TMP/oracle.db" "ATTACH '$db' AS q; SELECT count(*) FROM a LEFT JOIN q.jobs j
		ON j.id = a.id AND j.key IS a.key WHERE j.id IS NULL;")
	ok "$([ "$lost" = 0 ]; echo $?)" "every acked trigger is its job ($(wc -l < "$acks") acked, $lost lost)"
	ACKED=$(wc -l < "$acks")
	LOST=$lost
	open=$(q "$db" "SELECT count(*) FROM jobs WHERE state NOT IN ('done','dead','cancelled')")
	ok "$([ "$open" = 0 ]; echo $?)" "every job reached done, dead or cancelled ($open not)"
	nreason=$(q "$db" "SELECT count(*) FROM jobs WHERE state = 'dead' AND coalesce(last_error, '') = ''")
	ok "$([ "$nreason" = 0 ]; echo $?)" "every dead job has a reason ($nreason without)"
	if $PNG_CHECK ${4:-} "$out" > "$TMP/pngcheck.out"; then ok 0 "no truncated PNG ($(tail -1 "$TMP/pngcheck.out"))"
	else ok 1 "no truncated PNG"; sed 's/^/# /' "$TMP/pngcheck.out" | head -20; fi
	integ=$(q "$db" "PRAGMA integrity_check")
	ok "$([ "$integ" = ok ]; echo $?)" "PRAGMA integrity_check: $integ"
	q "$db" "SELECT '# ' || state || ' ' || count(*) FROM jobs GROUP BY state"
}

# settle DB OUT [drain options]: with the faults gone, a drain that exits
# when nothing is left (bounded: a hang is a failure, not a stuck test).
# Callbacks are not sent unless SETTLE_CALLBACKS=1.
settle() {
	local db=$1 out=$2 nocb=--no-callbacks; shift 2
	[ "${SETTLE_CALLBACKS:-0}" = 1 ] && nocb=
	timeout 300 "$KRIGD" drain --db "$db" --out "$out" --exit-when-idle --lease 2 --backoff-base 0 \
		--threads 1 $nocb "$@" 2>>"$TMP/settle.log"
}
