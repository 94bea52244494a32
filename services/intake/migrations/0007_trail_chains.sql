-- Issue 12: everything a signal's trail shows is under a hash chain, not only the event log.
-- Each trail table gets its own chain (services/intake/trails.py): the sealer gives committed
-- rows a position in order; checkpoints sign every trail's head as a 'trail-checkpoint' act.
ALTER TABLE received_events
    ADD COLUMN seq       bigserial,
    ADD COLUMN position  bigint UNIQUE,
    ADD COLUMN prev_hash text,
    ADD COLUMN row_hash  text;
CREATE UNIQUE INDEX received_events_seq ON received_events (seq);
CREATE INDEX received_events_unsealed ON received_events (seq) WHERE position IS NULL;

ALTER TABLE vault_reads
    ADD COLUMN position  bigint UNIQUE,
    ADD COLUMN prev_hash text,
    ADD COLUMN row_hash  text;
CREATE INDEX vault_reads_unsealed ON vault_reads (id) WHERE position IS NULL;

ALTER TABLE retention_log
    ADD COLUMN position  bigint UNIQUE,
    ADD COLUMN prev_hash text,
    ADD COLUMN row_hash  text;
CREATE INDEX retention_log_unsealed ON retention_log (id) WHERE position IS NULL;

ALTER TABLE vault_erasures
    ADD COLUMN position  bigint UNIQUE,
    ADD COLUMN prev_hash text,
    ADD COLUMN row_hash  text;
CREATE INDEX vault_erasures_unsealed ON vault_erasures (id) WHERE position IS NULL;

--   trail-checkpoint  the head of the trail table named in `detail` at `at`: its row
--                     `position` had chain hash `row_hash` (written with every checkpoint).
ALTER TABLE ledger_acts DROP CONSTRAINT ledger_acts_kind_check;
ALTER TABLE ledger_acts ADD CONSTRAINT ledger_acts_kind_check
    CHECK (kind IN ('cutover', 'redaction', 'checkpoint', 'trail-checkpoint'));
