"""`composer studio`: start the local web page to compose, see and hear takes."""

from __future__ import annotations

import click

from composer.cli.common import reports_errors, warn
from composer.constants import STUDIO_HOST, STUDIO_PORT

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option("--host", default=STUDIO_HOST, show_default=True,
              help="address to listen on; anything but this machine's loopback lets other "
                   "computers reach the studio (a warning says so)")
@click.option("--port", type=click.IntRange(0, 65535), default=STUDIO_PORT, show_default=True,
              help="TCP port (0: any free port)")
@click.option("--no-browser", is_flag=True, help="do not open the page in a browser")
@reports_errors
def studio(host, port, no_browser):
    """Start the studio, a local web page: pick a model, generate takes, see their piano
    roll, listen, and download MIDI and WAV. Ctrl-C stops it and deletes its takes.

    Needs the `studio` extra: pip install 'numpy-lstm-composer[studio]'
    (from a clone: pip install ".[studio]").
    """
    import composer.studio as studio_package

    missing = studio_package.missing_packages()
    if missing:
        raise click.ClickException(
            f"the studio needs {' and '.join(missing)}, which are not installed; install "
            f"them with: {studio_package.INSTALL_COMMAND} (from a clone: pip install "
            "\".[studio]\")")
    if host not in LOOPBACK_HOSTS:
        warn(f"Warning: listening on {host}: other computers that can reach this address "
             "can use the studio (there is no password)")
    from composer.studio.server import serve

    serve(host, port, open_browser=not no_browser, echo=click.echo)
