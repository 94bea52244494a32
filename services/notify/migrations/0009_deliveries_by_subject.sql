-- A signal's deliveries, for its trail (services/notify/trail.py, GET /api/v1/signals/{id}/trail).
CREATE INDEX IF NOT EXISTS deliveries_subject ON deliveries (subject) WHERE subject <> '';
