-- Issue 14: the assignments API filters by street and by buurt, newest first.
CREATE INDEX IF NOT EXISTS assignments_street ON assignments (street_key, assigned_at DESC);
CREATE INDEX IF NOT EXISTS assignments_buurt ON assignments (buurt_code, assigned_at DESC)
    WHERE buurt_code IS NOT NULL;
