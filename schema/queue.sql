-- schema/queue.sql - the krigd queue database (docs/DESIGN.md "Queue database").
--
-- Embedded into the binary at build time (src/queue_schema.c), so there is no
-- data file to lose.  The text is a list of forward migrations: each section
-- starts with a line "-- version N"; on open, queue_open() applies, in order
-- and each in its own transaction, every section whose N is above the
-- database's PRAGMA user_version, then sets user_version to N.  Never edit a
-- released section: add a new one.  Times are integer Unix seconds.

-- version 1
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	state        TEXT    NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'running', 'done', 'dead', 'cancelled')),
	kind         TEXT    NOT NULL CHECK (kind IN ('render', 'scan')),
	priority     INTEGER NOT NULL DEFAULT 0,
	key          TEXT,                     -- idempotency key, unique while the row exists
	payload      TEXT    NOT NULL,         -- the trigger as received
	source_id    INTEGER,                  -- {"source_id": N} jobs, for the scan's "no job yet" test
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
	run_at       INTEGER NOT NULL,         -- not claimed before this time (backoff)
	lease_until  INTEGER,                  -- running: the lease expires then
	lease_token  TEXT,                     -- running: the claim's secret; renew/finish/fail need it
	cancel_requested INTEGER NOT NULL DEFAULT 0, -- cancel of a running job is cooperative
	last_error   TEXT,
	result       TEXT,                     -- JSON, when done
	sender_uid   INTEGER,                  -- SCM_CREDENTIALS uid of the datagram's sender
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	finished_at  INTEGER                   -- done, dead or cancelled
);
CREATE UNIQUE INDEX jobs_key ON jobs(key) WHERE key IS NOT NULL;
-- The claim query: highest priority, then oldest run_at, then oldest id.
CREATE INDEX jobs_claim ON jobs(state, priority DESC, run_at, id);
CREATE INDEX jobs_lease ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_source ON jobs(source_id) WHERE source_id IS NOT NULL;
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
-- Pings coalesce: at most one pending scan job, enforced by the database.
CREATE UNIQUE INDEX jobs_one_pending_scan ON jobs(kind) WHERE kind = 'scan' AND state = 'pending';

-- The outbox: one row per callback delivery, written in the transaction that
-- finished its job, so a callback is never lost nor sent for a job not done.
CREATE TABLE callbacks (
	id          INTEGER PRIMARY KEY,
	job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	url         TEXT    NOT NULL,
	body        BLOB    NOT NULL,          -- the exact bytes that are signed and sent
	state       TEXT    NOT NULL DEFAULT 'pending'
	            CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,
	last_status INTEGER,
	last_error  TEXT,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX callbacks_due ON callbacks(state, next_at, id);
CREATE INDEX callbacks_job ON callbacks(job_id);

-- Totals that only grow, so metrics survive purge.
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value NUMERIC NOT NULL DEFAULT 0 -- integers, except render_seconds
) WITHOUT ROWID;
INSERT INTO counters(name) VALUES
	('jobs_accepted'), ('jobs_done'), ('jobs_dead'), ('jobs_cancelled'),
	('attempts_failed'), ('retries'), ('callbacks_delivered'), ('callbacks_failed'),
	('render_seconds');

CREATE VIEW pending_jobs AS
	SELECT id, kind, priority, key, attempts, max_attempts,
	       datetime(run_at, 'unixepoch') AS run_at, last_error,
	       datetime(created_at, 'unixepoch') AS created_at
	FROM jobs WHERE state = 'pending' ORDER BY priority DESC, run_at, id;
CREATE VIEW running_jobs AS
	SELECT id, kind, priority, key, attempts, max_attempts,
	       datetime(lease_until, 'unixepoch') AS lease_until, cancel_requested,
	       datetime(updated_at, 'unixepoch') AS claimed_at
	FROM jobs WHERE state = 'running' ORDER BY id;
CREATE VIEW dead_jobs AS
	SELECT id, kind, key, attempts, max_attempts, last_error,
	       datetime(finished_at, 'unixepoch') AS died_at
	FROM jobs WHERE state = 'dead' ORDER BY finished_at DESC, id DESC;
CREATE VIEW recent_jobs AS
	SELECT id, state, kind, priority, key, attempts, last_error,
	       datetime(created_at, 'unixepoch') AS created_at,
	       datetime(updated_at, 'unixepoch') AS updated_at,
	       datetime(finished_at, 'unixepoch') AS finished_at
	FROM jobs ORDER BY updated_at DESC, id DESC LIMIT 100;

-- version 2
-- Ids that never repeat, even after purge (AUTOINCREMENT, seeded above
-- every id ever given: jobs_accepted counts them all); the claimer of each
-- claim (boot id, pid namespace, pid, start time: see queue.h); every
-- attempt kept; the queue's own random id (webhook-ids unique across
-- queues).  Tables are rebuilt (SQLite cannot add AUTOINCREMENT in place):
-- queue_open runs migrations with foreign_keys off, so dropping the old
-- jobs table does not cascade into callbacks.
CREATE TABLE queue_meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO queue_meta(name, value) VALUES ('uid', lower(hex(randomblob(8))));

DROP VIEW pending_jobs;
DROP VIEW running_jobs;
DROP VIEW dead_jobs;
DROP VIEW recent_jobs;

CREATE TABLE jobs_v2 (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	state        TEXT    NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'running', 'done', 'dead', 'cancelled')),
	kind         TEXT    NOT NULL CHECK (kind IN ('render', 'scan')),
	priority     INTEGER NOT NULL DEFAULT 0,
	key          TEXT,
	payload      TEXT    NOT NULL,
	source_id    INTEGER,
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
	run_at       INTEGER NOT NULL,
	lease_until  INTEGER,
	lease_token  TEXT,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT,
	result       TEXT,
	sender_uid   INTEGER,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	finished_at  INTEGER,
	claimer_boot  TEXT,                    -- the last claim's process: boot id,
	claimer_pidns INTEGER,                 -- pid namespace inode,
	claimer_pid   INTEGER,                 -- pid,
	claimer_start INTEGER                  -- and start time (clock ticks after boot)
);
INSERT INTO jobs_v2(id, state, kind, priority, key, payload, source_id, attempts, max_attempts,
	run_at, lease_until, lease_token, cancel_requested, last_error, result, sender_uid,
	created_at, updated_at, finished_at)
	SELECT id, state, kind, priority, key, payload, source_id, attempts, max_attempts,
	run_at, lease_until, lease_token, cancel_requested, last_error, result, sender_uid,
	created_at, updated_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE UNIQUE INDEX jobs_key ON jobs(key) WHERE key IS NOT NULL;
CREATE INDEX jobs_claim ON jobs(state, priority DESC, run_at, id);
CREATE INDEX jobs_lease ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_source ON jobs(source_id) WHERE source_id IS NOT NULL;
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_one_pending_scan ON jobs(kind) WHERE kind = 'scan' AND state = 'pending';

CREATE TABLE callbacks_v2 (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	url         TEXT    NOT NULL,
	body        BLOB    NOT NULL,
	state       TEXT    NOT NULL DEFAULT 'pending'
	            CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,
	last_status INTEGER,
	last_error  TEXT,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
INSERT INTO callbacks_v2 SELECT * FROM callbacks;
DROP TABLE callbacks;
ALTER TABLE callbacks_v2 RENAME TO callbacks;
CREATE INDEX callbacks_due ON callbacks(state, next_at, id);
CREATE INDEX callbacks_job ON callbacks(job_id);

-- Above every id given so far, purged ones included: each insert counted
-- in jobs_accepted got at most max(id) + 1; every callback ever written is
-- pending now or counted delivered or failed.
DELETE FROM sqlite_sequence WHERE name IN ('jobs', 'jobs_v2', 'callbacks', 'callbacks_v2');
INSERT INTO sqlite_sequence(name, seq) VALUES
	('jobs', max(coalesce((SELECT max(id) FROM jobs), 0),
		 (SELECT CAST(value AS INTEGER) FROM counters WHERE name = 'jobs_accepted'))),
	('callbacks', max(coalesce((SELECT max(id) FROM callbacks), 0),
		 (SELECT CAST(sum(value) AS INTEGER) FROM counters
		  WHERE name IN ('callbacks_delivered', 'callbacks_failed'))
		 + (SELECT count(*) FROM callbacks WHERE state = 'pending')));

-- Every attempt: a claim, who made it, and how it ended.  A retry starts
-- the job's count again (n) but keeps these rows; purge removes them.
-- 'released': given back without spending the attempt (disk full).
CREATE TABLE attempts (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id        INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	n             INTEGER NOT NULL,        -- the job's attempts counter at the claim
	started_at    INTEGER NOT NULL,
	ended_at      INTEGER,
	claimer_boot  TEXT,
	claimer_pidns INTEGER,
	claimer_pid   INTEGER,
	claimer_start INTEGER,
	outcome       TEXT    NOT NULL DEFAULT 'running'
	              CHECK (outcome IN ('running', 'done', 'failed', 'dead', 'cancelled', 'lost', 'released')),
	error         TEXT
);
CREATE INDEX attempts_job ON attempts(job_id, id);

CREATE VIEW pending_jobs AS
	SELECT id, kind, priority, key, attempts, max_attempts,
	       datetime(run_at, 'unixepoch') AS run_at, last_error,
	       datetime(created_at, 'unixepoch') AS created_at
	FROM jobs WHERE state = 'pending' ORDER BY priority DESC, run_at, id;
CREATE VIEW running_jobs AS
	SELECT id, kind, priority, key, attempts, max_attempts,
	       datetime(lease_until, 'unixepoch') AS lease_until, cancel_requested,
	       datetime(updated_at, 'unixepoch') AS claimed_at,
	       claimer_pid, claimer_boot
	FROM jobs WHERE state = 'running' ORDER BY id;
CREATE VIEW dead_jobs AS
	SELECT id, kind, key, attempts, max_attempts, last_error,
	       datetime(finished_at, 'unixepoch') AS died_at
	FROM jobs WHERE state = 'dead' ORDER BY finished_at DESC, id DESC;
CREATE VIEW recent_jobs AS
	SELECT id, state, kind, priority, key, attempts, last_error,
	       datetime(created_at, 'unixepoch') AS created_at,
	       datetime(updated_at, 'unixepoch') AS updated_at,
	       datetime(finished_at, 'unixepoch') AS finished_at
	FROM jobs ORDER BY updated_at DESC, id DESC LIMIT 100;
CREATE VIEW job_attempts AS
	SELECT job_id, n, outcome, error,
	       datetime(started_at, 'unixepoch') AS started_at,
	       datetime(ended_at, 'unixepoch') AS ended_at,
	       ended_at - started_at AS seconds, claimer_pid, claimer_boot
	FROM attempts ORDER BY job_id, id;

-- version 3
-- Every purged job (docs/DESIGN.md "Queue database"): whether its image files
-- were kept (a done job purged without --images: its files are still
-- served).  `purge --orphans` deletes an image directory only when its job
-- has neither a row in jobs nor a row here with files_kept = 1.
CREATE TABLE purged (
	id         INTEGER PRIMARY KEY,     -- the job's id
	files_kept INTEGER NOT NULL CHECK (files_kept IN (0, 1)),
	purged_at  INTEGER NOT NULL
);
