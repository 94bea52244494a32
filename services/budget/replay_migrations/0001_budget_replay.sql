-- What budget's published events say about its state, rebuilt by `wijkbus replay budget`.
-- No CREATE ... IF NOT EXISTS: a replay into the live schema (which has these names) must fail.

-- Per initiative: the last status, supporter count, rule and cost its events carried
-- (NULL where no event said so, e.g. when the proposal is no longer on the topic).
CREATE TABLE initiatives (
    initiative_id uuid    PRIMARY KEY,
    buurt_code    text    NOT NULL,
    status        text,
    supporters    integer NOT NULL DEFAULT 0,
    funding_rule  text,
    cost_cents    bigint
);

-- Per vote round: how many ballots were cast, and when the last one was.
CREATE TABLE rounds (
    round_id     text        PRIMARY KEY,
    ballots      integer     NOT NULL,
    last_cast_at timestamptz NOT NULL
);
