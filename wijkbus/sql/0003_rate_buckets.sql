-- Rate limits shared by every replica of the service (wijkbus.ratelimit), one row per caller.
-- GCRA: `tat` is when the bucket is full again (epoch seconds); a cost of n tokens moves it
-- n / rate later, and is allowed while it stays within burst / rate of now. Bucket names are
-- HMACs under rate_bucket_secret: no client address or code is kept here in clear.
CREATE TABLE rate_buckets (
    bucket text PRIMARY KEY,
    tat double precision NOT NULL
);

CREATE TABLE rate_bucket_secret (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    secret bytea NOT NULL
);

-- Spend p_inc seconds of the bucket (p_force: even beyond its tolerance p_tau, for failures that
-- happened anyway); returns how many seconds the caller must wait (0: allowed now).
CREATE FUNCTION rate_take(
    p_bucket text, p_inc double precision, p_tau double precision, p_force boolean,
    p_now double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := coalesce(p_now, extract(epoch FROM clock_timestamp()));
    base double precision;
BEGIN
    INSERT INTO rate_buckets (bucket, tat) VALUES (p_bucket, now_s) ON CONFLICT DO NOTHING;
    SELECT greatest(tat, now_s) INTO base FROM rate_buckets WHERE bucket = p_bucket FOR UPDATE;
    IF p_force OR base + p_inc - now_s <= p_tau THEN
        UPDATE rate_buckets SET tat = base + p_inc WHERE bucket = p_bucket;
    END IF;
    RETURN greatest(0, base + p_inc - now_s - p_tau);
END
$$;
