-- Every event intake accepted, keyed by what identifies it for the partner: (source, id).
CREATE TABLE received_events (
    source      text        NOT NULL,
    event_id    text        NOT NULL,
    body_hash   text        NOT NULL,
    partner_id  text        NOT NULL,
    type        text        NOT NULL,
    signal_id   uuid,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (source, event_id)
);

-- The signals, street level only: no house number, postcode, description or person here.
CREATE TABLE signals (
    signal_id           uuid        PRIMARY KEY,
    partner_id          text        NOT NULL,
    source              text        NOT NULL,
    event_id            text        NOT NULL,
    categorie           text        NOT NULL,
    subcategory         text,
    severity            text        NOT NULL,
    street_key          text        NOT NULL,
    street              text        NOT NULL,
    city                text        NOT NULL,
    buurt_code          text,
    observed_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    assigned_partner_id text,
    status              text        NOT NULL DEFAULT 'ontvangen'
);
CREATE INDEX signals_received ON signals (received_at DESC);

-- One row per answer given to a partner: the dashboard's counts and top rejection reasons.
CREATE TABLE outcomes (
    id         bigserial   PRIMARY KEY,
    partner_id text        NOT NULL,
    channel    text        NOT NULL,
    status     text        NOT NULL,
    reason     text,
    at         timestamptz NOT NULL
);
CREATE INDEX outcomes_partner ON outcomes (partner_id, status);
