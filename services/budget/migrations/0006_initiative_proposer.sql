-- Which household proposed an initiative, as its per-year pseudonym (never the household id or
-- address), so the resident who proposed it sees its status on the resident pages.
ALTER TABLE initiatives ADD COLUMN proposed_by text;
CREATE INDEX initiatives_proposed_by ON initiatives (municipality, year, proposed_by)
    WHERE proposed_by IS NOT NULL;
