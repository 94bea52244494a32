"""The wijkhub: a temporary hub in a street with many incidents, and what it changed."""
