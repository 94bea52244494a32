-- Each log row keeps its event's subject (OutgoingMessage.subject): a service that files its
-- log by subject (intake's hash-chained event log is its outbox) reads it without parsing values.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS subject text;
