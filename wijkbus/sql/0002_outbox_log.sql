-- The outbox becomes the service's append-only log: rows are kept, and the relay publishes from
-- a position instead of marking rows sent (see wijkbus.relay for why this is gap-safe).

-- Where the relay stands: every row with id <= published_id has been published.
CREATE TABLE IF NOT EXISTS outbox_position (
    only_row     boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    published_id bigint      NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
-- Rows already sent stay published: the position starts below the oldest unsent row (a sent
-- row above it is sent once more; consumers de-duplicate by CloudEvent).
INSERT INTO outbox_position (published_id)
SELECT coalesce((SELECT min(id) - 1 FROM outbox WHERE sent_at IS NULL),
                (SELECT max(id) FROM outbox), 0)
ON CONFLICT DO NOTHING;

DROP INDEX IF EXISTS outbox_unsent;
ALTER TABLE outbox DROP COLUMN IF EXISTS sent_at;
-- Republishing and replays read one topic's rows in log order.
CREATE INDEX IF NOT EXISTS outbox_topic ON outbox (topic, id);

-- Every inserting statement first takes a shared advisory lock (until its transaction ends),
-- before any id is drawn from the sequence: the relay sees in pg_locks who may still hold an id.
CREATE OR REPLACE FUNCTION outbox_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('wijkbus.outbox'), hashtext(TG_TABLE_SCHEMA));
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS outbox_writer ON outbox;
CREATE TRIGGER outbox_writer BEFORE INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_writer();

-- What waits to be published (for operators and tests: SELECT count(*) FROM <schema>.outbox_backlog).
CREATE OR REPLACE VIEW outbox_backlog AS
SELECT o.* FROM outbox o, outbox_position p WHERE o.id > p.published_id;
