"""``cocon moderator add``, ``cocon audit verify``, ``cocon transparency``.

``add_parsers(subparsers)`` adds the three commands to ``cocon``'s parser; each sets
``moderation_handler``: call ``args.moderation_handler(args, settings)``, it returns the
exit status. ``python -m cocon.moderation.cli ...`` runs them on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cocon.config import Settings
from cocon.errors import ClientError
from cocon.moderation import transparency
from cocon.moderation.audit import read_heads, verify
from cocon.moderation.staff import create_account
from cocon.store import moderation as store
from cocon.store.engine import make_engine
from cocon.store.migrate import upgrade


def add_parsers(subparsers: Any) -> None:
    mod = subparsers.add_parser("moderator", help="manage staff accounts")
    mod_sub = mod.add_subparsers(dest="moderator_command", required=True)
    add = mod_sub.add_parser("add", help="create a staff account; prints the TOTP URI")
    add.add_argument("pseudo")
    add.add_argument("--role", choices=("moderator", "admin"), default="moderator")
    add.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    add.add_argument("--data-dir")
    add.set_defaults(moderation_handler=moderator_add)
    audit = subparsers.add_parser("audit", help="check the audit chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    check = audit_sub.add_parser("verify", help="verify the hash chain, heads and count")
    check.add_argument("--data-dir")
    check.set_defaults(moderation_handler=audit_verify)
    tr = subparsers.add_parser("transparency", help="moderation figures for a period")
    tr.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (UTC)")
    tr.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (UTC), exclusive")
    tr.add_argument("--data-dir")
    tr.set_defaults(moderation_handler=transparency_report)


def _prepare(settings: Settings) -> None:
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        upgrade(settings.effective_database_url)


def moderator_add(args: argparse.Namespace, settings: Settings) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mot de passe : ")
    _prepare(settings)

    async def run() -> tuple[int, str]:
        engine = make_engine(settings.effective_database_url)
        try:
            return await create_account(
                engine,
                settings.data_dir,
                settings.audit_head_every,
                args.pseudo,
                args.role,
                password,
            )
        finally:
            await engine.dispose()

    try:
        staff_id, uri = asyncio.run(run())
    except ClientError as exc:
        print(f"cocon: {exc.message}", file=sys.stderr)
        return 1
    print(f"Compte {args.role} n°{staff_id} créé. TOTP (à scanner) :")
    print(uri)
    return 0


def audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> tuple[int, list[str]]:
        engine = make_engine(settings.effective_database_url)
        try:
            async with engine.connect() as db:
                entries = await store.audit_entries(db)
                count = await store.audit_stored_count(db)
        finally:
            await engine.dispose()
        return len(entries), verify(entries, read_heads(settings.data_dir), count)

    n, problems = asyncio.run(run())
    for problem in problems:
        print(problem)
    print(f"{n} entrées, {'INTACT' if not problems else f'{len(problems)} problème(s)'}")
    return 0 if not problems else 1


def _day(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def transparency_report(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> dict[str, Any]:
        engine = make_engine(settings.effective_database_url)
        try:
            return await transparency.report(engine, _day(args.start), _day(args.end))
        finally:
            await engine.dispose()

    print(json.dumps(asyncio.run(run()), ensure_ascii=False, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Same as ``cocon ...`` (kept so that ``python -m cocon.moderation.cli`` works)."""
    from cocon.cli import main as cocon_main

    return cocon_main(argv)


if __name__ == "__main__":
    sys.exit(main())
