"""Command-line tools: ``cocon media pdq PATH...`` and ``cocon hashlist import FILE``.

The lead wires them into :mod:`cocon.cli`::

    from cocon.media import cli as media_cli
    media_cli.add_parser(sub)            # cocon media pdq PATH...
    media_cli.add_hashlist_parser(sub)   # cocon hashlist import FILE [--name N] [--data-dir D]
    ...
    if args.command in ("media", "hashlist"):
        return media_cli.run(args, data_dir=settings.data_dir)

Each parser also sets ``args.media_handler`` so ``args.media_handler(args)`` works too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cocon.media.hashlist import HashListImportError, HashListStore
from cocon.media.pdq import hash_file

HASHLIST_FOLDER = "hashlists"


def hashlist_folder(data_dir: str | Path) -> Path:
    """Where imported lists are kept: ``<data_dir>/hashlists``."""
    return Path(data_dir) / HASHLIST_FOLDER


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``media`` (with ``pdq PATH...``) to the ``cocon`` sub-commands."""
    media = subparsers.add_parser("media", help="media tools (PDQ hashes)")
    media_sub = media.add_subparsers(dest="media_command", required=True)
    pdq = media_sub.add_parser("pdq", help="print hex,quality,path for each image")
    pdq.add_argument("paths", nargs="+", metavar="PATH")
    pdq.set_defaults(media_handler=run_pdq)


def add_hashlist_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``hashlist`` (with ``import FILE``) to the ``cocon`` sub-commands."""
    hashlist = subparsers.add_parser("hashlist", help="manage PDQ hash lists")
    hl_sub = hashlist.add_subparsers(dest="hashlist_command", required=True)
    imp = hl_sub.add_parser("import", help="import a list (CSV with a hex column, or hex lines)")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--name", help="list name (default: from the file name)")
    imp.add_argument("--data-dir", help="data folder (default: the settings' data_dir)")
    imp.set_defaults(media_handler=run_hashlist_import)


def run_pdq(args: argparse.Namespace, data_dir: str | Path | None = None) -> int:
    """One ``hex,quality,path`` line per image on stdout; errors on stderr, exit 1."""
    status = 0
    for path in args.paths:
        try:
            hex_hash, quality = hash_file(path)
        except (OSError, ValueError) as exc:
            print(f"cocon media pdq: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{hex_hash},{quality},{path}")
    return status


def run_hashlist_import(args: argparse.Namespace, data_dir: str | Path | None = None) -> int:
    folder = hashlist_folder(args.data_dir or data_dir or "data")
    store = HashListStore(folder)
    try:
        count = store.import_file(args.file, args.name)
    except HashListImportError as exc:
        print(f"cocon hashlist import: rien n'a été importé : {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"cocon hashlist import: {exc}", file=sys.stderr)
        return 1
    name = args.name or Path(args.file).stem
    print(f"{count} hash(es) importé(s) dans la liste {name!r} ({folder})")
    return 0


def run(args: argparse.Namespace, data_dir: str | Path | None = None) -> int:
    """Dispatch a parsed ``media`` or ``hashlist`` command."""
    handler = args.media_handler
    return int(handler(args, data_dir))
