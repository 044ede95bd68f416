"""The `composer` command line: parse options, call library code, print.

Thin by rule: each command parses its options, calls library code and prints.
Library code raises ComposerError; every command turns it into one line
`Error: ...` and exit status 1, never a traceback. Only this package imports
click, and no library module imports it (tests/test_architecture.py checks both).
"""

from composer.training.launch import share_cores

share_cores()  # under mpiexec: each rank its share of the cores, set before NumPy loads

from composer.cli.main import main  # noqa: E402

__all__ = ["main"]
