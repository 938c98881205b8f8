"""``gateway web``: the web view of a home (and the demo's, with ``gateway demo --web``)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.config import ConfigError, load_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the address to listen on (127.0.0.1 unless behind a TLS proxy)")  # fmt: skip
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False),
              help="serve over TLS with this certificate (PEM) and --keyfile")  # fmt: skip
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def web(ctx: click.Context, host: str, port: int, certfile: str | None,
        keyfile: str | None) -> None:  # fmt: skip
    """Serve the web view (every page behind a login: gateway users add NAME --role ...)."""
    from gateway.cli.main import home_dir

    home = home_dir(ctx)
    if bool(certfile) != bool(keyfile):
        raise click.UsageError("--certfile and --keyfile go together")
    try:
        load_settings(home)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    serve_home(home, host, port, certfile=certfile, keyfile=keyfile)


def serve_home(home: Path, host: str, port: int, *, certfile: str | None = None,
               keyfile: str | None = None) -> None:  # fmt: skip
    from gateway.logs import configure
    from gateway.web.server import serve

    configure()
    scheme = "https" if certfile else "http"
    click.echo(f"gateway web: {scheme}://{host}:{port}/ (home {home}); Ctrl-C stops it")
    serve(home, host, port, certfile=certfile, keyfile=keyfile)


def demo_web(home: Path, port: int) -> None:
    """After the demo: a payment held for review, a user, and the web view of the demo home."""
    from gateway.demo.web import add_demo_user, resend_a_payment

    name = resend_a_payment(home)
    password = add_demo_user(home)
    click.echo(f"a copy of an 835 came in again as {name}: its payments are held for review")
    click.echo(f"log in as demo (admin) with the password {password}")
    serve_home(home, "127.0.0.1", port)
