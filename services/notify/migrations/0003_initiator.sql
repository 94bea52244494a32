-- The initiator channel: an e-mail to the initiator of a buurtbudget initiative. Budget keeps the
-- address sealed; notify asks budget for it when it sends, and never stores it.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_channel_target;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_channel_target CHECK (
    (channel = 'webhook' AND callback_url IS NOT NULL AND authorization_enc IS NOT NULL
        AND signing_secret_enc IS NOT NULL)
    OR (channel = 'email' AND email_address IS NOT NULL)
    OR (channel = 'initiator' AND callback_url IS NULL AND email_address IS NULL)
);
