"""Budget's HTTP side."""
