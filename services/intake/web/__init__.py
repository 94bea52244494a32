"""Intake's HTTP side: the partner API and the operator dashboard."""
