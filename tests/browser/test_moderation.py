"""Moderation end to end in the browser: report a private message, the staff console
(password + TOTP, queue, audited evidence, ban), the statement of reasons and the appeal of the
banned person, the appeal decided by a second moderator, the outcomes for reporter and appellant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, enter, shot, staff_login, unique_pseudo
from tests.moderation.helpers import add_staff
from tests.servers import ServerProcess

DONE = "Merci, votre signalement a été transmis ; vous serez informé de la suite."


def axe_serious(page: Any, axe_source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    return [v for v in json.loads(result) if v["impact"] in ("serious", "critical")]


@pytest.mark.browser
def test_report_ban_appeal_and_outcomes(
    make_server: Callable[..., ServerProcess], pages: Pages, axe_source: str
) -> None:
    # make_server first: its servers stop after the pages are closed.
    server = make_server(COCON_TRUST_FORWARDED_FOR="1")
    base = server.url
    mod1 = add_staff(server)
    mod2 = add_staff(server)

    # Two people from two different networks: the ban of one must not touch the other.
    victim = pages.new("reporter", extra_http_headers={"X-Forwarded-For": "10.1.0.7"})
    offender = pages.new("offender", extra_http_headers={"X-Forwarded-For": "10.2.0.9"})
    victim_name, offender_name = unique_pseudo("Lea"), unique_pseudo("Relou")
    enter(victim, base, victim_name)
    enter(offender, base, offender_name, gender="homme")

    # The offender writes to the victim in private.
    offender.locator(f"[data-testid=member][data-pseudo='{victim_name}']").click()
    offender.get_by_test_id("profile-pm").click()
    expect(offender.get_by_test_id("profile-dialog")).to_be_hidden()
    expect(offender.get_by_test_id("stream-banner")).to_contain_text("En attente")
    insult = "Tu vas voir, je sais où tu habites, espèce de nulle"
    offender.get_by_test_id("composer-input").fill(insult)
    offender.get_by_test_id("composer-input").press("Enter")
    expect(
        offender.locator("[data-testid=message-log]:visible [data-testid=message]")
    ).to_have_count(1)

    # The victim accepts, sees the message and reports it (keyboard-reachable button).
    victim.get_by_test_id("pm-accept").click()
    message = victim.locator("[data-testid=message-log]:visible [data-testid=message]").filter(
        has_text=insult
    )
    expect(message).to_be_visible()
    message.hover()
    report_btn = message.get_by_test_id("msg-report")
    expect(report_btn).to_have_accessible_name(f"Signaler le message de {offender_name}")
    report_btn.focus()
    report_btn.press("Enter")
    dialog = victim.get_by_test_id("report-dialog")
    expect(dialog).to_be_visible()
    options = dialog.locator("#report-category option").all_inner_texts()
    assert options[1:3] == ["Mineur en danger", "Image illégale"], options
    dialog.get_by_label("Motif du signalement").select_option("threat_violence")
    expect(dialog.get_by_text("Si quelqu’un est en danger immédiat")).to_be_visible()
    dialog.get_by_label("Commentaire (facultatif)").fill("Il me menace depuis tout à l'heure.")
    shot(victim, "moderation-1-report-dialog")
    dialog.get_by_test_id("report-submit").click()
    expect(victim.get_by_test_id("report-done")).to_have_text(DONE)
    shot(victim, "moderation-2-report-done")
    victim.get_by_test_id("report-done-close").click()

    # A moderator logs in (password + TOTP), opens the case from the queue with the keyboard.
    # bypass_csp only so that the test can inject axe-core; the console runs under the CSP.
    mod = pages.new("moderator", width=1366, height=900, bypass_csp=True)
    mod.goto(base + "/staff/")
    mod.get_by_label("Pseudo").fill(mod1[0])
    mod.get_by_label("Mot de passe").fill("pas le bon")
    mod.get_by_label("Code à usage unique").fill("000000")
    mod.get_by_test_id("staff-login-submit").click()
    expect(mod.get_by_test_id("staff-login-error")).to_be_visible()
    shot(mod, "moderation-3-staff-login")
    staff_login(mod, base, *mod1)
    row = mod.get_by_test_id("queue-row").first
    expect(row).to_contain_text("Menace ou violence")
    shot(mod, "moderation-4-staff-queue")
    assert not axe_serious(mod, axe_source)
    mod.keyboard.press("j")
    expect(row).to_be_focused()
    mod.keyboard.press("Enter")
    expect(mod.locator("#view-title")).to_have_text(re.compile(r"Dossier n° \d+"))
    report = mod.get_by_test_id("report").first
    expect(report).to_contain_text("Il me menace")
    expect(report.get_by_test_id("evidence")).to_be_empty()  # nothing shown until asked
    expect(report).to_contain_text("enregistrée à votre nom dans le journal d’audit")
    report.get_by_test_id("view-evidence").click()
    expect(report.get_by_test_id("evidence-item").filter(has_text=insult)).to_contain_text(
        "message signalé"
    )
    mod.get_by_test_id("kind-ban").check(force=True)
    expect(mod.get_by_test_id("action-duration")).to_have_value("604800")
    mod.get_by_label("Règle enfreinte").select_option(index=2)
    mod.get_by_label("Modèle de motif").select_option(label="Harcèlement en privé")
    expect(mod.get_by_test_id("action-reason")).to_have_value(re.compile("Messages privés"))
    shot(mod, "moderation-5-staff-case")
    violations = axe_serious(mod, axe_source)
    assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)[:3000]
    mod.get_by_test_id("action-submit").click()
    expect(mod.get_by_test_id("action-result")).to_contain_text("Mesure appliquée")

    # The banned person sees the statement of reasons on the entry screen and appeals.
    banned = offender.get_by_test_id("banned-screen")
    expect(banned).to_be_visible()
    statement = offender.get_by_test_id("banned-statement")
    expect(statement.get_by_test_id("st-decision")).to_have_text("Bannissement")
    expect(statement.get_by_test_id("st-rule")).to_contain_text("Charte §3")
    expect(statement.get_by_test_id("st-reason")).to_contain_text("Messages privés insistants")
    expect(statement.get_by_test_id("st-duration")).to_contain_text("jusqu’au")
    banned.get_by_label("Votre contestation").fill(
        "Je reconnais avoir été énervé mais je n'ai jamais menacé personne."
    )
    shot(offender, "moderation-6-banned")
    offender.get_by_test_id("banned-appeal-submit").click()
    expect(offender.get_by_test_id("banned-appeal-done")).to_contain_text("a été transmise")
    # Someone else on the banned network cannot make a new pseudo: same statement.
    other = pages.new("same-network", extra_http_headers={"X-Forwarded-For": "10.2.0.33"})
    enter(other, base, unique_pseudo("Autre"), gender="homme", wait_online=False)
    expect(other.get_by_test_id("banned-screen")).to_be_visible()
    expect(other.get_by_test_id("st-rule")).to_contain_text("Charte §3")

    # The reporter is told what happened to the report.
    notice = victim.locator("[data-testid=mod-notice][data-kind=report_outcome]")
    expect(notice).to_contain_text("Bannissement")
    notice.click()
    expect(victim.get_by_test_id("statement-dialog")).to_contain_text(
        "La modération a pris une mesure"
    )
    shot(victim, "moderation-7-reporter-outcome")
    victim.get_by_test_id("statement-close").click()

    # A second moderator (never the decider) decides the appeal: overturned.
    mod_b = pages.new("moderator2", width=1366, height=900, bypass_csp=True)
    staff_login(mod_b, base, *mod2)
    mod_b.get_by_test_id("nav-appeals").click()
    appeal = mod_b.get_by_test_id("appeal").first
    expect(appeal.get_by_test_id("appeal-text")).to_contain_text("jamais menacé")
    appeal.get_by_label("Votre réponse").fill("Pas de menace explicite : sanction levée.")
    shot(mod_b, "moderation-8-staff-appeal")
    assert not axe_serious(mod_b, axe_source)
    appeal.get_by_test_id("appeal-overturn").click()
    expect(appeal.get_by_test_id("appeal-result")).to_contain_text("annulée")

    # The former offender gets back in and sees the answer to the appeal (the inbox position
    # was kept, so the notice sent while banned is replayed).
    offender.get_by_test_id("banned-retry").click()
    offender.locator("[data-testid=conn-status][data-state=online]").wait_for()
    answer = offender.locator("[data-testid=mod-notice][data-kind=appeal_outcome]")
    expect(answer).to_contain_text("décision annulée")
    answer.click()
    expect(offender.get_by_test_id("statement-dialog")).to_contain_text("Pas de menace explicite")
    shot(offender, "moderation-9-appeal-outcome")


@pytest.mark.browser
def test_a_held_message_is_released_from_the_console(
    make_server: Callable[..., ServerProcess], pages: Pages, axe_source: str
) -> None:
    from tests.browser.test_safety_ui import messages, private_conversation, send

    server = make_server()  # before `pages`: the server outlives the pages
    base = server.url
    mod = add_staff(server)
    sender, recipient = pages.new("held-sender"), pages.new("held-recipient")
    ps, pr = unique_pseudo("Noa"), unique_pseudo("Eli")
    enter(sender, base, ps)
    enter(recipient, base, pr, gender="homme")
    private_conversation(sender, recipient, pr, ps)
    scam = "achète moi une recharge PCS de 50€ et envoie moi le code"
    send(sender, scam)
    expect(messages(sender, scam).get_by_test_id("not-sent-note")).to_be_visible()
    card = recipient.locator("[data-testid=safety-card][data-card=scam_warning]")
    expect(card).to_be_visible()
    expect(messages(recipient, scam)).to_have_count(0)

    page = pages.new("held-moderator", width=1366, height=900, bypass_csp=True)
    staff_login(page, base, *mod)
    page.get_by_test_id("queue-row").first.click()
    held = page.get_by_test_id("held").first
    expect(held.get_by_test_id("held-status")).to_contain_text("en attente de décision")
    expect(held.get_by_test_id("held-text")).to_have_count(0)  # shown only when asked (audited)
    held.get_by_test_id("held-view").click()
    expect(held.get_by_test_id("held-text")).to_have_text(scam)
    held.get_by_test_id("held-release").click()
    expect(held.get_by_test_id("held-result")).to_contain_text("Le motif est obligatoire")
    expect(held.get_by_test_id("held-reason")).to_be_focused()
    held.get_by_label("Motif (envoyé à l’auteur)").fill("Faux positif : une plaisanterie.")
    violations = axe_serious(page, axe_source)
    assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)[:3000]
    shot(page, "moderation-10-held-message")
    held.get_by_test_id("held-release").click()
    expect(held.get_by_test_id("held-result")).to_contain_text("remis dans la conversation")
    expect(held.get_by_test_id("held-status")).to_contain_text("remis")

    # The recipient gets it live; the sender is told it was released.
    expect(messages(recipient, scam)).to_have_count(1)
    notice = sender.locator("[data-testid=mod-notice][data-kind=held_released]")
    expect(notice).to_contain_text("a été remis")
