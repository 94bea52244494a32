-- Issue 10: intake's hash-chained event log is its outbox. A signal message is stored once, in
-- the outbox row the relay publishes; the chain columns are on that row. `event_log` stays as a
-- view with its old columns, so the sealer, verify, redactions and trails read it as before.
ALTER TABLE outbox
    ALTER COLUMN value DROP NOT NULL,  -- a redacted row keeps its place and hashes (retention)
    ADD COLUMN position     bigint UNIQUE,
    ADD COLUMN content_hash text,
    ADD COLUMN prev_hash    text,
    ADD COLUMN row_hash     text,
    ADD COLUMN redacted_at  timestamptz,
    ADD CONSTRAINT outbox_sealed CHECK ((position IS NULL) = (row_hash IS NULL));
CREATE INDEX outbox_unsealed ON outbox (id)
    WHERE position IS NULL AND topic IN ('signals.accepted', 'signals.feedback');
CREATE INDEX outbox_subject ON outbox (subject);

-- The rows logged so far go onto their outbox twins: the same message, written by the same
-- statement's transaction (same topic, time and value), paired n-th with n-th.
CREATE TEMP TABLE event_log_twins ON COMMIT DROP AS
WITH e AS (
    SELECT seq, topic, logged_at AS at, md5(value) AS h,
           row_number() OVER (PARTITION BY topic, logged_at, md5(value) ORDER BY seq) AS k
    FROM event_log WHERE value IS NOT NULL
), o AS (
    SELECT id, topic, created_at AS at, md5(value) AS h,
           row_number() OVER (PARTITION BY topic, created_at, md5(value) ORDER BY id) AS k
    FROM outbox WHERE topic IN ('signals.accepted', 'signals.feedback')
)
SELECT e.seq, o.id FROM e JOIN o USING (topic, at, h, k);

UPDATE outbox o SET subject = e.signal_id::text, position = e.position,
       content_hash = e.content_hash, prev_hash = e.prev_hash, row_hash = e.row_hash,
       redacted_at = e.redacted_at
FROM event_log_twins t JOIN event_log e USING (seq) WHERE o.id = t.id;

-- A row without a twin (its outbox copy was removed when retention anonymised the signal, as
-- intake did before this migration) joins the log with what it kept: a redacted row keeps its
-- hashes and no value. Republishing skips values that are gone.
INSERT INTO outbox (topic, key, value, headers, created_at, subject, position, content_hash,
                    prev_hash, row_hash, redacted_at)
SELECT topic, convert_to(key, 'UTF8'), value, '[["content-type", "application/cloudevents+json"]]',
       logged_at, signal_id::text, position, content_hash, prev_hash, row_hash, redacted_at
FROM event_log e WHERE NOT EXISTS (SELECT FROM event_log_twins t WHERE t.seq = e.seq)
ORDER BY seq;

DROP TABLE event_log;
CREATE VIEW event_log AS
SELECT id AS seq, topic, convert_from(key, 'UTF8') AS key, value, created_at AS logged_at,
       position, content_hash, prev_hash, row_hash, subject AS signal_id, redacted_at
FROM outbox WHERE topic IN ('signals.accepted', 'signals.feedback');
