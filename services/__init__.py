"""The four wijkbus services: intake, routing, budget and notify."""
