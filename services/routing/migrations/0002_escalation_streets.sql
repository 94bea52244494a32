-- Issue 4: escalation chains with durable timers, rule set history, threshold alerts per street.

-- The chain is copied from the rule at assignment time, so a later rule set never rewrites it.
ALTER TABLE assignments
    ADD COLUMN chain           jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN hours           text    NOT NULL DEFAULT 'kalenderuren',
    ADD COLUMN escalation_step integer NOT NULL DEFAULT 0;

-- One pending deadline per unacknowledged assignment; fired under FOR UPDATE SKIP LOCKED.
CREATE TABLE escalation_timers (
    signal_id text        PRIMARY KEY REFERENCES assignments (signal_id),
    due_at    timestamptz NOT NULL
);
CREATE INDEX escalation_timers_due ON escalation_timers (due_at);

-- Load order and who loaded it: the newest row is the rule set in force.
ALTER TABLE rulesets
    ADD COLUMN seq       bigserial,
    ADD COLUMN loaded_by text NOT NULL DEFAULT 'startup',
    ADD COLUMN diff      text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX rulesets_seq ON rulesets (seq);

CREATE INDEX street_incidents_time ON street_incidents (observed_at);

-- Hysteresis: an alert stays active until an evaluation finds the street below the threshold.
CREATE TABLE street_alerts (
    street_key   text        NOT NULL,
    threshold_id text        NOT NULL,
    active       boolean     NOT NULL,
    crossings    integer     NOT NULL DEFAULT 0,
    evaluated_at timestamptz NOT NULL,
    PRIMARY KEY (street_key, threshold_id)
);

CREATE TABLE threshold_crossings (
    id           bigserial   PRIMARY KEY,
    street_key   text        NOT NULL,
    threshold_id text        NOT NULL,
    window_days  integer     NOT NULL,
    counts       jsonb       NOT NULL,
    advice       text        NOT NULL,
    crossed_at   timestamptz NOT NULL
);
