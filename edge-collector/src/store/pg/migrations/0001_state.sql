-- The collector's state on the self-hosted profile. Times are ms since the Unix epoch (float8), as
-- the collector's clock gives them; every node's clock is the database's (`now_ms()`), so nodes with
-- skewed clocks still agree on what is due and what has expired.

CREATE FUNCTION now_ms() RETURNS float8 LANGUAGE sql STABLE
  AS $$ SELECT extract(epoch FROM clock_timestamp()) * 1000 $$;

-- The events queue. A node claims due messages by moving `due_at` past the lease and writing its
-- lease token; a message leaves the table only with its outcome (delete on ack, a new `due_at` on
-- retry, a move to dead_letters).
CREATE TABLE queue (
  id          bigserial PRIMARY KEY,
  body        text      NOT NULL,
  enqueued_at float8    NOT NULL,
  due_at      float8    NOT NULL,
  tries       integer   NOT NULL DEFAULT 0,
  lease       text
);
CREATE INDEX queue_due ON queue (due_at);
-- Every claim and settle rewrites rows: vacuum the queue early and without pauses.
ALTER TABLE queue SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                       autovacuum_vacuum_cost_delay = 0);

-- Dead letters: kept until an operator redrives them; capped per kind (browser, backend).
CREATE TABLE dead_letters (
  key        text    PRIMARY KEY,
  backend    boolean NOT NULL,
  unreadable boolean NOT NULL,
  dead_at    float8  NOT NULL,
  letter     text    NOT NULL
);
CREATE INDEX dead_letters_age ON dead_letters (backend, dead_at);

-- Counters, spread over a few rows per name so that concurrent writers do not queue on one row.
CREATE TABLE counters (
  name  text    NOT NULL,
  shard integer NOT NULL,
  value bigint  NOT NULL,
  PRIMARY KEY (name, shard)
);

-- Devices the collector keeps state for (a device not here is new), until `expires_at`.
CREATE TABLE devices (
  device     text   PRIMARY KEY,
  expires_at float8 NOT NULL
);
CREATE INDEX devices_expiry ON devices (expires_at);

-- Event ids already queued, per device.
CREATE TABLE seen (
  device     text   NOT NULL,
  id         text   NOT NULL,
  expires_at float8 NOT NULL,
  PRIMARY KEY (device, id)
);
CREATE INDEX seen_expiry ON seen (expires_at);

-- Snapshot order: one slot per list (`<kind>:<key>`), updated with a version check.
CREATE TABLE slots (
  name       text   PRIMARY KEY,
  slot       text   NOT NULL,
  version    bigint NOT NULL,
  expires_at float8
);
CREATE INDEX slots_expiry ON slots (expires_at) WHERE expires_at IS NOT NULL;

-- QA's trace: until when a device is traced (0: switched off), until when its notes are kept (a
-- day after the trace ended or was switched off), and its notes (merged when read).
CREATE TABLE traces (
  device     text   PRIMARY KEY,
  until      float8 NOT NULL,
  keep_until float8 NOT NULL
);
CREATE TABLE trace_notes (
  seq    bigserial PRIMARY KEY,
  device text      NOT NULL,
  note   text      NOT NULL
);
CREATE INDEX trace_notes_device ON trace_notes (device, seq);

-- Fixed one-minute windows: Mindbox's budget per operation (`budget:<operation>`) and the gate's
-- rate limits (`<limit>:<key>`). Unlogged: a crash or a failover forgets at most a minute's counts.
CREATE UNLOGGED TABLE windows (
  key     text    NOT NULL,
  minute  bigint  NOT NULL,
  used    integer NOT NULL,
  granted integer NOT NULL,
  PRIMARY KEY (key, minute)
);
CREATE INDEX windows_minute ON windows (minute);
