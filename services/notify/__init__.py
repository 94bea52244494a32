"""Notify: subscriptions, CloudEvents webhooks, Dutch e-mail and live feeds."""
