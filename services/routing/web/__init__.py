"""Routing's HTTP side: the operator API and the dashboard."""
