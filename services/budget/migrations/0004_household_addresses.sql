-- For the letters: each household's street and city sealed under a data key of its own (wrapped
-- under the vault's key-encryption key), and the buurten's names. Only adds, so an existing
-- database migrates; households imported before keep NULL (their letters name no street).
ALTER TABLE households
    ADD COLUMN address_key    bytea,
    ADD COLUMN address_sealed bytea;

CREATE TABLE buurten (
    municipality text NOT NULL REFERENCES municipalities,
    buurt_code   text NOT NULL,
    name         text NOT NULL,
    PRIMARY KEY (municipality, buurt_code)
);
