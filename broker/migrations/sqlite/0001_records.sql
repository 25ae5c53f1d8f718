-- The system of record (SQLite, the embedded default): what must outlive a login. Times are Unix milliseconds;
-- lists of names are space-separated, as in the audit trail; registry entries are JSON; yes or
-- no is 1 or 0 (one type that both databases and the queries of both read alike).
-- The same schema as ../postgres/0001_records.sql in SQLite types; the broker's queries run on both.

-- The registry, one row per version: the newest is in force. A change is a new version that
-- says who proposed it, who approved it, when, why, and the entry before and after.
CREATE TABLE registry_versions (
    version      BIGINT PRIMARY KEY,
    registry     TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    target       TEXT,
    proposed_by  TEXT,
    approved_by  TEXT,
    reason       TEXT,
    entry_before TEXT,
    entry_after  TEXT,
    at           BIGINT NOT NULL
);

-- The conformance reports of providers, newest last.
CREATE TABLE conformance_reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id TEXT    NOT NULL,
    passed      INTEGER NOT NULL CHECK (passed IN (0, 1)),
    report      TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);
CREATE INDEX conformance_reports_by_provider ON conformance_reports (provider_id, id);

-- Consent records (PCTF notice and consent, CORG.01 and CORG.02): append-only; a withdrawal
-- or an expiry is a record of its own.
CREATE TABLE consent_records (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                BIGINT  NOT NULL,
    decision          TEXT    NOT NULL,
    how               TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    person_key        TEXT    NOT NULL,
    client_id         TEXT    NOT NULL,
    agreement_id      TEXT    NOT NULL,
    agreement_version BIGINT  NOT NULL,
    lang              TEXT    NOT NULL,
    attributes        TEXT    NOT NULL,
    remember          INTEGER NOT NULL CHECK (remember IN (0, 1)),
    expires_at        BIGINT,
    txn               TEXT,
    reason            TEXT
);
CREATE INDEX consent_records_by_consent
    ON consent_records (subject, client_id, agreement_id, agreement_version, id);
CREATE INDEX consent_records_by_person ON consent_records (person_key, id);

-- One record per release to a service: attribute names, never values.
CREATE TABLE disclosures (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                BIGINT NOT NULL,
    txn               TEXT   NOT NULL UNIQUE,
    client_id         TEXT   NOT NULL,
    agreement_id      TEXT   NOT NULL,
    agreement_version BIGINT NOT NULL,
    legal_basis       TEXT   NOT NULL,
    consent           TEXT   NOT NULL,
    provider_id       TEXT   NOT NULL,
    level             TEXT   NOT NULL,
    released          TEXT   NOT NULL,
    withheld          TEXT   NOT NULL,
    subject           TEXT   NOT NULL,
    person_key        TEXT   NOT NULL
);
CREATE INDEX disclosures_by_person ON disclosures (person_key, id);

-- The audit trail: the events of the log lines, with their fields as the JSON object the line
-- carries.
CREATE TABLE audit_events (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    at     BIGINT NOT NULL,
    level  TEXT   NOT NULL,
    event  TEXT   NOT NULL,
    fields TEXT   NOT NULL
);
