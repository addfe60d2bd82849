"""The browser client against a real server: entering, chatting, private conversations,
blocking, going offline and back, English, a phone, and accessibility (axe-core)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, enter, shot, unique_pseudo

pytestmark = pytest.mark.browser


# ---------- helpers ----------

def log(page: Any) -> Any:
    """The message log of the active tab."""
    return page.locator("[data-testid=message-log]:visible")


def messages(page: Any, text: str) -> Any:
    return log(page).locator("[data-testid=message]", has_text=text)


def send(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def expect_all_acked(page: Any) -> None:
    expect(page.locator("[data-testid=msg-status]")).to_have_count(0)


def active_stream(page: Any) -> str:
    tab = page.locator("[data-testid=tab].active")
    expect(tab).to_have_count(1)
    return str(tab.get_attribute("data-stream"))


def in_same_room(a: Any, b: Any) -> str:
    """Both start in the first public room (the client joins it on entry)."""
    sa = active_stream(a)
    sb = active_stream(b)
    assert sa == sb and sa.startswith("room:"), (sa, sb)
    return sa


def seqs(page: Any) -> list[int]:
    vals = log(page).locator("[data-testid=message][data-seq]").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    return [int(v) for v in vals]


def open_card(page: Any, pseudo: str) -> None:
    member = page.locator(f"[data-testid=member][data-pseudo='{pseudo}']")
    if not member.is_visible():
        page.get_by_test_id("open-members").click()
    member.click()
    expect(page.get_by_test_id("profile-dialog")).to_be_visible()
    expect(page.get_by_test_id("profile-name")).to_contain_text(pseudo)


def choose(dialog: Any, pseudo: str) -> None:
    value = dialog.locator("option", has_text=pseudo).get_attribute("value")
    assert value
    dialog.get_by_test_id("pick-select").select_option(value)


def two_guests(pages: Pages, a_name: str = "Lea", b_name: str = "Tom") -> tuple[Any, Any, str, str]:
    a = pages.new("a")
    b = pages.new("b")
    pa, pb = unique_pseudo(a_name), unique_pseudo(b_name)
    enter(a, pages.base_url, pa, "femme", 27, "75011")
    enter(b, pages.base_url, pb, "homme", 31, "69001")
    return a, b, pa, pb


# ---------- entry ----------

def test_entry_form_validates_and_shows_server_errors(pages: Pages) -> None:
    page = pages.new("entry")
    page.goto(pages.base_url)
    expect(page.get_by_role("heading", name="Cocon")).to_be_visible()
    expect(page.get_by_test_id("entry-submit")).to_have_text("Entrer")
    # Nothing filled: every field says what is wrong, next to it.
    page.get_by_test_id("entry-submit").click()
    expect(page.get_by_test_id("error-pseudo")).to_have_text(
        "Le pseudo doit faire entre 3 et 20 caractères."
    )
    expect(page.get_by_test_id("error-gender")).to_be_visible()
    expect(page.get_by_test_id("error-age")).to_be_visible()
    expect(page.get_by_test_id("error-postal_code")).to_be_visible()
    expect(page.get_by_label("Pseudo")).to_be_focused()
    page.get_by_label("Pseudo").fill("a b<c>")
    page.get_by_label("Pseudo").blur()
    expect(page.get_by_test_id("error-pseudo")).to_contain_text("lettres, des chiffres")
    page.get_by_label("Code postal").fill("7501")
    page.get_by_label("Code postal").blur()
    expect(page.get_by_test_id("error-postal_code")).to_contain_text("5 chiffres")
    shot(page, "entry-errors")

    # The server's own refusal (pseudo already taken) lands next to the pseudo field.
    other = pages.new("other")
    taken = unique_pseudo("Zoe")
    enter(other, pages.base_url, taken)
    page.get_by_label("Pseudo").fill(taken)
    page.locator("[data-testid=entry-gender-autre]").check(force=True)
    page.get_by_label("Âge").fill("40")
    page.get_by_label("Code postal").fill("33000")
    page.get_by_test_id("entry-submit").click()
    expect(page.get_by_test_id("error-pseudo")).to_have_text("Ce pseudo est déjà pris.")
    expect(page.get_by_label("Pseudo")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("entry-screen")).to_be_visible()
    # Switching language translates the form and the errors already shown.
    page.locator("[data-testid=lang-en]:visible").click()
    expect(page.get_by_test_id("error-pseudo")).to_have_text("This nickname is already taken.")
    expect(page.get_by_test_id("entry-submit")).to_have_text("Enter")
    expect(page.get_by_label("Nickname")).to_be_visible()


def test_underage_gets_a_kind_refusal_with_help_numbers(pages: Pages) -> None:
    page = pages.new("kid", 390, 844)
    enter(page, pages.base_url, unique_pseudo("Kid"), "autre", 15, "13001", wait_online=False)
    screen = page.get_by_test_id("underage-screen")
    expect(screen).to_be_visible()
    expect(page.get_by_test_id("help-3018")).to_have_attribute("href", "tel:3018")
    expect(page.get_by_test_id("help-119")).to_have_attribute("href", "tel:119")
    expect(screen).to_contain_text("3018.fr")
    expect(page.get_by_test_id("chat-screen")).to_be_hidden()
    shot(page, "underage")
    # Coming back later from the same device: still refused (the server remembers).
    page.reload()
    page.get_by_test_id("entry-form").or_(page.get_by_test_id("underage-screen")).first.wait_for()
    if page.get_by_test_id("entry-form").is_visible():
        enter(page, pages.base_url, unique_pseudo("Kid"), "autre", 25, "13001", wait_online=False)
    expect(page.get_by_test_id("underage-screen")).to_be_visible()


# ---------- rooms ----------

def test_two_guests_chat_both_ways(pages: Pages) -> None:
    a, b, pa, pb = two_guests(pages)
    in_same_room(a, b)
    expect(a.locator(f"[data-testid=member][data-pseudo='{pb}']")).to_be_visible()
    expect(b.locator(f"[data-testid=member][data-pseudo='{pa}']")).to_be_visible()
    # A room in the list with a live count.
    expect(a.get_by_test_id("room-item").first).to_be_visible()

    # Typing indicator.
    a.get_by_test_id("composer-input").press_sequentially("Sal", delay=30)
    expect(b.get_by_test_id("typing")).to_contain_text(f"{pa} écrit…")

    send(a, f"Bonjour @{pb} ! Voir https://example.org/a?b=1. <b>pas du HTML</b>")
    msg_b = messages(b, "Bonjour")
    expect(msg_b).to_have_count(1)
    expect(msg_b).to_have_class(re.compile(r"\bmentions-me\b"))  # a mention of B, highlighted
    link = msg_b.locator("a")
    expect(link).to_have_attribute("href", "https://example.org/a?b=1")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow ugc")
    expect(link).to_have_attribute("target", "_blank")
    expect(msg_b.locator("b")).to_have_count(0)  # text, never markup
    expect(msg_b).to_contain_text("<b>pas du HTML</b>")

    send(b, "Salut, bien reçu !")
    expect(messages(a, "bien reçu")).to_have_count(1)
    expect_all_acked(a)
    expect_all_acked(b)
    expect(messages(a, "Bonjour")).to_have_count(1)
    assert seqs(a) == sorted(set(seqs(a)))

    # The counter appears near the limit; 500 characters at most.
    a.get_by_test_id("composer-input").fill("x" * 450)
    expect(a.get_by_test_id("composer-counter")).to_contain_text("50 caractères restants")
    a.get_by_test_id("composer-input").fill("y" * 600)
    assert len(a.get_by_test_id("composer-input").input_value()) == 500
    shot(a, "chat-desktop")


def test_private_conversation_request_accept_then_block(pages: Pages) -> None:
    a, b, pa, pb = two_guests(pages, "Ana", "Ben")
    room = in_same_room(a, b)

    open_card(a, pb)
    a.get_by_test_id("profile-pm").click()
    expect(a.get_by_test_id("profile-dialog")).to_be_hidden()
    dm = active_stream(a)
    assert dm.startswith("dm:")
    expect(a.get_by_test_id("stream-banner")).to_contain_text("En attente")
    send(a, "Coucou en privé")
    expect(messages(a, "Coucou en privé")).to_have_count(1)
    expect_all_acked(a)

    request = b.locator(f"[data-testid=pm-request][data-peer='{pa}']")
    if not request.is_visible() and b.get_by_test_id("open-sidebar").is_visible():
        b.get_by_test_id("open-sidebar").click()
    expect(request).to_be_visible()
    request.get_by_test_id("pm-accept").click()
    expect(b.locator(f"[data-testid=tab][data-stream='{dm}']")).to_have_class(re.compile(r"\bactive\b"))
    expect(messages(b, "Coucou en privé")).to_have_count(1)
    send(b, "Avec plaisir")
    expect(messages(a, "Avec plaisir")).to_have_count(1)
    expect(a.get_by_test_id("stream-banner")).to_be_hidden()

    # Unread badge while B looks at the room; gone once the conversation is open.
    b.locator(f"[data-testid=tab][data-stream='{room}'] button.tab-btn").click()
    send(a, "Tu es là ?")
    dm_tab = b.locator(f"[data-testid=tab][data-stream='{dm}']")
    expect(dm_tab.get_by_test_id("unread-badge")).to_contain_text("1")
    conv = b.locator(f"[data-testid=conversation-item][data-peer='{pa}']")
    expect(conv.get_by_test_id("unread-badge")).to_contain_text("1")
    dm_tab.locator("button.tab-btn").click()
    expect(dm_tab.get_by_test_id("unread-badge")).to_have_count(0)
    expect(messages(b, "Tu es là ?")).to_have_count(1)

    # A blocks B: nothing from B reaches A any more (room or private).
    a.locator(f"[data-testid=tab][data-stream='{room}'] button.tab-btn").click()
    open_card(a, pb)
    a.get_by_test_id("profile-block").click()
    expect(a.get_by_test_id("profile-dialog")).to_be_hidden()
    expect(a.locator(f"[data-testid=member][data-pseudo='{pb}']")).to_have_class(re.compile(r"\bis-blocked\b"))

    b.locator(f"[data-testid=tab][data-stream='{room}'] button.tab-btn").click()
    send(b, "Message après blocage")
    expect(messages(b, "Message après blocage")).to_have_count(1)
    expect_all_acked(b)
    send(a, "Témoin après blocage")
    expect(messages(b, "Témoin après blocage")).to_have_count(1)
    expect_all_acked(a)
    time.sleep(1)
    expect(a.locator("[data-testid=message]", has_text="Message après blocage")).to_have_count(0)
    # Unblocking from the card works too (and the card says "Débloquer").
    open_card(a, pb)
    expect(a.get_by_test_id("profile-unblock")).to_be_visible()
    a.keyboard.press("Escape")
    expect(a.get_by_test_id("profile-dialog")).to_be_hidden()


def test_offline_and_back_loses_and_duplicates_nothing(pages: Pages) -> None:
    a, b, _pa, _pb = two_guests(pages, "Eve", "Max")
    in_same_room(a, b)
    send(b, "avant coupure")
    expect(messages(a, "avant coupure")).to_have_count(1)

    a.context.set_offline(True)
    expect(a.get_by_test_id("conn-status")).to_have_attribute("data-state", "reconnecting")
    expect(a.get_by_test_id("conn-status")).to_have_text("Reconnexion…")
    sent_while_away = [f"pendant coupure {i}" for i in range(1, 4)]
    for text in sent_while_away:
        send(b, text)
        expect(messages(b, text)).to_have_count(1)
    expect_all_acked(b)
    # A writes while offline: shown as "envoi…" until acknowledged.
    send(a, "écrit hors ligne")
    expect(messages(a, "écrit hors ligne").get_by_test_id("msg-status")).to_have_text("envoi…")
    time.sleep(1.5)

    a.context.set_offline(False)
    status = a.get_by_test_id("conn-status")
    expect(status).to_have_attribute("data-state", "online", timeout=20_000)
    expect(a.get_by_test_id("conn-status")).to_have_text("En ligne")
    for text in [*sent_while_away, "avant coupure"]:
        expect(messages(a, text)).to_have_count(1)
    expect(messages(b, "écrit hors ligne")).to_have_count(1)
    expect_all_acked(a)
    send(b, "après retour")
    expect(messages(a, "après retour")).to_have_count(1)
    time.sleep(0.5)
    for text in [*sent_while_away, "avant coupure", "écrit hors ligne", "après retour"]:
        expect(messages(a, text)).to_have_count(1)
        expect(messages(b, text)).to_have_count(1)
    # In order, each seq once.
    got = seqs(a)
    assert got == sorted(set(got)), got
    order = log(a).locator("[data-testid=message]").evaluate_all(
        "els => els.map(e => e.querySelector('[data-testid=msg-text]').textContent)"
    )
    idx = [next(i for i, t in enumerate(order) if t == x) for x in sent_while_away]
    assert idx == sorted(idx), order


def test_private_room_invite_topic_and_kick(pages: Pages) -> None:
    a, b, _pa, pb = two_guests(pages, "Owner", "Guest")
    in_same_room(a, b)
    name = f"Jeudi {unique_pseudo('r')}"
    if a.get_by_test_id("open-sidebar").is_visible():
        a.get_by_test_id("open-sidebar").click()
    a.get_by_test_id("create-room-btn").click()
    dialog = a.get_by_test_id("create-room-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Nom du salon").fill(name)
    dialog.get_by_label("Sujet (facultatif)").fill("Quiz")
    dialog.get_by_label("Mot de passe (facultatif)").fill("secret123")
    dialog.get_by_label("Mot de passe (facultatif)").press("Enter")
    expect(dialog).to_be_hidden()
    expect(a.get_by_test_id("room-title")).to_contain_text(name)
    private = active_stream(a)
    rid = private.split(":")[1]
    expect(a.locator(f"[data-testid=private-rooms] [data-room-id='{rid}']")).to_be_visible()
    # B does not see it until invited.
    expect(b.locator(f"[data-room-id='{rid}']")).to_have_count(0)

    a.get_by_test_id("room-menu-btn").click()
    a.get_by_test_id("menu-invite").click()
    pick = a.get_by_test_id("pick-dialog")
    choose(pick, pb)
    pick.get_by_test_id("pick-submit").click()
    expect(pick).to_be_hidden()

    item = b.locator(f"[data-testid=private-rooms] [data-room-id='{rid}']")
    expect(item).to_be_visible()
    item.click()  # invited: no password asked
    expect(b.get_by_test_id("room-title")).to_contain_text(name)
    expect(b.get_by_test_id("room-topic")).to_have_text("Quiz")

    a.get_by_test_id("room-menu-btn").click()
    a.get_by_test_id("menu-topic").click()
    a.get_by_test_id("settings-topic").fill("Ce soir : quiz")
    a.get_by_test_id("settings-submit").click()
    expect(b.get_by_test_id("room-topic")).to_have_text("Ce soir : quiz")

    a.get_by_test_id("room-menu-btn").click()
    a.get_by_test_id("menu-kick").click()
    choose(pick, pb)
    pick.get_by_test_id("pick-submit").click()
    expect(b.locator(f"[data-testid=tab][data-stream='{private}']")).to_have_count(0)
    expect(b.get_by_test_id("toasts")).to_contain_text(name)


# ---------- languages, phones ----------

def test_switch_to_english_and_it_sticks(pages: Pages) -> None:
    page = pages.new("en")
    enter(page, pages.base_url, unique_pseudo("Sam"), "autre", 45, "59000")
    expect(page.get_by_test_id("conn-status")).to_have_text("En ligne")
    page.locator("[data-testid=lang-en]:visible").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("conn-status")).to_have_text("Online")
    box = page.get_by_test_id("composer-input")
    expect(box).to_have_attribute("placeholder", "Write a message…")
    expect(page.get_by_test_id("composer-send")).to_have_text("Send")
    expect(page.get_by_test_id("create-room-btn")).to_have_text("Create a room")
    page.reload()
    expect(page.get_by_test_id("chat-screen")).to_be_visible()  # the session skips the form
    expect(page.get_by_test_id("conn-status")).to_have_text("Online")
    expect(page.get_by_test_id("composer-send")).to_have_text("Send")
    expect(page.get_by_test_id("composer-input")).to_be_enabled()
    shot(page, "chat-english")
    page.locator("[data-testid=lang-fr]:visible").click()
    expect(page.get_by_test_id("composer-send")).to_have_text("Envoyer")


def test_phone_shows_the_room_and_a_usable_input(pages: Pages) -> None:
    page = pages.new("phone", 390, 844, is_mobile=True, has_touch=True)
    other = pages.new("desk")
    pseudo = unique_pseudo("Mia")
    enter(page, pages.base_url, pseudo, "femme", 22, "31000")
    enter(other, pages.base_url, unique_pseudo("Noe"), "homme", 24, "31000")
    in_same_room(page, other)
    box = page.get_by_test_id("composer-input")
    expect(box).to_be_visible()
    expect(box).to_be_enabled()
    bb = box.bounding_box()
    assert bb and bb["y"] + bb["height"] <= 844 and bb["width"] >= 150, bb
    expect(page.get_by_test_id("sidebar")).not_to_be_in_viewport()
    send(page, "Depuis mon téléphone")
    expect(messages(other, "Depuis mon téléphone")).to_have_count(1)
    send(other, "Bien reçu sur mobile")
    expect(messages(page, "Bien reçu sur mobile")).to_be_in_viewport()
    # Drawers: rooms on the left, members on the right; Escape closes.
    page.get_by_test_id("open-sidebar").click()
    expect(page.get_by_test_id("sidebar")).to_be_in_viewport()
    expect(page.get_by_test_id("room-item").first).to_be_visible()
    shot(page, "phone-drawer")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("sidebar")).not_to_be_in_viewport()
    page.get_by_test_id("open-members").click()
    expect(page.locator(f"[data-testid=member][data-pseudo='{pseudo}']")).to_be_visible()
    page.keyboard.press("Escape")
    shot(page, "phone-chat")


def test_keyboard_only_member_card_and_dialogs(pages: Pages) -> None:
    a, b, _pa, pb = two_guests(pages, "Kim", "Lou")
    in_same_room(a, b)
    first = a.evaluate(
        "() => document.querySelector('a[href], button, input, select, [tabindex]').className"
    )
    assert first == "skip-link"
    a.locator(".skip-link").focus()
    expect(a.locator(".skip-link")).to_be_in_viewport()
    a.keyboard.press("Enter")
    expect(a.get_by_test_id("composer-input")).to_be_focused()
    member = a.locator(f"[data-testid=member][data-pseudo='{pb}']")
    member.focus()
    a.keyboard.press("Enter")
    expect(a.get_by_test_id("profile-dialog")).to_be_visible()
    expect(a.get_by_test_id("profile-pm")).to_be_focused()
    a.keyboard.press("Escape")
    expect(a.get_by_test_id("profile-dialog")).to_be_hidden()
    a.get_by_test_id("create-room-btn").focus()
    a.keyboard.press("Enter")
    expect(a.get_by_label("Nom du salon")).to_be_focused()
    a.keyboard.press("Escape")
    expect(a.get_by_test_id("create-room-dialog")).to_be_hidden()


# ---------- accessibility ----------

def _axe(page: Any, source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=source)
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def test_axe_no_serious_violations(pages: Pages, axe_source: str) -> None:
    # bypass_csp only so that the test can inject axe-core; the app itself runs under the CSP.
    page = pages.new("axe", bypass_csp=True)
    page.goto(pages.base_url)
    page.get_by_test_id("entry-form").wait_for()
    assert _axe(page, axe_source) == []
    page.get_by_test_id("entry-submit").click()  # with the inline errors shown
    expect(page.get_by_test_id("error-pseudo")).to_be_visible()
    assert _axe(page, axe_source) == []

    other = pages.new("other")
    enter(other, pages.base_url, unique_pseudo("Axo"))
    page.reload()
    page.get_by_test_id("entry-form").wait_for()
    enter(page, pages.base_url, unique_pseudo("Axe"))
    expect(page.get_by_test_id("composer-input")).to_be_enabled()
    send(page, "Bonjour tout le monde https://example.org")
    expect_all_acked(page)
    assert _axe(page, axe_source) == []

    phone = pages.new("axe-phone", 390, 844, bypass_csp=True)
    enter(phone, pages.base_url, unique_pseudo("Axp"))
    expect(phone.get_by_test_id("composer-input")).to_be_enabled()
    assert _axe(phone, axe_source) == []


def test_long_outage_and_reload_keep_the_conversation_whole(pages: Pages) -> None:
    """Offline longer than the presence grace period, then a reload: still no loss, no double."""
    a, b, pa, pb = two_guests(pages, "Ida", "Leo")
    room = in_same_room(a, b)
    send(a, "premier message")
    expect(messages(b, "premier message")).to_have_count(1)
    a.context.set_offline(True)
    expect(a.get_by_test_id("conn-status")).to_have_attribute("data-state", "reconnecting")
    send(b, "pendant la longue coupure")
    send(a, "hors ligne longtemps")
    time.sleep(12)
    a.context.set_offline(False)
    status = a.get_by_test_id("conn-status")
    expect(status).to_have_attribute("data-state", "online", timeout=30_000)
    expect(messages(a, "pendant la longue coupure")).to_have_count(1)
    expect(messages(b, "hors ligne longtemps")).to_have_count(1)
    expect_all_acked(a)
    # Still listed as a member on both sides after coming back.
    expect(a.locator(f"[data-testid=member][data-pseudo='{pb}']")).to_be_visible()
    expect(b.locator(f"[data-testid=member][data-pseudo='{pa}']")).to_be_visible()
    send(b, "tu es revenue ?")
    expect(messages(a, "tu es revenue ?")).to_have_count(1)

    a.reload()
    expect(a.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    assert active_stream(a) == room  # the open tab comes back
    everything = [
        "premier message", "pendant la longue coupure", "hors ligne longtemps", "tu es revenue ?",
    ]
    for text in everything:
        expect(messages(a, text)).to_have_count(1)
    got = seqs(a)
    assert got == sorted(set(got)), got


def test_friend_request_accept_and_online_dot(pages: Pages) -> None:
    a, b, pa, pb = two_guests(pages, "Amy", "Bob")
    in_same_room(a, b)
    open_card(a, pb)
    a.get_by_test_id("profile-friend").click()
    expect(a.get_by_test_id("profile-dialog")).to_be_hidden()
    mine = a.locator(f"[data-testid=friend-item][data-peer='{pb}']")
    expect(mine).to_contain_text("demande envoyée")
    theirs = b.locator(f"[data-testid=friend-item][data-peer='{pa}']")
    expect(theirs).to_contain_text("vous demande en ami")
    theirs.get_by_test_id("friend-accept").click()
    expect(theirs.get_by_test_id("friend-accept")).to_have_count(0)
    expect(mine).not_to_contain_text("demande envoyée")
    expect(mine.locator(".online-dot.on")).to_have_count(1)
    expect(theirs.locator(".online-dot.on")).to_have_count(1)
    # B leaves: A sees B go offline (after the presence grace period at most).
    b.get_by_test_id("logout-btn").click()
    expect(b.get_by_test_id("entry-form")).to_be_visible()
    expect(mine.locator(".online-dot.on")).to_have_count(0, timeout=30_000)


def test_scroll_back_loads_older_messages(pages: Pages) -> None:
    page = pages.new("history")
    enter(page, pages.base_url, unique_pseudo("Hist"))
    page.get_by_test_id("create-room-btn").click()
    page.get_by_label("Nom du salon").fill(f"Archives {unique_pseudo('x')}")
    page.get_by_test_id("cr-submit").click()
    expect(page.get_by_test_id("create-room-dialog")).to_be_hidden()
    total = 75
    for i in range(1, total + 1):
        send(page, f"ligne {i:03d}")
        if i % 10 == 0:
            expect_all_acked(page)
    expect_all_acked(page)
    page.reload()  # a fresh join gets the last 50 only
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    expect(log(page).locator("[data-testid=message]")).to_have_count(50)
    expect(messages(page, f"ligne {total:03d}")).to_be_in_viewport()
    log(page).evaluate("el => { el.scrollTop = 0; }")
    expect(log(page).locator("[data-testid=message]")).to_have_count(total)
    expect(messages(page, "ligne 001")).to_have_count(1)
    expect(log(page).get_by_text("Début de la discussion")).to_be_visible()
    got = seqs(page)
    assert got == sorted(set(got)) and len(got) == total


def test_resume_refused_reloads_the_room_and_fills_the_gap(
    browser: Any, make_server: Any, request: pytest.FixtureRequest
) -> None:
    """With a tiny replay limit the server answers `recovered: false`; the client joins again,
    and with a tiny history page it must fetch the missing middle with `history`."""
    node = make_server(COCON_REPLAY_LIMIT="2", COCON_HISTORY_PAGE="3")
    pages = Pages(browser, node.url, request)
    try:
        a = pages.new("a")
        b = pages.new("b")
        enter(a, node.url, unique_pseudo("Gap"))
        enter(b, node.url, unique_pseudo("Fill"), "homme")
        in_same_room(a, b)
        send(b, "gap 0")
        expect(messages(a, "gap 0")).to_have_count(1)
        a.context.set_offline(True)
        expect(a.get_by_test_id("conn-status")).to_have_attribute("data-state", "reconnecting")
        texts = [f"gap {i}" for i in range(1, 8)]
        for text in texts:
            send(b, text)
        expect_all_acked(b)
        a.context.set_offline(False)
        expect(a.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
        for text in ["gap 0", *texts]:
            expect(messages(a, text)).to_have_count(1)
        got = seqs(a)
        assert got == list(range(got[0], got[0] + len(got))), got  # contiguous, no double
        send(b, "gap fin")
        expect(messages(a, "gap fin")).to_have_count(1)
    finally:
        pages.close()
    assert not pages.errors, pages.errors
