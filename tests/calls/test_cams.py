"""Room cams over the WebSocket (no browser): where cams are allowed, the room's list, asking,
approving, declining, friends only, revoking, blocks and minors, leaving, screening, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from cocon.rtc.turn import check_credential
from tests.calls.conftest import Turn
from tests.calls.test_signalling import HOST, OFFER, RELAY, SRFLX
from tests.client import Client
from tests.servers import ServerProcess

Make = Callable[..., Client]


@pytest.fixture
def cam_server(coturn: Turn, make_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A node with TURN and at most 2 viewers per cam (to reach the cap)."""
    return make_server(**coturn.env(COCON_CAM_VIEWERS_MAX="2"))


@pytest.fixture
async def cam_clients(cam_server: ServerProcess) -> AsyncIterator[Callable[..., Client]]:
    made: list[Client] = []

    def make() -> Client:
        client = Client(cam_server.url)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def _people(make: Make, n: int, room: int | None = None) -> tuple[list[Client], int]:
    """``n`` connected guests, all in the same room (the first public one by default)."""
    people = [make() for _ in range(n)]
    for p in people:
        await p.enter()
        await p.connect()
    if room is None:
        room = min(r["id"] for r in people[0].welcome["rooms"] if not r["private"])
    for p in people:
        joined = await p.join(room)
        assert joined["room"]["cams"] is True, joined["room"]
    return people, room


async def _quiet(client: Client, kind: str, seconds: float = 0.5) -> None:
    """Nothing of that type arrives for a moment."""
    with pytest.raises(asyncio.TimeoutError):
        await client.wait(kind, timeout=seconds)


async def _live(publisher: Client, room: int, friends_only: bool = False) -> dict[str, Any]:
    started = await publisher.request("cam_start", room=room, friends_only=friends_only)
    assert started["type"] == "cam" and started["cam"]["user"]["id"] == publisher.id, started
    return started


async def _watch(publisher: Client, viewer: Client, room: int) -> str:
    """The viewer asks, the publisher approves: the view's id."""
    asked = await viewer.request("cam_ask", room=room, user=publisher.id)
    assert asked["type"] == "cam_view" and asked["state"] == "pending", asked
    request = await publisher.wait("cam_view", view=asked["view"], state="pending")
    assert request["role"] == "publisher" and request["peer"]["id"] == viewer.id
    approved = await publisher.request("cam_answer", view=asked["view"], accept=True)
    assert approved["type"] == "cam_view" and approved["state"] == "active", approved
    await viewer.wait("cam_view", view=asked["view"], state="active")
    return str(asked["view"])


async def _all(client: Client, *wanted: dict[str, Any], timeout: float = 10.0) -> list[Any]:
    """The events matching each of ``wanted`` (type and fields), in whatever order they come."""
    found: list[Any] = [None] * len(wanted)

    async def find() -> None:
        while any(f is None for f in found):
            event = await client.events.get()
            for i, want in enumerate(wanted):
                if found[i] is None and all(event.get(k) == v for k, v in want.items()):
                    found[i] = event
                    break

    await asyncio.wait_for(find(), timeout)
    return found


async def _request_and(
    client: Client, kind: str, fields: dict[str, Any], *wanted: dict[str, Any]
) -> list[Any]:
    """Send a command; its reply and the events matching ``wanted``, in any order."""
    ref = f"x{id(fields)}"
    await client.send({"type": kind, "ref": ref, **fields})
    return await _all(client, {"ref": ref}, *wanted)


def _error(reply: dict[str, Any], code: str) -> None:
    assert reply["type"] == "error" and reply["code"] == code, reply


async def test_cams_only_in_rooms_that_allow_them(cam_clients: Make) -> None:
    (owner, member, outsider), public = await _people(cam_clients, 3)
    # Public rooms allow cams (COCON_CAMS_PUBLIC, on by default); one must be in the room.
    _error(await outsider.request("cam_start", room=public + 1), "not_member")
    await _live(member, public)
    # A private room does not, until its owner says so.
    created = await owner.request("create_room", name="Cams entre nous")
    room = created["room"]["id"]
    assert created["room"]["cams"] is False
    await owner.request("invite", room=room, user=member.id)
    joined = await member.join(room)
    assert joined["room"]["cams"] is False and "cams" not in joined
    _error(await owner.request("cam_start", room=room), "cams_off")
    _error(await member.request("cam_ask", room=room, user=owner.id), "cams_off")
    _error(await member.request("set_room", room=room, cams=True), "forbidden")
    _error(await owner.request("set_room", room=public, cams=False), "forbidden")
    changed = await owner.request("set_room", room=room, cams=True)
    assert changed["type"] == "room" and changed["room"]["cams"] is True
    assert (await member.wait("room"))["room"]["cams"] is True
    await _live(owner, room)
    view = await _watch(owner, member, room)
    # Turned off again: the cam and its views end at once, for everyone.
    await owner.request("set_room", room=room, cams=False)
    ended, _ = await _all(
        member,
        {"type": "cam_view", "view": view, "state": "ended"},
        {"type": "cam", "room": room, "user": owner.id, "cam": None},
    )
    assert ended["reason"] == "cams_off"
    assert (await owner.request("cams", room=room))["code"] == "cams_off"


async def test_cams_are_off_without_turn(clients: Make) -> None:
    (a,), room = await _people(clients, 1)
    refused = await a.request("cam_start", room=room)
    _error(refused, "calls_off")
    assert "TURN" in refused["message"]


async def test_the_room_lists_its_cams_on_join_and_live(cam_clients: Make) -> None:
    (a, b), room = await _people(cam_clients, 2)
    started = await _live(a, room, friends_only=True)
    assert started["cam"]["friends_only"] is True
    seen = await b.wait("cam", room=room, user=a.id)
    assert seen["cam"]["user"]["pseudo"] == a.user["pseudo"]
    # Someone who comes in later finds it in the join snapshot, and in `cams`.
    (c,), _ = await _people(cam_clients, 1, room)
    late = await c.request("cams", room=room)
    assert late["type"] == "cams" and late["viewers_max"] == 2
    assert [x["user"]["id"] for x in late["cams"]] == [a.id]
    rejoined = await c.request("join", room=room)
    assert [x["user"]["id"] for x in rejoined["cams"]] == [a.id]
    # Switching friends-only off is announced; stopping too.
    await a.request("cam_start", room=room, friends_only=False)
    assert (await c.wait("cam", room=room, user=a.id))["cam"]["friends_only"] is False
    assert (await a.request("cam_stop", room=room))["type"] == "ok"
    assert (await c.wait("cam", room=room, user=a.id))["cam"] is None
    assert (await c.request("cams", room=room))["cams"] == []
    _error(await a.request("cam_stop", room=room), "not_found")


async def test_ask_approve_signal_decline_and_revoke(cam_clients: Make, coturn: Turn) -> None:
    (a, b, c), room = await _people(cam_clients, 3)
    await _live(a, room)
    asked = await b.request("cam_ask", room=room, user=a.id)
    view = asked["view"]
    assert asked["state"] == "pending" and asked["role"] == "viewer"
    assert asked["peer"]["id"] == a.id and asked.get("ice_servers", []) == []
    assert not asked.get("friend")  # a stranger: the viewer's browser blurs the cam
    # No stream before approval: signalling is refused while the ask is pending.
    offer = {"type": "offer", "sdp": OFFER}
    _error(await b.request("cam_signal", view=view, sdp=offer), "conflict")
    # The publisher is asked, and alone can answer.
    await a.wait("cam_view", view=view, state="pending")
    _error(await b.request("cam_answer", view=view, accept=True), "forbidden")
    _error(await c.request("cam_answer", view=view, accept=True), "not_found")
    approved = await a.request("cam_answer", view=view, accept=True)
    active = await b.wait("cam_view", view=view, state="active")
    # Each side gets its own short-lived TURN credential, without any identity in it.
    for event in (approved, active):
        (server,) = event["ice_servers"]
        assert check_credential(coturn.secret, server["username"], server["credential"])
        tag = server["username"].split(":")[1]
        assert tag.startswith(event["view"]) and a.user["pseudo"] not in server["username"]
    # Relay only: a host or server-reflexive candidate is dropped, a relayed one goes through
    # without the address it was relayed for; the SDP loses its other candidates.
    for cand in (HOST, SRFLX):
        await a.send({"type": "cam_signal", "view": view, "candidate": {"candidate": cand}})
    await _quiet(b, "cam_signal")
    relay = {"candidate": RELAY, "sdpMid": "0", "sdpMLineIndex": 0}
    await a.send({"type": "cam_signal", "view": view, "candidate": relay})
    got = await b.wait("cam_signal", view=view)
    assert got["candidate"]["candidate"].split()[7] == "relay"
    assert "203.0.113.7" not in got["candidate"]["candidate"]
    await a.send({"type": "cam_signal", "view": view, "sdp": offer})
    sdp = (await b.wait("cam_signal", view=view))["sdp"]["sdp"]
    assert "typ host" not in sdp and "192.168.1.23" not in sdp and "typ relay" in sdp
    await b.send({"type": "cam_signal", "view": view, "sdp": {"type": "answer", "sdp": OFFER}})
    assert (await a.wait("cam_signal", view=view))["sdp"]["type"] == "answer"
    # Another viewer is declined: told so, and cannot signal or ask again at once.
    other = await c.request("cam_ask", room=room, user=a.id)
    await a.wait("cam_view", view=other["view"], state="pending")
    assert (await a.request("cam_answer", view=other["view"], accept=False))["type"] == "ok"
    declined = await c.wait("cam_view", view=other["view"], state="ended")
    assert declined["reason"] == "declined" and declined.get("ice_servers", []) == []
    _error(await c.request("cam_signal", view=other["view"], sdp=offer), "conflict")
    again = await c.request("cam_ask", room=room, user=a.id)
    _error(again, "rate_limited")
    assert again["retry_after"] > 30
    # Revoked: both sides are told at once; the viewer's signalling stops there.
    ended = {"type": "cam_view", "view": view, "state": "ended"}
    done, told = await _request_and(a, "cam_close", {"view": view}, ended)
    assert done["type"] == "ok" and told["reason"] == "revoked"
    assert (await b.wait("cam_view", view=view, state="ended"))["reason"] == "revoked"
    _error(await b.request("cam_signal", view=view, sdp=offer), "conflict")


async def test_friends_only_lets_friends_in_and_refuses_others(cam_clients: Make) -> None:
    (a, friend, stranger), room = await _people(cam_clients, 3)
    await friend.request("friend_request", user=a.id)
    accepted = await a.request("friend_answer", user=friend.id, accept=True)
    assert accepted["friend"]["state"] == "friends", accepted
    await _live(a, room, friends_only=True)
    let_in = await friend.request("cam_ask", room=room, user=a.id)
    assert let_in["state"] == "active" and let_in["friend"] is True, let_in
    assert let_in["ice_servers"]
    told = await a.wait("cam_view", view=let_in["view"])
    assert told["state"] == "active" and told["peer"]["id"] == friend.id
    _error(await stranger.request("cam_ask", room=room, user=a.id), "friends_only")
    await _quiet(a, "cam_view")  # the publisher is not even bothered


async def test_viewer_cap(cam_clients: Make) -> None:
    (a, *viewers), room = await _people(cam_clients, 4)
    await _live(a, room)
    for v in viewers[:2]:
        await _watch(a, v, room)
    asked = await viewers[2].request("cam_ask", room=room, user=a.id)
    await a.wait("cam_view", view=asked["view"], state="pending")
    _error(await a.request("cam_answer", view=asked["view"], accept=True), "cam_full")
    # A friend let in by "friends only" over the cap is turned back at once.
    (friend,), _ = await _people(cam_clients, 1, room)
    await friend.request("friend_request", user=a.id)
    await a.request("friend_answer", user=friend.id, accept=True)
    await a.request("cam_start", room=room, friends_only=True)
    let_in = await friend.request("cam_ask", room=room, user=a.id)
    assert let_in["state"] == "active", let_in
    full = await friend.wait("cam_view", view=let_in["view"], state="ended")
    assert full["reason"] == "full"


async def test_a_cam_moves_to_the_last_tab_that_starts_it(cam_clients: Make) -> None:
    (a, b), room = await _people(cam_clients, 2)
    second = cam_clients()
    second.token, second.user = a.token, a.user
    await second.connect()
    await second.join(room)
    await _live(a, room)
    view = await _watch(a, b, room)
    await _live(second, room)
    _, ended = await _all(
        a,
        {"type": "cam", "room": room, "user": a.id, "cam": None},
        {"type": "cam_view", "view": view, "state": "ended"},
    )
    assert ended["reason"] == "ended"
    assert (await b.wait("cam_view", view=view, state="ended"))["reason"] == "ended"
    listed = await b.request("cams", room=room)
    assert [c["user"]["id"] for c in listed["cams"]] == [a.id]
    # Stopped from the first tab, it stops in the second one.
    assert (await a.request("cam_stop", room=room))["type"] == "ok"
    await second.wait("cam", room=room, user=a.id, cam=None)
    assert (await b.request("cams", room=room))["cams"] == []


async def test_report_a_cam_with_a_still_frame(
    cam_clients: Make, cam_server: ServerProcess
) -> None:
    import io

    from PIL import Image

    from tests.moderation.helpers import StaffClient

    (a, b), room = await _people(cam_clients, 2)
    await _live(a, room)
    view = await _watch(a, b, room)
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 40, 200)).save(buf, "JPEG")
    async with b.http.post(b.base + "/api/media", data=buf.getvalue()) as resp:
        media = (await resp.json())["media"]
    reported = await b.request(
        "report", target="user", user=a.id, category="sexual_harassment", media=media["id"]
    )
    assert reported["type"] == "reported", reported
    staff = await StaffClient(cam_server).login()
    try:
        evidence = (await staff.get(f"/reports/{reported['report']}/evidence"))["report"]
        (item,) = evidence["evidence"]
        assert item["kind"] == "call_frame" and item["media"] == media["id"]
        assert item["cam_view"] == view and "cam" in item["text"]
    finally:
        await staff.close()


async def test_blocked_people_and_restricted_minors(cam_clients: Make) -> None:
    (a, b, c, minor), room = await _people(cam_clients, 4)
    await _live(a, room)
    # c blocked a: a's cam is not in c's list, and c cannot ask for it.
    await c.request("block", user=a.id)
    assert (await c.request("cams", room=room))["cams"] == []
    _error(await c.request("cam_ask", room=room, user=a.id), "blocked")
    # a blocks b while b watches: the view ends at once, and b cannot ask again.
    view = await _watch(a, b, room)
    await a.request("block", user=b.id)
    assert (await b.wait("cam_view", view=view, state="ended"))["reason"] == "blocked"
    _error(await b.request("cam_ask", room=room, user=a.id), "blocked")
    # Someone who says they are a minor is restricted: the cam they watch ends at once, and
    # no cam afterwards, either way.
    watched = await _watch(a, minor, room)
    revealed = await minor.say(f"room:{room}", "en vrai j'ai 14 ans je suis en 4eme")
    assert revealed["type"] == "screened" and revealed["action"] == "restrict_minor", revealed
    assert (await a.wait("cam_view", view=watched, state="ended"))["view"] == watched
    _error(await minor.request("cam_ask", room=room, user=a.id), "restricted")
    _error(await minor.request("cam_start", room=room), "restricted")


async def test_leaving_or_closing_ends_cams_and_views(cam_clients: Make) -> None:
    (a, b, c), room = await _people(cam_clients, 3)
    await _live(a, room)
    vb, vc = await _watch(a, b, room), await _watch(a, c, room)
    # A viewer who leaves the room ends their view; one whose tab goes away too.
    await c.request("leave", room=room)
    assert (await a.wait("cam_view", view=vc, state="ended"))["reason"] == "left"
    await c.join(room)
    vc = await _watch(a, c, room)
    await c.drop()
    assert (await a.wait("cam_view", view=vc, state="ended"))["reason"] == "gone"
    # The publisher leaves: the cam and every view end, and the room is told.
    await a.request("leave", room=room)
    off = {"type": "cam", "room": room, "user": a.id, "cam": None}
    ended, _ = await _all(b, {"type": "cam_view", "view": vb, "state": "ended"}, off)
    assert ended["reason"] == "ended"
    # The publisher's tab goes away: the same.
    await a.join(room)
    await _live(a, room)
    vb = await _watch(a, b, room)
    await a.drop()
    ended, _ = await _all(b, {"type": "cam_view", "view": vb, "state": "ended"}, off)
    assert ended["reason"] == "ended"
    assert (await b.request("cams", room=room))["cams"] == []


async def test_bad_input_gets_a_clear_error(cam_clients: Make) -> None:
    (a, b), room = await _people(cam_clients, 2)
    _error(await a.request("cam_ask", room=room, user=b.id), "not_found")  # no cam there
    await _live(a, room)
    own = await a.request("cam_ask", room=room, user=a.id)
    _error(own, "bad_request")
    assert own["field"] == "user"
    _error(await b.request("cam_ask", room=room + 1, user=a.id), "not_member")
    _error(await b.request("cam_answer", view="nope", accept=True), "not_found")
    _error(await b.request("cam_close", view="nope"), "not_found")
    missing = await b.request("cam_ask", room=room)
    _error(missing, "bad_request")
    assert "user" in missing["message"]
    _error(await b.request("cam_start", room="un"), "bad_request")
    view = await _watch(a, b, room)
    both = await b.request(
        "cam_signal",
        view=view,
        sdp={"type": "answer", "sdp": OFFER},
        candidate={"candidate": RELAY},
    )
    _error(both, "bad_request")
    _error(
        await b.request("cam_signal", view=view, sdp={"type": "rollback", "sdp": ""}), "bad_request"
    )
    _error(
        await b.request("cam_signal", view=view, candidate={"candidate": "x" * 600}), "bad_request"
    )


# -- browsers ------------------------------------------------------------------------------

ALL_CLOSED = "() => window.__pcs.every((p) => p.pc.signalingState === 'closed')"
PLAYING = "() => document.querySelector('[data-testid=cam-remote]')?.videoWidth > 0"


def _until(page: Any, function: str, timeout: float = 15.0) -> None:
    """Poll a JS function until it is true (``wait_for_function`` would need eval, which the
    page's CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(function):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {function}"
        time.sleep(0.1)


@pytest.mark.browser
def test_a_room_cam_in_three_browsers(
    coturn: Turn, make_server: Callable[..., ServerProcess]
) -> None:
    """A publisher and two viewers: one is approved and receives video over relay candidates
    only, the other is declined and receives nothing; revoked, the first one's stream stops."""
    import time

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import ARGS, CHROMIUM, TIMEOUT_MS, enter, shot, unique_pseudo
    from tests.calls.conftest import need_tool
    from tests.calls.test_browser_calls import MEDIA_ARGS, SPY, STATS

    need_tool(CHROMIUM, "chromium")
    server = make_server(**coturn.env())
    errors: list[str] = []
    pw = sync_playwright().start()
    # The publisher films (fake camera); both viewers share another browser.
    browsers = [
        pw.chromium.launch(executable_path=CHROMIUM, args=ARGS + MEDIA_ARGS, headless=True)
        for _ in range(2)
    ]
    try:
        pages = []
        for name, browser in (("pub", browsers[0]), ("v1", browsers[1]), ("v2", browsers[1])):
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(SPY)
            page = context.new_page()
            page.on("pageerror", lambda e, n=name: errors.append(f"{n}: {e}"))
            pages.append(page)
        pub, v1, v2 = pages
        names = [unique_pseudo(n) for n in ("Filme", "Regarde", "Curieux")]
        for page, name in zip(pages, names, strict=True):
            enter(page, server.url, name)
            page.get_by_test_id("cams-open").wait_for()  # all in the first public room

        pub.get_by_test_id("cams-open").click()
        pub.get_by_test_id("cam-start").click()
        pub.get_by_test_id("cam-stop").wait_for()
        for page in (v1, v2):
            page.locator("[data-testid=cams-open]", has_text="(1)").wait_for()
            page.get_by_test_id("cams-open").click()
        item = f"[data-testid=cam-item][data-user='{names[0]}'] [data-testid=cam-ask]"

        # Viewer 1 asks; nothing flows until the publisher approves.
        v1.locator(item).click()
        request = pub.locator(f"[data-testid=cam-request][data-user='{names[1]}']")
        request.wait_for()
        assert pub.evaluate("window.__pcs.length") == 0
        assert v1.evaluate("window.__pcs.length") == 0
        request.get_by_test_id("cam-approve").click()
        pub.locator(f"[data-testid=cam-viewer][data-user='{names[1]}']").wait_for()
        watch = v1.locator(f"[data-testid=cam-watch][data-user='{names[0]}']")
        watch.wait_for()
        # A stranger's cam starts blurred, until "Voir".
        stage = watch.get_by_test_id("cam-stage")
        assert "is-blurred" in (stage.get_attribute("class") or "")
        watch.get_by_test_id("cam-reveal").click()
        assert "is-blurred" not in (stage.get_attribute("class") or "")
        _until(v1, PLAYING)

        # Viewer 2 asks and is declined: no peer connection, no stream, ever.
        v2.locator(item).click()
        other = pub.locator(f"[data-testid=cam-request][data-user='{names[2]}']")
        other.get_by_test_id("cam-decline").click()
        v2.locator("[data-testid=toast]", has_text="n’a pas accepté").wait_for()
        v2.locator(item).wait_for()  # back to "Demander à voir"

        first = v1.evaluate(STATS)
        time.sleep(1.5)
        stats = v1.evaluate(STATS)
        assert stats["policy"] == "relay", stats
        assert stats["local"] == "relay" and stats["remote"] == "relay", stats
        assert set(stats["locals"]) == {"relay"}, stats
        assert stats["inbound"] > first["inbound"] > 0, (first, stats)
        sent = pub.evaluate(STATS)
        assert sent["policy"] == "relay" and set(sent["locals"]) == {"relay"}, sent
        assert sent["outbound"] > 0, sent
        assert pub.evaluate("window.__pcs.length") == 1  # one per approved viewer
        assert v2.evaluate("window.__pcs.length") == 0
        shot(v1, "cam-watched")
        shot(pub, "cam-publisher")

        # Report: one still frame of the cam, captured in the viewer's browser, is attached.
        watch.get_by_test_id("cam-report").click()
        v1.get_by_test_id("report-dialog").wait_for()
        assert "image fixe" in v1.get_by_test_id("report-subject").inner_text()
        v1.get_by_test_id("report-category").select_option("sexual_harassment")
        v1.get_by_test_id("report-submit").click()
        v1.get_by_test_id("report-done-dialog").wait_for()
        v1.keyboard.press("Escape")

        # Revoked: the server tells both sides, both close the connection, the video stops.
        pub.locator(f"[data-testid=cam-viewer][data-user='{names[1]}']").get_by_test_id(
            "cam-revoke"
        ).click()
        v1.locator("[data-testid=toast]", has_text="arrêté de vous montrer").wait_for()
        watch.wait_for(state="detached")
        _until(v1, ALL_CLOSED)
        _until(pub, ALL_CLOSED)
        assert not errors, errors
    finally:
        for b in browsers:
            b.close()
        pw.stop()
