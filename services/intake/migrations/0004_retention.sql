-- Retention (AVG): when a signal was resolved, what retention did, and redacted log rows.
ALTER TABLE signals ADD COLUMN resolved_at timestamptz;
ALTER TABLE signals ADD COLUMN anonymised_at timestamptz;
CREATE INDEX signals_resolved ON signals (resolved_at) WHERE resolved_at IS NOT NULL;

-- A redacted event-log row keeps its place and hashes, not its content: the chain still holds.
ALTER TABLE event_log ALTER COLUMN value DROP NOT NULL;
ALTER TABLE event_log ADD COLUMN redacted_at timestamptz;
ALTER TABLE event_log ADD COLUMN signal_id uuid;
CREATE INDEX event_log_signal ON event_log (signal_id);

CREATE TABLE retention_log (
    id        bigserial   PRIMARY KEY,
    at        timestamptz NOT NULL,
    signal_id uuid        NOT NULL,
    categorie text        NOT NULL,
    action    text        NOT NULL,  -- persoonsgegevens vernietigd | melding geanonimiseerd
    reason    text        NOT NULL
);
CREATE INDEX retention_log_signal ON retention_log (signal_id);
