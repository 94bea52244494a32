"""Notify: subscriptions and CloudEvents webhook deliveries."""
