"""Photos in the browser, against a dedicated server: the 📎 button uploads with a real progress
bar, the photo is posted; a stranger sees it blurred (only the blurred preview is fetched) until
"Voir"; a friend's photo shows directly; the server's refusals are shown (an HTML file dressed
up as a PNG, the daily quota)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.conftest import Pages, enter, shot, unique_pseudo
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser

RECORD_UPLOAD = """() => {
  window.__upload = [];
  const box = document.querySelector('[data-testid=upload]');
  const bar = document.querySelector('[data-testid=upload-progress]');
  const note = () => window.__upload.push(
    {state: box.dataset.state, hidden: box.hidden, value: bar.value});
  new MutationObserver(note).observe(box, {attributes: true, subtree: true});
}"""
LOADED = "el => el.complete && el.naturalWidth > 0"
WAIT_LOADED = f"el => new Promise(ok => ({LOADED})(el) ? ok() : el.addEventListener('load', ok))"


def log(page: Any) -> Any:
    return page.locator("[data-testid=message-log]:visible")


def messages(page: Any, text: str) -> Any:
    return log(page).locator("[data-testid=message]", has_text=text)


def picture(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (900, 600)) -> Path:
    img = Image.new("RGB", size, (250, 226, 200))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w // 4, h // 6, 3 * w // 4, 5 * h // 6), fill=colour)
    draw.rectangle((0, 4 * h // 5, w, h), fill=(96, 150, 96))
    img.save(path, "JPEG" if path.suffix == ".jpg" else "PNG")
    return path


def upload(page: Any, file: Path, caption: str = "") -> None:
    page.get_by_test_id("composer-input").fill(caption)
    page.get_by_test_id("attach-input").set_input_files(str(file))


def test_photo_upload_blur_for_strangers_and_refusals(
    make_server: Callable[..., ServerProcess], pages: Pages, tmp_path: Path
) -> None:
    base = make_server(COCON_MEDIA_DAILY_UPLOADS="2").url  # before `pages`: outlives them
    a = pages.new("uploader")
    b = pages.new("stranger")
    pa, pb = unique_pseudo("Iris"), unique_pseudo("Paul")
    enter(a, base, pa, "femme", 34, "35000")
    enter(b, base, pb, "homme", 38, "44000")
    room = a.locator("[data-testid=tab].active").get_attribute("data-stream")
    expect(b.locator("[data-testid=tab].active")).to_have_attribute("data-stream", str(room))
    expect(a.get_by_test_id("attach-btn")).to_have_accessible_name(
        "Joindre une photo, une vidéo ou un son"
    )
    requested: list[str] = []  # everything the stranger's browser asks for
    b.on("request", lambda r: requested.append(r.url))
    b.context.on("request", lambda r: requested.append(r.url))

    # Upload with a caption: the progress bar shows while it goes, then the photo is posted.
    a.evaluate(RECORD_UPLOAD)
    upload(a, picture(tmp_path / "jardin.jpg", (200, 80, 60)), "Mon jardin ce matin")
    mine = messages(a, "Mon jardin ce matin")
    own = mine.get_by_test_id("media-image")
    expect(own).to_be_visible()
    expect(a.get_by_test_id("upload")).to_be_hidden()
    expect(a.locator("[data-testid=msg-status]")).to_have_count(0)
    expect(a.get_by_test_id("composer-input")).to_have_value("")
    states = a.evaluate("window.__upload")
    assert any(s["state"] == "uploading" and not s["hidden"] for s in states), states
    assert any(s["state"] == "done" for s in states), states
    assert any(s["value"] == 100 for s in states), states  # upload progress events reached the bar
    own.evaluate(WAIT_LOADED)
    url = str(own.get_attribute("src"))
    assert url.startswith("/media/"), url

    # The stranger: blurred preview + "Voir", and the photo itself is not fetched.
    theirs = messages(b, "Mon jardin ce matin")
    figure = theirs.get_by_test_id("msg-media")
    expect(figure).to_have_attribute("data-blurred", "true")
    preview = theirs.get_by_test_id("media-preview")
    expect(preview).to_be_visible()
    preview.evaluate(WAIT_LOADED)
    preview_url = str(preview.get_attribute("src"))
    assert preview_url != url
    assert any(u.endswith(preview_url) for u in requested), requested
    reveal = theirs.get_by_test_id("media-reveal")
    expect(reveal).to_have_text("Voir")
    expect(reveal).to_have_accessible_name(f"Voir la photo de {pa}")
    expect(figure).to_contain_text("Photo floutée")
    shot(b, "media-1-stranger-blurred")
    assert not any(u.endswith(url) for u in requested), requested

    reveal.click()
    shown = theirs.get_by_test_id("media-image")
    expect(shown).to_be_visible()
    expect(shown).to_have_attribute("src", url)
    shown.evaluate(WAIT_LOADED)
    assert any(u.endswith(url) for u in requested)
    expect(figure).to_have_attribute("data-blurred", "false")
    shot(b, "media-2-stranger-revealed")

    # An HTML page named .png: refused, with the server's own message.
    fake = tmp_path / "photo.png"
    fake.write_text("<!doctype html><html><body><script>alert(1)</script></body></html>")
    refusal = a.request.post(base + "/api/media", data=fake.read_bytes())
    assert refusal.status == 415
    message = refusal.json()["error"]["message"]
    upload(a, fake)
    error = a.get_by_test_id("upload-error")
    expect(error).to_have_text(message)
    expect(a.get_by_test_id("upload")).to_have_attribute("data-state", "error")
    shot(a, "media-3-refused")
    a.get_by_test_id("upload-cancel").click()
    expect(a.get_by_test_id("upload")).to_be_hidden()

    # Friends: B asks, A accepts; A's photos now show directly for B.
    b.locator(f"[data-testid=member][data-pseudo='{pa}']").click()
    b.get_by_test_id("profile-friend").click()
    expect(b.get_by_test_id("profile-dialog")).to_be_hidden()
    a.locator(f"[data-testid=friend-item][data-peer='{pb}']").get_by_test_id("friend-accept").click()
    expect(b.locator(f"[data-testid=friend-item][data-peer='{pa}']")).not_to_contain_text("demande")
    upload(a, picture(tmp_path / "chat.png", (60, 90, 200), (400, 500)), "Entre ami·es")
    friendly = messages(b, "Entre ami·es")
    expect(friendly.get_by_test_id("media-image")).to_be_visible()
    expect(friendly.get_by_test_id("media-reveal")).to_have_count(0)

    # The daily quota (2 here) is reached: the server says so.
    upload(a, picture(tmp_path / "trop.png", (20, 20, 20), (300, 200)))
    expect(a.get_by_test_id("upload-error")).to_contain_text("aujourd")
    shot(a, "media-4-quota")
