-- The buurtbudget proper: municipalities, years, households with voting codes, initiatives and
-- the support households give them. Only adds to 0001/0002, so an existing database migrates.

CREATE TABLE municipalities (
    municipality    text    PRIMARY KEY,
    allowance_cents integer NOT NULL DEFAULT 1000 CHECK (allowance_cents >= 0),
    funding_rule    text    NOT NULL DEFAULT 'pledge'
                    CHECK (funding_rule IN ('pledge', 'majority', 'vote'))
);

-- household_id is what everything else refers to, never the address.
ALTER TABLE households
    ADD COLUMN household_id uuid        NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    ADD COLUMN municipality text        REFERENCES municipalities,
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN removed_at   timestamptz;
CREATE INDEX households_municipality ON households (municipality, buurt_code)
    WHERE removed_at IS NULL;

-- A year's allowance and rule are fixed when it opens; closing records what lapsed.
CREATE TABLE years (
    municipality    text        NOT NULL REFERENCES municipalities,
    year            integer     NOT NULL,
    allowance_cents integer     NOT NULL CHECK (allowance_cents >= 0),
    funding_rule    text        NOT NULL,
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'gesloten')),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    households      integer,
    spent_cents     bigint,
    lapsed_cents    bigint,
    PRIMARY KEY (municipality, year)
);

-- Only the SHA-256 of a code is kept: a stolen table cannot be turned back into codes.
CREATE TABLE voting_codes (
    code_hash    bytea       PRIMARY KEY,
    household_id uuid        NOT NULL REFERENCES households (household_id),
    municipality text        NOT NULL,
    year         integer     NOT NULL,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (household_id, year),
    FOREIGN KEY (municipality, year) REFERENCES years
);

ALTER TABLE initiatives
    ADD COLUMN municipality   text REFERENCES municipalities,
    ADD COLUMN year           integer,
    ADD COLUMN description    text NOT NULL DEFAULT '',
    ADD COLUMN funding_rule   text,
    ADD COLUMN deadline       timestamptz,
    ADD COLUMN reason         text,
    ADD COLUMN contact_subject text,
    ADD COLUMN contact_sealed bytea,
    ADD COLUMN decided_at     timestamptz;
CREATE INDEX initiatives_buurt ON initiatives (municipality, buurt_code, status);

-- The sealed initiator contact's data key, wrapped under the vault's key-encryption key.
-- Deleting a row shreds every contact sealed under it.
CREATE TABLE contact_keys (
    subject_ref text  PRIMARY KEY,
    wrapped_key bytea
);

-- One row per household's support; `supporter` is a per-year pseudonym of the household
-- (an HMAC of its id), never its address. The unique indexes are the "one household, one say".
CREATE TABLE supports (
    initiative_id uuid        NOT NULL REFERENCES initiatives,
    municipality  text        NOT NULL,
    year          integer     NOT NULL,
    buurt_code    text        NOT NULL,
    supporter     text        NOT NULL,
    funding_rule  text        NOT NULL,
    amount_cents  integer     NOT NULL DEFAULT 0,
    supported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (initiative_id, supporter)
);
CREATE UNIQUE INDEX supports_one_pledge_a_year ON supports (municipality, year, supporter)
    WHERE funding_rule = 'pledge';

-- Vote rounds residents take part in: which year they belong to and whether they are open.
ALTER TABLE rounds
    ADD COLUMN municipality text,
    ADD COLUMN year         integer,
    ADD COLUMN status       text NOT NULL DEFAULT 'geimporteerd';

-- The fallback key for household pseudonyms when BUDGET_PSEUDONYM_KEY is not set (dev, tests):
-- stable across restarts, 244 random bits. Production sets the key outside the database.
CREATE TABLE pseudonym_key (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    secret   bytea   NOT NULL
);
INSERT INTO pseudonym_key (secret) VALUES (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()));
