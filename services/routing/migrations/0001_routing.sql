-- Every rule set routing has run with, kept for audits: an assignment names version and rule id.
CREATE TABLE rulesets (
    version      text        PRIMARY KEY,
    municipality text        NOT NULL,
    body         text        NOT NULL,
    loaded_at    timestamptz NOT NULL
);

-- One assignment per signal; the primary key makes a replayed signal a no-op.
CREATE TABLE assignments (
    signal_id       text        PRIMARY KEY,
    partner_id      text        NOT NULL,
    categorie       text        NOT NULL,
    street_key      text        NOT NULL,
    buurt_code      text,
    ruleset_version text        NOT NULL,
    rule_id         text        NOT NULL,
    status          text        NOT NULL DEFAULT 'toegewezen'
                    CHECK (status IN ('toegewezen', 'opgepakt', 'afgehandeld')),
    assigned_at     timestamptz NOT NULL,
    acknowledge_by  timestamptz,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    outcome         text
);
CREATE INDEX assignments_partner_status ON assignments (partner_id, status);
CREATE INDEX assignments_open ON assignments (acknowledge_by) WHERE status <> 'afgehandeld';

-- All-time incident counts per street and categorie (the street's name kept for display).
CREATE TABLE street_counts (
    street_key text   NOT NULL,
    categorie  text   NOT NULL,
    count      bigint NOT NULL,
    street     text   NOT NULL,
    city       text   NOT NULL,
    buurt_code text,
    PRIMARY KEY (street_key, categorie)
);

-- One row per incident, so rolling windows by observation time can be computed (issue 4).
CREATE TABLE street_incidents (
    signal_id   text        PRIMARY KEY,
    street_key  text        NOT NULL,
    categorie   text        NOT NULL,
    observed_at timestamptz NOT NULL
);
CREATE INDEX street_incidents_street_time ON street_incidents (street_key, observed_at);
