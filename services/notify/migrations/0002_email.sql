-- E-mail subscriptions: an address instead of a callback, token and signing secret.
ALTER TABLE subscriptions ADD COLUMN email_address text;
ALTER TABLE subscriptions ALTER COLUMN callback_url DROP NOT NULL;
ALTER TABLE subscriptions ALTER COLUMN authorization_enc DROP NOT NULL;
ALTER TABLE subscriptions ALTER COLUMN signing_secret_enc DROP NOT NULL;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_channel_target CHECK (
    (channel = 'webhook' AND callback_url IS NOT NULL AND authorization_enc IS NOT NULL
        AND signing_secret_enc IS NOT NULL)
    OR (channel = 'email' AND email_address IS NOT NULL)
);

