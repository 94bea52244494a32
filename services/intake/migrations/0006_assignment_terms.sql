-- Issue 14: a partner sees on its signal which rule (and rule set version) assigned it and by
-- when the responder must take it up, as learned from routing.events. NULL for signals
-- assigned before this migration, until routing's events are replayed.
ALTER TABLE signals
    ADD COLUMN rule_id         text,
    ADD COLUMN ruleset_version text,
    ADD COLUMN assigned_at     timestamptz,
    ADD COLUMN acknowledge_by  timestamptz;
