"""`python -m composer.cli ...` runs the command line, as the `composer` command does."""

from composer.cli.main import main

main(prog_name="composer")
