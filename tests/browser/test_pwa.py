"""Installable app: manifest, icons, service worker; notifications and sounds settings."""

from __future__ import annotations

import json
import struct
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, enter, unique_pseudo

WEB = Path(__file__).resolve().parents[2] / "cocon" / "web"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def test_manifest_and_icons_are_served(server: Any) -> None:
    status, ctype, body = _get(server.url + "/manifest.webmanifest")
    assert status == 200 and "json" in ctype
    manifest = json.loads(body)
    assert manifest["name"] == "Cocon"
    assert manifest["lang"] == "fr"
    assert manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    for size in ("192x192", "512x512"):
        status, ctype, png = _get(server.url + sizes[size]["src"])
        assert status == 200 and ctype == "image/png"
        assert _png_size(png) == tuple(int(x) for x in size.split("x"))
    svg = next(i for i in manifest["icons"] if i["type"] == "image/svg+xml")
    assert _get(server.url + svg["src"])[2].lstrip().startswith(b"<svg")


def test_shell_files_exist_and_javascript_is_small() -> None:
    sw = (WEB / "sw.js").read_text(encoding="utf-8")
    # The staff console (cocon/web/staff/) is a separate page: not in the chat's shell or budget.
    js = [
        p
        for p in WEB.rglob("*.js")
        if p.name != "sw.js" and "staff" not in p.relative_to(WEB).parts
    ]
    for path in js:  # every module is in the offline shell
        assert f"'/static/{path.relative_to(WEB).as_posix()}'" in sw, path
    total = sum(p.stat().st_size for p in js)
    assert total < 150_000, total
    fr = json.loads((WEB / "i18n" / "fr.json").read_text(encoding="utf-8"))
    en = json.loads((WEB / "i18n" / "en.json").read_text(encoding="utf-8"))
    assert fr.keys() == en.keys()


@pytest.mark.browser
def test_service_worker_notifications_and_sound(pages: Pages) -> None:
    page = pages.new("pwa")
    enter(page, pages.base_url, unique_pseudo("Pwa"))
    scope = page.evaluate(
        "async () => (await navigator.serviceWorker.ready).scope"
    )
    assert scope == pages.base_url + "/"
    cached = page.evaluate(
        "async () => { const c = await caches.open('cocon-shell-v1');"
        " return (await c.keys()).map(r => new URL(r.url).pathname); }"
    )
    assert "/static/app.js" in cached and "/" in cached
    assert not any(p.startswith("/ws") for p in cached)

    # Notifications are asked for only from the button; once granted, it goes away.
    button = page.locator("[data-testid=notif-btn]")
    expect(button).to_have_text("Activer les notifications")
    page.context.grant_permissions(["notifications"])
    button.click()
    expect(button).to_be_hidden()
    expect(page.get_by_test_id("toasts")).to_contain_text("Notifications activées")

    # Sounds: off by default, a toggle, remembered.
    sound = page.get_by_test_id("sound-btn")
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.get_by_test_id("sound-btn")).to_have_attribute("aria-pressed", "true")
