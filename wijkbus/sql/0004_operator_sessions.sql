-- Operators' dashboard logins and what operators did (wijkbus.sessions, wijkbus.operator_audit).
-- A session is known by the sha256 of its cookie only: a database reader cannot log in with it.
CREATE TABLE IF NOT EXISTS operator_sessions (
    token_sha256 text        PRIMARY KEY,
    operator     text        NOT NULL,
    role         text        NOT NULL,
    via          text        NOT NULL CHECK (via IN ('password', 'token', 'oidc')),
    started_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);

-- Every write an operator makes (and every login and logout), with the operator's name.
CREATE TABLE IF NOT EXISTS operator_actions (
    id       bigserial   PRIMARY KEY,
    at       timestamptz NOT NULL,
    operator text        NOT NULL,
    role     text        NOT NULL,
    action   text        NOT NULL,
    target   text        NOT NULL,
    status   integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS operator_actions_by_operator ON operator_actions (operator, at);
