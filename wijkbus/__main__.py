"""`python -m wijkbus` is the `wijkbus` command."""

from wijkbus.cli import main

main()
