"""Shared pieces of the operator pages: charts, Dutch times, the live-update script."""
