-- Participatory-budgeting rounds ("vote"): a fixed budget, projects, and approval ballots.
CREATE TABLE rounds (
    round_id      text        PRIMARY KEY,
    title         text        NOT NULL,
    buurt_code    text,
    budget        bigint      NOT NULL CHECK (budget >= 0),
    currency      text        NOT NULL DEFAULT 'EUR',
    rule          text        NOT NULL,
    vote_type     text        NOT NULL DEFAULT 'approval',
    min_length    integer,
    max_length    integer,
    max_sum_cost  bigint,
    fill_leftover boolean     NOT NULL DEFAULT false,
    -- Where the round came from (a pabulib file) and its SHA-256, so a re-import is recognised.
    source        text,
    source_sha256 text,
    meta          jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE round_category_caps (
    round_id text   NOT NULL REFERENCES rounds ON DELETE CASCADE,
    category text   NOT NULL,
    cap      bigint NOT NULL CHECK (cap >= 0),
    PRIMARY KEY (round_id, category)
);

CREATE TABLE round_projects (
    round_id   text   NOT NULL REFERENCES rounds ON DELETE CASCADE,
    project_id text   NOT NULL,
    title      text   NOT NULL,
    cost       bigint NOT NULL CHECK (cost >= 0),
    categories text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (round_id, project_id)
);

-- One ballot per voter per round: the primary key is what makes a second ballot impossible.
-- voter_id is pabulib's anonymous voter id; resident votes must store a per-round pseudonym
-- of the household here (never the address), so a ballot cannot be traced to an address.
CREATE TABLE round_ballots (
    round_id text        NOT NULL REFERENCES rounds ON DELETE CASCADE,
    voter_id text        NOT NULL,
    cast_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, voter_id)
);

CREATE TABLE round_approvals (
    round_id   text NOT NULL,
    voter_id   text NOT NULL,
    project_id text NOT NULL,
    PRIMARY KEY (round_id, voter_id, project_id),
    FOREIGN KEY (round_id, voter_id) REFERENCES round_ballots ON DELETE CASCADE,
    FOREIGN KEY (round_id, project_id) REFERENCES round_projects ON DELETE CASCADE
);
CREATE INDEX round_approvals_project ON round_approvals (round_id, project_id);

-- The last decision of a round: per project its votes, whether it won, and why.
CREATE TABLE round_decisions (
    round_id   text        PRIMARY KEY REFERENCES rounds ON DELETE CASCADE,
    rule       text        NOT NULL,
    spent      bigint      NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE round_results (
    round_id       text    NOT NULL REFERENCES round_decisions ON DELETE CASCADE,
    project_id     text    NOT NULL,
    votes          integer NOT NULL,
    selected       boolean NOT NULL,
    selection_rank integer,
    reason         text    NOT NULL,
    PRIMARY KEY (round_id, project_id),
    FOREIGN KEY (round_id, project_id) REFERENCES round_projects ON DELETE CASCADE
);
