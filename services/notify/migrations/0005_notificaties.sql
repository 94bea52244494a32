-- The Notificaties API (VNG) face: an abonnement is a subscription on channel 'notificaties',
-- delivered as a `notificatie`, with its kanalen and their kenmerk filters as the standard has
-- them: [{"naam": "toewijzingen", "filters": {"buurt_code": "BU00140000"}}].
ALTER TABLE subscriptions ADD COLUMN kanalen jsonb;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_channel_target;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_channel_target CHECK (
    (channel IN ('webhook', 'notificaties') AND callback_url IS NOT NULL
        AND authorization_enc IS NOT NULL AND signing_secret_enc IS NOT NULL)
    OR (channel = 'email' AND email_address IS NOT NULL)
    OR (channel = 'initiator' AND callback_url IS NULL AND email_address IS NULL)
);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_kanalen CHECK (
    (channel = 'notificaties') = (kanalen IS NOT NULL)
);
