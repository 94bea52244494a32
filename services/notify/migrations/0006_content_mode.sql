-- A webhook subscription chooses how its CloudEvents arrive: structured (the whole event as JSON
-- in the body, as before) or binary (the attributes in ce-* headers, the data alone in the body).
ALTER TABLE subscriptions ADD COLUMN content_mode text NOT NULL DEFAULT 'structured'
    CONSTRAINT subscriptions_content_mode CHECK (content_mode IN ('structured', 'binary'));
