-- Which worker (one notify instance's run) holds a delivery's lease: a worker alone on a
-- subscription may claim ahead of its max_in_flight (a local queue, so sending never waits for
-- a claim), while it still sends at most max_in_flight at once; once another worker holds leases
-- of that subscription, all of them together stay within max_in_flight again.
ALTER TABLE deliveries ADD COLUMN leased_by uuid;
