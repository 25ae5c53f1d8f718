-- The tamper-evident log (docs/audit-log.md): every record of the four append-only tables is a
-- leaf of one Merkle tree (RFC 6962 hashing), numbered in the order the records were committed.
-- A record's leaf number is taken in the record's own transaction, from log_head, whose one row
-- every writer locks: so the numbers are dense and commit in order, and a release, a registry
-- change and their leaves are ordered alike. The same schema for SQLite is in
-- ../sqlite/0002_log.sql.

ALTER TABLE registry_versions ADD COLUMN leaf BIGINT;
ALTER TABLE consent_records ADD COLUMN leaf BIGINT;
ALTER TABLE disclosures ADD COLUMN leaf BIGINT;
ALTER TABLE audit_events ADD COLUMN leaf BIGINT;
-- Each record's leaf hash, written with it (the tree's level 0). Null for the records written
-- before the log existed: the tree hashes those from the row when it reaches them.
ALTER TABLE registry_versions ADD COLUMN leaf_hash BYTEA;
ALTER TABLE consent_records ADD COLUMN leaf_hash BYTEA;
ALTER TABLE disclosures ADD COLUMN leaf_hash BYTEA;
ALTER TABLE audit_events ADD COLUMN leaf_hash BYTEA;

-- Records written before the log existed: numbered in the order they were written.
CREATE TEMPORARY TABLE log_backfill AS
SELECT t, id, row_number() OVER (ORDER BY at, t, id) - 1 AS leaf FROM (
    SELECT 1 AS t, version AS id, at FROM registry_versions
    UNION ALL SELECT 2, id, at FROM consent_records
    UNION ALL SELECT 3, id, at FROM disclosures
    UNION ALL SELECT 4, seq, at FROM audit_events
) AS r;
UPDATE registry_versions SET leaf = b.leaf FROM log_backfill b WHERE b.t = 1 AND b.id = version;
UPDATE consent_records SET leaf = b.leaf FROM log_backfill b WHERE b.t = 2 AND b.id = consent_records.id;
UPDATE disclosures SET leaf = b.leaf FROM log_backfill b WHERE b.t = 3 AND b.id = disclosures.id;
UPDATE audit_events SET leaf = b.leaf FROM log_backfill b WHERE b.t = 4 AND b.id = seq;

CREATE UNIQUE INDEX registry_versions_by_leaf ON registry_versions (leaf);
CREATE UNIQUE INDEX consent_records_by_leaf ON consent_records (leaf);
CREATE UNIQUE INDEX disclosures_by_leaf ON disclosures (leaf);
CREATE UNIQUE INDEX audit_events_by_leaf ON audit_events (leaf);

-- The next leaf number, and the registry version in force: a release is recorded only while the
-- registry it was judged by is still the newest, checked on this row under its lock.
CREATE TABLE log_head (
    one              INTEGER PRIMARY KEY CHECK (one = 1),
    size             BIGINT NOT NULL,
    registry_version BIGINT NOT NULL
);
INSERT INTO log_head (one, size, registry_version)
SELECT 1, (SELECT COUNT(*) FROM log_backfill),
       COALESCE((SELECT MAX(version) FROM registry_versions), 0);
DROP TABLE log_backfill;

-- How many leaves are in the tree (hashed and their nodes stored).
CREATE TABLE log_tree (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    size BIGINT NOT NULL
);
INSERT INTO log_tree (one, size) VALUES (1, 0);

-- Every complete subtree's hash: level 0 holds the leaves' hashes (copied from the records
-- when the tree grows, and kept here whatever becomes of the records); level l, n the hash of
-- leaves n * 2^l to (n + 1) * 2^l - 1. The tiles are read from here.
CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    n     BIGINT  NOT NULL,
    hash  BYTEA   NOT NULL,
    PRIMARY KEY (level, n)
);

-- Every signed checkpoint, kept.
CREATE TABLE log_checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA  NOT NULL,
    note TEXT   NOT NULL,
    at   BIGINT NOT NULL
);

-- Witnesses' cosignatures of checkpoints.
CREATE TABLE log_cosignatures (
    size    BIGINT NOT NULL,
    witness TEXT   NOT NULL,
    line    TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (size, witness)
);
