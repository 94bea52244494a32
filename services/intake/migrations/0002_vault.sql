-- The vault (wijkbus/vault.py): personal data sealed per data subject. Nothing here is readable
-- without the master key, and nothing of an erased subject is readable at all.

-- One data key per subject, wrapped under the master key; NULL once erased (crypto-shredded).
-- The row itself stays as a tombstone, so a re-sent event for the subject is not sealed again.
CREATE TABLE vault_subjects (
    subject_ref text        PRIMARY KEY,
    wrapped_key bytea,
    created_at  timestamptz NOT NULL,
    erased_at   timestamptz
);

-- The person of one signal, AES-GCM under its subject's key; NULL once the subject was erased.
CREATE TABLE vault_persons (
    signal_id   uuid        PRIMARY KEY,
    subject_ref text        NOT NULL REFERENCES vault_subjects (subject_ref),
    sealed      bytea,
    sealed_at   timestamptz NOT NULL
);
CREATE INDEX vault_persons_subject ON vault_persons (subject_ref);

-- Who erased which subject, and when (`wijkbus erase --by`).
CREATE TABLE vault_erasures (
    id          bigserial   PRIMARY KEY,
    subject_ref text        NOT NULL,
    erased_at   timestamptz NOT NULL,
    erased_by   text        NOT NULL,
    persons     integer     NOT NULL
);

-- Every attempt to read a person (allowed or refused), without the person.
CREATE TABLE vault_reads (
    id         bigserial   PRIMARY KEY,
    partner_id text,
    signal_id  text        NOT NULL,
    outcome    text        NOT NULL,
    at         timestamptz NOT NULL
);
CREATE INDEX vault_reads_signal ON vault_reads (signal_id);
