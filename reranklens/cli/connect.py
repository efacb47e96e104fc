"""``reranklens connect|connections|disconnect|serve-retriever``: a live retriever as the first stage.

``connect`` keeps an endpoint that speaks the retriever contract (README, "Your own application"); header
values (``--header "Authorization: Bearer ..."``) are stored owner-only and never printed, audited or exported.
``serve-retriever module:object`` puts a LangChain or LlamaIndex retriever behind that contract: it is the
only command that imports the user's code, in its own process.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from reranklens.access.audit import AuditLog, connect_detail
from reranklens.access.hosts import CONNECT_HOSTS_VARIABLE, check_host
from reranklens.cli.attach import CLI_USER
from reranklens.cli.common import EXIT_OK
from reranklens.errors import InvalidInputError
from reranklens.retrieve.connections import DEFAULT_TIMEOUT_S, parse_header

if TYPE_CHECKING:
    from reranklens.workspace import Workspace

DEFAULT_SERVE_PORT = 8765


def add_connect_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``connect``, ``connections``, ``disconnect`` and ``serve-retriever`` on the top-level subparsers."""
    connect = commands.add_parser(
        "connect",
        help="connect a live retriever (an HTTP endpoint speaking the retriever contract) as a first stage",
        description=f"Keep a live retriever under NAME. Only loopback hosts unless {CONNECT_HOSTS_VARIABLE} lists "
        "others. Header values are stored owner-only (0600) and never shown.",
    )
    connect.add_argument("url", help="the endpoint, e.g. http://127.0.0.1:8765/")
    connect.add_argument("--name", required=True, help="the connection's name (pick it with query -c / eval -c)")
    connect.add_argument(
        "--header", action="append", default=[], metavar='"NAME: VALUE"', help="sent with every request; repeatable"
    )
    connect.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help=f"seconds to wait (default {DEFAULT_TIMEOUT_S:g})"
    )
    connect.add_argument("--json", action="store_true", help="print one JSON object")
    connect.set_defaults(handler=cmd_connect)

    listing = commands.add_parser("connections", help="list connected live retrievers (header values masked)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_connections)

    disconnect = commands.add_parser("disconnect", help="forget a connection and its header values")
    disconnect.add_argument("name")
    disconnect.set_defaults(handler=cmd_disconnect)

    serve = commands.add_parser(
        "serve-retriever",
        help="serve a LangChain or LlamaIndex retriever found at module:object under the retriever contract",
    )
    serve.add_argument("object", metavar="module:object", help="e.g. my_app.rag:retriever (imported from here)")
    serve.add_argument("--port", type=int, default=DEFAULT_SERVE_PORT, help=f"default {DEFAULT_SERVE_PORT}")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    serve.set_defaults(handler=cmd_serve)


def cmd_connect(workspace: Workspace, args: argparse.Namespace) -> int:
    check_host(args.url, workspace.settings.connect_hosts, CONNECT_HOSTS_VARIABLE)
    headers = dict(parse_header(text) for text in args.header)
    connection = workspace.connect(args.url, args.name, headers, args.timeout)
    AuditLog(workspace.settings.data_dir).record(
        CLI_USER, "connect", connection.name, connect_detail(connection.url, connection.header_names)
    )
    if args.json:
        print(json.dumps(connection.to_json(), indent=2, ensure_ascii=False))
    else:
        headers_text = f", headers {', '.join(connection.masked_headers)}" if connection.header_names else ""
        print(
            f"Connected '{connection.name}': {connection.url} (timeout {connection.timeout_s:g} s{headers_text}). "
            f"Try: reranklens query 'a question' -c {connection.name}"
        )
    return EXIT_OK


def cmd_connections(workspace: Workspace, args: argparse.Namespace) -> int:
    connections = list(workspace.connections.all().values())
    if args.json:
        print(json.dumps([c.to_json() for c in connections], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not connections:
        print("No connections yet: reranklens connect URL --name NAME")
    for c in connections:
        headers = f"  {', '.join(c.masked_headers)}" if c.header_names else ""
        print(f"{c.name:<24} {c.url}  timeout {c.timeout_s:g} s{headers}")
    return EXIT_OK


def cmd_disconnect(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.disconnect(args.name)
    AuditLog(workspace.settings.data_dir).record(CLI_USER, "disconnect", args.name)
    print(f"Disconnected '{args.name}' (its header values are deleted).")
    return EXIT_OK


def cmd_serve(workspace: Workspace, args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise InvalidInputError(f"--port must be 1-65535, got {args.port}.")
    from reranklens.retrieve.serve import serve

    serve(args.object, args.host, args.port)
    return EXIT_OK
