-- Who wants which events, and where to send them. The Authorization value and the signing
-- secret are stored only AES-GCM encrypted (nonce || ciphertext), bound to the row's id.
CREATE TABLE subscriptions (
    id                 uuid        PRIMARY KEY,
    owner_partner_id   text,                       -- NULL: created by an operator
    channel            text        NOT NULL,
    callback_url       text        NOT NULL,
    authorization_enc  bytea       NOT NULL,
    signing_secret_enc bytea       NOT NULL,
    types              text[]      NOT NULL,
    filter_partner     text,
    filter_buurt_code  text,
    filter_street_key  text,
    status             text        NOT NULL DEFAULT 'active',  -- active | deactivated | deleted
    status_reason      text,
    created_at         timestamptz NOT NULL,
    status_changed_at  timestamptz
);
CREATE INDEX subscriptions_active ON subscriptions (id) WHERE status = 'active';

-- One event for one subscription. The unique key makes a replayed event add nothing.
CREATE TABLE deliveries (
    id              bigserial   PRIMARY KEY,
    subscription_id uuid        NOT NULL REFERENCES subscriptions (id),
    event_source    text        NOT NULL,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    body            bytea       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',  -- pending | delivered | dead | cancelled
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    UNIQUE (subscription_id, event_source, event_id)
);
-- The head of each subscription's queue: its oldest pending delivery.
CREATE INDEX deliveries_pending ON deliveries (subscription_id, id) WHERE status = 'pending';
CREATE INDEX deliveries_dead ON deliveries (finished_at DESC) WHERE status = 'dead';

-- Every HTTP attempt: the delivery log.
CREATE TABLE delivery_attempts (
    id              bigserial   PRIMARY KEY,
    delivery_id     bigint      NOT NULL REFERENCES deliveries (id),
    subscription_id uuid        NOT NULL,
    attempt         integer     NOT NULL,
    status_code     integer,
    latency_ms      integer     NOT NULL,
    error           text,
    at              timestamptz NOT NULL
);
CREATE INDEX delivery_attempts_recent ON delivery_attempts (at DESC);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);

-- Wake the delivery worker once per inserting statement; delivered at commit.
CREATE FUNCTION deliveries_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_deliveries', '');
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_wake AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_wake();
