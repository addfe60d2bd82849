"""Safety in the browser, against a dedicated server (restrictions must not leak elsewhere):
"Tu es sûr·e ?" before giving a phone number to someone met recently, the safe-meeting card on
both sides, an insult masked until "Afficher", and the caring card of a self-declared minor,
whose message is marked "non envoyé" (and who cannot share photos any more)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.conftest import Pages, enter, shot, unique_pseudo
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser

PHONE = "mon num c'est le 06 12 34 56 78"
MEETING = "on se voit demain au café en bas de chez toi ?"
INSULT = "t'es vraiment qu'une grosse conne"
MINOR = "j'ai 14 ans je suis en 4eme"


def log(page: Any) -> Any:
    return page.locator("[data-testid=message-log]:visible")


def messages(page: Any, text: str) -> Any:
    return log(page).locator("[data-testid=message]", has_text=text)


def send(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def axe_serious(page: Any, source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=source)
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def photo(path: Path) -> Path:
    img = Image.new("RGB", (480, 320), (250, 214, 180))
    draw = ImageDraw.Draw(img)
    draw.ellipse((150, 60, 330, 260), fill=(163, 64, 42))
    draw.rectangle((0, 260, 480, 320), fill=(90, 140, 90))
    img.save(path, "PNG")
    return path


def private_conversation(a: Any, b: Any, b_name: str, a_name: str) -> str:
    """A asks B for a private conversation ("Salut !"), B accepts; returns the dm stream."""
    a.locator(f"[data-testid=member][data-pseudo='{b_name}']").click()
    a.get_by_test_id("profile-pm").click()
    expect(a.get_by_test_id("profile-dialog")).to_be_hidden()
    send(a, "Salut !")
    expect(messages(a, "Salut !")).to_have_count(1)
    expect(a.locator("[data-testid=msg-status]")).to_have_count(0)
    b.locator(f"[data-testid=pm-request][data-peer='{a_name}']").get_by_test_id("pm-accept").click()
    expect(messages(b, "Salut !")).to_have_count(1)
    tab = a.locator("[data-testid=tab].active")
    return str(tab.get_attribute("data-stream"))


def test_nudge_meeting_card_and_masked_insult(
    make_server: Callable[..., ServerProcess], pages: Pages, axe_source: str, tmp_path: Path
) -> None:
    base = make_server().url  # before `pages`: the server outlives the pages
    a = pages.new("sender")
    b = pages.new("recipient", bypass_csp=True)  # bypass_csp only to inject axe-core
    pa, pb = unique_pseudo("Lina"), unique_pseudo("Hugo")
    enter(a, base, pa, "femme", 29, "75011")
    enter(b, base, pb, "homme", 32, "69001")
    dm = private_conversation(a, b, pb, pa)
    assert dm.startswith("dm:")

    # A phone number to someone met minutes ago: "Tu es sûr·e ?". Cancel drops it...
    send(a, PHONE)
    dialog = a.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Tu es sûr·e ?")
    expect(a.get_by_test_id("confirm-message")).to_contain_text("coordonnées")
    expect(a.get_by_test_id("confirm-quote")).to_have_text(PHONE)
    expect(messages(a, PHONE).get_by_test_id("msg-status")).to_have_text(
        "en attente de ta confirmation"
    )
    expect(a.get_by_test_id("confirm-cancel")).to_be_focused()  # the safe choice by default
    shot(a, "safety-1-confirm")
    a.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(messages(a, PHONE)).to_have_count(0)
    assert a.evaluate("sessionStorage.getItem('cocon.outbox')") == "[]"

    # ...and "Envoyer quand même" sends the same message (same cid, confirm: true).
    send(a, PHONE)
    expect(dialog).to_be_visible()
    a.get_by_test_id("confirm-send").click()
    expect(dialog).to_be_hidden()
    expect(messages(b, PHONE)).to_have_count(1)
    expect(messages(a, PHONE)).to_have_count(1)
    expect(a.locator("[data-testid=msg-status]")).to_have_count(0)

    # A meeting between people who just met: the safe-meeting card, on both sides.
    send(a, MEETING)
    expect(messages(b, MEETING)).to_have_count(1)
    for page in (a, b):
        card = page.locator("[data-testid=safety-card][data-card=safe_meeting]")
        expect(card).to_be_visible()
        expect(card).to_contain_text("Se rencontrer en toute sécurité")
        expect(card).to_contain_text("lieu public")

    # An insult: masked for the recipient until "Afficher"; the sender sees it with a note.
    send(a, INSULT)
    masked = messages(b, "peut être blessant")
    expect(masked).to_have_count(1)
    expect(masked.get_by_test_id("msg-text")).to_be_hidden()  # not shown, not read out
    expect(log(b).get_by_text(INSULT)).to_be_hidden()
    expect(masked.get_by_test_id("masked-report")).to_have_text("Signaler")
    expect(messages(a, INSULT).get_by_test_id("flag-note")).to_be_visible()

    # A stranger's photo in the same conversation arrives blurred, next to the card: axe.
    a.get_by_test_id("attach-input").set_input_files(str(photo(tmp_path / "soleil.png")))
    expect(log(a).get_by_test_id("media-image")).to_be_visible()
    expect(log(b).get_by_test_id("media-reveal")).to_be_visible()
    shot(b, "safety-2-card-masked-blurred")
    violations = axe_serious(b, axe_source)
    assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)

    masked.get_by_test_id("msg-unmask").click()
    shown = messages(b, INSULT).get_by_test_id("msg-text")
    expect(shown).to_be_visible()
    expect(shown).to_be_focused()
    expect(messages(b, INSULT).get_by_test_id("msg-masked")).to_have_count(0)

    # "Signaler" on the masked message opens the usual report dialog.
    send(a, INSULT + " encore")
    masked = messages(b, INSULT + " encore")
    expect(masked.get_by_test_id("msg-masked")).to_be_visible()
    masked.get_by_test_id("masked-report").click()
    expect(b.get_by_test_id("report-dialog")).to_be_visible()
    expect(b.get_by_test_id("report-subject")).to_contain_text(pa)
    b.keyboard.press("Escape")

    # The card can be dismissed (and stays dismissed).
    card = b.locator("[data-testid=safety-card][data-card=safe_meeting]")
    card.get_by_test_id("card-dismiss").click()
    expect(card).to_have_count(0)
    send(a, "à demain alors")
    expect(messages(b, "à demain alors")).to_have_count(1)
    expect(card).to_have_count(0)
    shot(a, "safety-3-sender")


def test_minor_gets_a_caring_card_and_the_message_is_not_sent(
    make_server: Callable[..., ServerProcess], pages: Pages, axe_source: str, tmp_path: Path
) -> None:
    base = make_server().url
    teen = pages.new("teen", bypass_csp=True)  # bypass_csp only to inject axe-core
    other = pages.new("other")
    tn, on = unique_pseudo("Jade"), unique_pseudo("Marc")
    enter(other, base, on, "homme", 41, "13001")
    enter(teen, base, tn, "femme", 19, "33000")
    active = teen.locator("[data-testid=tab].active")
    expect(active).to_have_attribute("data-stream", re.compile("^room:"))

    send(teen, MINOR)
    help_card = teen.get_by_test_id("minor-help")
    expect(help_card).to_be_visible()
    expect(help_card.get_by_role("heading", name="On tient à toi")).to_be_visible()
    expect(help_card.get_by_test_id("minor-3018")).to_have_attribute("href", "tel:3018")
    expect(help_card.get_by_test_id("minor-119")).to_have_attribute("href", "tel:119")
    expect(help_card.get_by_role("link", name="3018.fr")).to_have_attribute(
        "href", "https://www.3018.fr"
    )
    expect(help_card).to_contain_text("pas de messages privés avec des adultes")
    expect(help_card.get_by_test_id("minor-message")).to_contain_text("moins de 18 ans")
    shot(teen, "safety-4-minor-help")
    violations = axe_serious(teen, axe_source)
    assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)

    # The statement of reasons is one click away (and can be appealed from there).
    expect(help_card.get_by_test_id("minor-statement")).to_be_visible()
    help_card.get_by_test_id("minor-statement").click()
    statement = teen.get_by_test_id("statement-dialog")
    expect(statement).to_be_visible()
    expect(statement.get_by_test_id("st-decision")).to_have_text("Compte protégé (mineur)")
    teen.get_by_test_id("statement-close").click()

    mine = messages(teen, MINOR)
    expect(mine).to_have_attribute("data-state", "not-sent")
    expect(mine.get_by_test_id("msg-status")).to_have_text("Non envoyé")
    expect(mine.get_by_test_id("not-sent-note")).to_contain_text("3018")
    expect(mine.get_by_test_id("not-sent-reasons")).to_contain_text("mineur")
    assert teen.evaluate("sessionStorage.getItem('cocon.outbox')") == "[]"
    shot(teen, "safety-5-not-sent")

    # Nobody else ever saw it; and photos are now refused with the server's reason.
    send(other, "bonsoir tout le monde")
    expect(messages(teen, "bonsoir tout le monde")).to_have_count(1)
    expect(log(other)).not_to_contain_text("14 ans")
    teen.get_by_test_id("attach-input").set_input_files(str(photo(tmp_path / "moi.png")))
    expect(teen.get_by_test_id("upload-error")).to_have_text(
        "Les photos, vidéos et sons ne sont pas disponibles pour toi."
    )


def test_refused_room_name_is_shown_under_the_field(
    make_server: Callable[..., ServerProcess], pages: Pages
) -> None:
    base = make_server().url
    page = pages.new("namer")
    enter(page, base, unique_pseudo("Nina"))
    page.get_by_test_id("create-room-btn").click()
    page.get_by_test_id("cr-name").fill("Vends beuh 75")
    page.get_by_test_id("cr-submit").click()
    error = page.get_by_test_id("cr-name-error")
    expect(error).to_contain_text("Ce nom n'est pas accepté")
    expect(page.get_by_test_id("cr-name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("create-room-dialog").locator(".form-error")).to_be_hidden()
