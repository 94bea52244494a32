"""Notify's HTTP side: the subscriptions API and the operator dashboard."""
