-- Less for PostgreSQL to write per delivery; each is inserted once and updated twice (claimed,
-- answered), and neither update can be HOT: both change a column of the partial indexes'
-- predicates (status, lease_until, batch_id).
-- The soonest delivery in backoff is found per subscription through deliveries_due
-- (services/notify/claims.py, next_due_in_s), which every pending row is in anyway; an index of
-- its own cost every fan-out insert and every claim one more index entry.
DROP INDEX IF EXISTS deliveries_next_due;
-- Room on each page for a row's new versions: a claim's and an answer's copy land on the page
-- of the row they replace, one page written and logged instead of two, and pruning the old ones
-- frees that room again. Pages written from now on; the rows already there stay where they are.
ALTER TABLE deliveries SET (fillfactor = 50);
