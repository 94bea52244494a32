-- Ledger acts: what intake itself did to its event log, each act chained to the one before and
-- signed with intake's ledger key (INTAKE_LEDGER_KEY, Ed25519):
--   cutover    rows up to `position` were sealed under hash v1 (topic, key, value); every later
--              row is sealed under v2, which also covers signal_id and logged_at;
--   redaction  retention removed the content of row `position`; `row_hash` is the content hash
--              it removed and `at` equals that row's redacted_at;
--   checkpoint the sealed chain's head at `at`: row `position` had chain hash `row_hash`.
-- A NULL value that no signed redaction accounts for, a relabelled signal_id or a chain that
-- ends before a checkpoint's row fails `wijkbus audit verify`.
CREATE TABLE ledger_acts (
    n          bigint      PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('cutover', 'redaction', 'checkpoint')),
    position   bigint      NOT NULL,
    row_hash   text        NOT NULL,
    at         timestamptz NOT NULL,
    detail     text        NOT NULL,
    prev_hash  text,
    act_hash   text,
    public_key text,
    signature  text
);
CREATE UNIQUE INDEX ledger_acts_redaction ON ledger_acts (position) WHERE kind = 'redaction';

-- The cut-over is recorded here, where the boundary is known, and signed by intake when it first
-- starts after this migration (a migration holds no key). The rows already sealed keep their v1
-- hashes: a ledger is not rewritten, not even to strengthen it.
INSERT INTO ledger_acts (n, kind, position, row_hash, at, detail)
SELECT 1, 'cutover', coalesce(head.position, 0), coalesce(head.row_hash, repeat('0', 64)), now(),
       'hash v2 from chain row ' || (coalesce(head.position, 0) + 1)
       || ': signal_id and logged_at under the hash, redactions and checkpoints signed'
FROM (SELECT 1) AS one
LEFT JOIN (
    SELECT position, row_hash FROM event_log WHERE position IS NOT NULL
    ORDER BY position DESC LIMIT 1
) AS head ON true;
