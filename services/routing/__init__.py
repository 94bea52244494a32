"""Routing: who responds first, SLA tracking and per-street incident counts."""
