-- Issue 16: the wijkhub — a street's advice, the hub opened (or declined), and what it changed.

-- What an evaluation and the advice need of an incident: when intake accepted it (response
-- times count from there) and which partner reported it. Older rows have neither.
ALTER TABLE street_incidents
    ADD COLUMN received_at timestamptz,
    ADD COLUMN partner_id  text;

-- Whether a crossing advises a wijkhub (a threshold's `wijkhub: false` advises something else).
ALTER TABLE threshold_crossings ADD COLUMN wijkhub boolean NOT NULL DEFAULT true;

-- The hub whose streets and period the signal fell in, as routing judged it.
ALTER TABLE assignments ADD COLUMN wijkhub_id text;
CREATE INDEX assignments_wijkhub ON assignments (wijkhub_id) WHERE wijkhub_id IS NOT NULL;

-- A hub as its decisions (the events on wijkhubs.events) made it. The contact person is
-- personal data: sealed under a key of its own (crypto-shredded by deleting the key); only
-- the contact's role is kept in the clear.
CREATE TABLE wijkhubs (
    hub_id          text        PRIMARY KEY,
    street_keys     text[]      NOT NULL,
    buurt_code      text,
    city            text        NOT NULL,
    address         text        NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    partners        text[]      NOT NULL,
    contact_role    text        NOT NULL,
    aims            text        NOT NULL,
    opened_by       text        NOT NULL,
    opened_at       timestamptz NOT NULL,
    closed_by       text,
    closed_at       timestamptz,
    outcome_note    text,
    evaluation      jsonb,
    contact_subject text,
    contact_sealed  bytea,
    CHECK (ends_at > starts_at)
);
CREATE INDEX wijkhubs_streets ON wijkhubs USING gin (street_keys);

CREATE TABLE wijkhub_contact_keys (
    subject_ref text  PRIMARY KEY,
    wrapped_key bytea
);

-- Every decision, in order: the trail of a street's advice and of a hub.
CREATE TABLE wijkhub_decisions (
    seq        bigserial   PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('opened', 'declined', 'extended', 'closed')),
    hub_id     text,
    street_key text,
    reason     text,
    decided_by text        NOT NULL,
    decided_at timestamptz NOT NULL,
    ends_at    timestamptz
);
CREATE INDEX wijkhub_decisions_street ON wijkhub_decisions (street_key, decided_at);
