-- Everything intake published about signals (accepted signals and feedback), exactly as it went
-- to the bus: the source for republishing after the broker lost its data, and a hash chain that
-- makes any later edit evident. Rows are appended in the accepting transaction; the sealer gives
-- them their place in the chain afterwards, in commit order, so accepting never waits on a lock.
CREATE TABLE event_log (
    seq          bigserial   PRIMARY KEY,
    topic        text        NOT NULL,
    key          text,
    value        bytea       NOT NULL,
    logged_at    timestamptz NOT NULL DEFAULT now(),
    position     bigint      UNIQUE,
    content_hash text,
    prev_hash    text,
    row_hash     text,
    CHECK ((position IS NULL) = (row_hash IS NULL))
);
CREATE INDEX event_log_unsealed ON event_log (seq) WHERE position IS NULL;
