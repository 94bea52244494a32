-- The live feed's log: every announced event in commit order, so a stream that reconnects with
-- Last-Event-ID (a seq) resumes where it was. Kept for NOTIFY_FEED_KEEP_HOURS.
CREATE TABLE feed_items (
    seq     bigserial   PRIMARY KEY,
    payload text        NOT NULL,  -- the announcement (JSON), as the live stream shows it
    at      timestamptz NOT NULL
);
CREATE INDEX feed_items_at ON feed_items (at);
