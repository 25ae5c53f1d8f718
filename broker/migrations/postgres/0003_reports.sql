-- "This wasn't me" (the person's record): a person's report that a disclosure about them was
-- not their doing, for the operator to follow up. One report per disclosure; the reference is
-- what the person quotes when they contact the operator. The report's audit event is a leaf of
-- the log; this table is the operator's worklist.
CREATE TABLE disclosure_reports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    reference   TEXT   NOT NULL UNIQUE,
    txn         TEXT   NOT NULL UNIQUE,
    client_id   TEXT   NOT NULL,
    provider_id TEXT   NOT NULL,
    person_key  TEXT   NOT NULL
);
