"""``reranklens ui``: the app, served as ``streamlit run app.py`` serves it from a clone, from any working directory.

Streamlit reads ``.streamlit/config.toml`` from the working directory (and ``~/.streamlit``) only, so an app
started elsewhere would lose its defaults: the loopback bind, the upload limit, no usage statistics, the theme.
They travel as command-line flags instead, read from the copy beside ``app.py``; flags also win over a config
file in the folder a user starts from. Streamlit replaces this process (``exec``), so Ctrl+C, signals and the
exit status are the server's own.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import socket
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from reranklens.config import APP_ROOT
from reranklens.errors import InvalidInputError

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

APP_SCRIPT = APP_ROOT / "app.py"
APP_CONFIG = APP_ROOT / ".streamlit" / "config.toml"
EXPOSED_NOTE = (
    "note: listening on {where}: anyone who reaches it can use every page; put it behind sign-in "
    "and a TLS proxy and bound what visitors may do (README: 'Running it for a team')."
)


def add_ui_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ui`` on the top-level subparsers."""
    ui = commands.add_parser("ui", help="serve the app (Explore, Label, Evaluate, Corpus, Models) in a browser")
    ui.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, help="port to listen on (default 8501, or the next free one)")
    # SUPPRESS: without the option here, the top-level `reranklens --data-dir D ui` keeps its value.
    ui.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where stores live; the demo is ingested there on first start (default: as for every command)",
    )
    ui.set_defaults(handler=cmd_ui)


def cmd_ui(workspace: Workspace, args: argparse.Namespace) -> int:
    command = streamlit_command(args.host, args.port)
    host = bare_host(args.host) if args.host is not None else str(app_config()["server"]["address"])
    check_can_listen(host, args.port)
    if not is_loopback(host):
        print(EXPOSED_NOTE.format(where=f"{host} port {args.port}" if args.port else host), file=sys.stderr)
    env = os.environ | {"RERANKLENS_DATA_DIR": str(workspace.settings.data_dir.expanduser().resolve())}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)


def streamlit_command(host: str | None, port: int | None) -> list[str]:
    """The ``streamlit run`` command line for the app with its own config, ``host`` and ``port`` over it.

    ``-P`` keeps the working directory off ``sys.path``: a module in the folder a user starts from (their own
    ``config.py``, a ``pandas/`` folder) must not shadow what the app imports.
    """
    if port is not None and not 0 < port < 65536:
        raise InvalidInputError(f"--port must be between 1 and 65535, got {port}.")
    if host is not None and not bare_host(host):
        raise InvalidInputError("--host must not be empty: give an address such as 127.0.0.1 or 0.0.0.0.")
    options = config_flags(app_config())
    if host is not None:
        options["server.address"] = bare_host(host)
    if port is not None:
        options["server.port"] = str(port)
    flags = [f"--{name}={value}" for name, value in options.items()]
    return [sys.executable, "-P", "-m", "streamlit", "run", str(APP_SCRIPT), *flags]


def check_can_listen(host: str, port: int | None) -> None:
    """Refuse, in one line, an address this machine does not have or a port in use (else Streamlit's traceback).

    Only a check: the socket is closed again at once, before Streamlit binds its own.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # As the server sets it: a port a stopped server left in TIME_WAIT is free, one listened on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        where = f"{host}:{port}" if port else host
        reason = "the port is in use: pick another with --port" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise InvalidInputError(f"Cannot listen on {where}: {reason or exc}.") from exc


def app_config() -> dict[str, dict[str, object]]:
    with APP_CONFIG.open("rb") as file:
        return tomllib.load(file)


def config_flags(config: dict[str, dict[str, object]]) -> dict[str, str]:
    """``{"server": {"maxUploadSize": 20}}`` -> ``{"server.maxUploadSize": "20"}``; booleans as ``true``/``false``."""
    flags: dict[str, str] = {}
    for section, options in config.items():
        for name, value in options.items():
            flags[f"{section}.{name}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return flags


def bare_host(host: str) -> str:
    """``" [::1] "`` -> ``"::1"``: an IPv6 address as sockets and Streamlit take it, without URL brackets."""
    return host.strip().removeprefix("[").removesuffix("]")


def is_loopback(host: str) -> bool:
    """Only this machine can connect: ``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if bare_host(host).lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare_host(host)).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface
