-- The buurtbudget's register: one household per address, per buurt.
CREATE TABLE households (
    address_id   text PRIMARY KEY,
    postcode     text NOT NULL,
    house_number text NOT NULL,
    buurt_code   text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_buurt ON households (buurt_code);

-- Initiatives residents propose for their buurt (the funding rules come with issue 5).
CREATE TABLE initiatives (
    initiative_id uuid        PRIMARY KEY,
    buurt_code    text        NOT NULL,
    title         text        NOT NULL,
    cost_cents    bigint      NOT NULL CHECK (cost_cents > 0),
    status        text        NOT NULL DEFAULT 'voorgesteld',
    created_at    timestamptz NOT NULL DEFAULT now()
);
