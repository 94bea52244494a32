-- Every rule a pabulib round declares: caps on any project attribute (not only categories),
-- both leftover rules and whether the caps bind them; a decision records the project funded
-- in part and whether a tie decided the last place. Only adds to 0001-0003.

-- A cap is per value of an attribute: category (as before) or e.g. neighborhood.
ALTER TABLE round_category_caps ADD COLUMN attribute text NOT NULL DEFAULT 'category';
ALTER TABLE round_category_caps DROP CONSTRAINT round_category_caps_pkey;
ALTER TABLE round_category_caps ADD PRIMARY KEY (round_id, attribute, category);

-- Values of the capped attributes other than category, e.g. {"neighborhood": ["Noord"]}.
ALTER TABLE round_projects ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}';

-- pabulib's leftover_budget text ('' for none); fill_leftover stays for older readers.
ALTER TABLE rounds
    ADD COLUMN leftover_rule        text    NOT NULL DEFAULT '',
    ADD COLUMN leftover_within_caps boolean NOT NULL DEFAULT false;
UPDATE rounds SET leftover_rule =
    'Fund additional projects that fit within leftover budget ordered by score'
    WHERE fill_leftover;

ALTER TABLE round_decisions
    ADD COLUMN partial_project_id text,
    ADD COLUMN partial_amount     bigint CHECK (partial_amount > 0),
    ADD COLUMN tie                boolean NOT NULL DEFAULT false;

-- What each project gets: its cost when selected, part of it when partially funded.
ALTER TABLE round_results ADD COLUMN funded bigint;
