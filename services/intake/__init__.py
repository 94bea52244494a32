"""Intake: the partner gateway."""
