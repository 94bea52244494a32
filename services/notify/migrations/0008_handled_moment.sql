-- When the fan-out handled an event is the moment its inbox claim was drawn, under the lock that
-- orders it against subscription changes (services/notify/hearing.py), not the moment its
-- transaction began: a replay compares it with created_at and status_changed_at.
ALTER TABLE inbox ALTER COLUMN processed_at SET DEFAULT clock_timestamp();
