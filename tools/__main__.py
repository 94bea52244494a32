"""`python -m tools` is the `wijkbus` command."""

from tools.cli import main

main()
