-- Order per subject, several deliveries in flight, batched webhooks.
-- A delivery waits only for the earlier pending deliveries of its own subject (the CloudEvent
-- `subject`, '' for events without one); a claimed delivery holds a lease until its attempt is
-- recorded, so a second notify instance skips it, and takes it over if the first one died.
ALTER TABLE deliveries ADD COLUMN subject text NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN lease_until timestamptz;
-- A batched delivery's batch, kept on retries so a failed batch is sent again as it was.
ALTER TABLE deliveries ADD COLUMN batch_id uuid;
CREATE INDEX deliveries_subject_pending ON deliveries (subscription_id, subject, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (subscription_id)
    WHERE status = 'pending' AND lease_until IS NOT NULL;
CREATE INDEX deliveries_next_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (subscription_id, next_attempt_at, id)
    WHERE status = 'pending';
-- Batches waiting for a retry: found without reading a subscription's whole backlog.
CREATE INDEX deliveries_batched ON deliveries (subscription_id, id)
    WHERE status = 'pending' AND batch_id IS NOT NULL;

-- How many deliveries (or batches) of a subscription may be in flight at once, and batching.
ALTER TABLE subscriptions ADD COLUMN max_in_flight integer NOT NULL DEFAULT 8
    CHECK (max_in_flight BETWEEN 1 AND 64);
ALTER TABLE subscriptions ADD COLUMN batch_max_events integer
    CHECK (batch_max_events BETWEEN 1 AND 1000);
ALTER TABLE subscriptions ADD COLUMN batch_max_wait_ms integer
    CHECK (batch_max_wait_ms BETWEEN 0 AND 60000);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_batch CHECK (
    (batch_max_events IS NULL) = (batch_max_wait_ms IS NULL)
    AND (batch_max_events IS NULL OR channel = 'webhook')
);
