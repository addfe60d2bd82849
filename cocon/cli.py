"""``cocon serve | migrate | bench``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from cocon.config import Settings, load_settings
from cocon.errors import ConfigError
from cocon.media import cli as media_cli
from cocon.moderation import cli as moderation_cli
from cocon.safety import cli as safety_cli


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        config_file=args.config,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=getattr(args, "data_dir", None),
    )


def _serve(settings: Settings) -> None:
    from aiohttp import web

    from cocon.node import build_app

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - optional speed-up
        pass
    app = build_app(settings)
    print(f"Cocon écoute sur http://{settings.host}:{settings.port}/", flush=True)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=3.0,
        handle_signals=True,
    )


def _migrate(settings: Settings) -> None:
    from cocon.store.migrate import upgrade

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    print("Base de données à jour.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cocon", description="Cocon chat server")
    parser.add_argument("--config", help="TOML settings file (or COCON_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a node")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--data-dir")
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--data-dir")
    moderation_cli.add_parsers(sub)
    media_cli.add_parser(sub)
    safety_cli.add_parser(sub)
    media_cli.add_hashlist_parser(sub)
    bench = sub.add_parser("bench", help="run a benchmark scenario (see docs/benchmarks.md)")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if getattr(args, "safety_handler", None) is not None:
        return int(args.safety_handler(args))  # reads stdin; needs no settings
    if args.command == "bench":
        # The suite lives beside the package, in the source tree (bench/).
        bench_main = importlib.import_module("bench.__main__").main
        return int(bench_main(args.rest) or 0)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"cocon: {exc}", file=sys.stderr)
        return 2
    try:
        handler = getattr(args, "moderation_handler", None)
        if handler is not None:
            return int(handler(args, settings))
        if getattr(args, "media_handler", None) is not None:
            return media_cli.run(args, data_dir=settings.data_dir)
    except SQLAlchemyError as exc:
        print(
            f"cocon: la base de données a refusé : {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]} (migrée ? joignable ?)",
            file=sys.stderr,
        )
        return 1
    except (OSError, ValueError) as exc:
        print(f"cocon: {exc}", file=sys.stderr)
        return 1
    if args.command == "serve":
        _serve(settings)
    elif args.command == "migrate":
        _migrate(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
