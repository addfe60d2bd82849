"""Two Chromium browsers call each other through coturn: relay candidates only, media both
ways, a stranger's camera blurred, a report with a still frame, hang up; and the median
set-up time of 10 calls (invite -> both connected), printed for docs/operations.md."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, TIMEOUT_MS, enter, shot, unique_pseudo
from tests.calls.conftest import Turn, need_tool
from tests.client import Client
from tests.servers import ServerProcess

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]

# Keep every RTCPeerConnection (and its configuration) where the test can read its stats.
SPY = """
(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  function Spy(cfg, ...rest) {
    const pc = new Orig(cfg, ...rest);
    window.__pcs.push({ pc, cfg });
    return pc;
  }
  Spy.prototype = Orig.prototype;
  Object.setPrototypeOf(Spy, Orig);
  window.RTCPeerConnection = Spy;
})();
"""

STATS = """
async () => {
  const last = window.__pcs[window.__pcs.length - 1];
  if (!last) return null;
  const stats = await last.pc.getStats();
  const byId = new Map(); stats.forEach((s) => byId.set(s.id, s));
  let pair = null; const locals = []; let inbound = 0; let outbound = 0;
  stats.forEach((s) => {
    const sel = s.type === 'transport' && s.selectedCandidatePairId;
    if (sel) pair = byId.get(sel);
    if (s.type === 'local-candidate') locals.push(s.candidateType);
    if (s.type === 'inbound-rtp') inbound += s.bytesReceived || 0;
    if (s.type === 'outbound-rtp') outbound += s.bytesSent || 0;
  });
  return {
    policy: last.cfg && last.cfg.iceTransportPolicy,
    local: pair ? byId.get(pair.localCandidateId).candidateType : null,
    remote: pair ? byId.get(pair.remoteCandidateId).candidateType : null,
    locals, inbound, outbound, state: last.pc.connectionState,
  };
}
"""


@pytest.fixture(scope="module")
def browsers() -> Iterator[tuple[Any, Any]]:
    need_tool(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    a = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS + MEDIA_ARGS, headless=True)
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS + MEDIA_ARGS, headless=True)
    yield a, b
    a.close()
    b.close()
    pw.stop()


def _page(browser: Any, errors: list[str], name: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(SPY)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{name}: {e}"))
    return page


def _in_thread(coro_factory: Callable[[], Any]) -> Any:
    """Run a coroutine on its own loop (sync Playwright owns this thread's loop)."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def main() -> None:
        try:
            out.append(asyncio.run(coro_factory()))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=main)
    worker.start()
    worker.join(30)
    if errors:
        raise errors[0]
    return out[0]


def _accepted_conversation(server: ServerProcess, pa: Any, pb: Any) -> None:
    """Open and accept a private conversation between the two browsers' users (protocol)."""
    tokens = []
    for page in (pa, pb):
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        tokens.append(cookies["cocon_session"])

    async def go() -> None:
        a, b = Client(server.url), Client(server.url)
        try:
            a.token, b.token = tokens
            await a.connect()
            welcome_b = await b.connect()
            conv = (await a.request("open_pm", user=welcome_b["me"]["id"]))["conversation"]
            answer = await b.request("answer_pm", conversation=conv["id"], accept=True)
            assert answer["type"] == "conversation", answer
        finally:
            await a.close()
            await b.close()

    _in_thread(go)


def _open_conversation(page: Any, peer: str) -> None:
    item = page.locator(f"[data-testid=conversation-item][data-peer='{peer}']")
    item.wait_for()
    item.click()
    page.get_by_test_id("call-video-btn").wait_for()


def _call(pa: Any, pb: Any) -> float:
    """A calls B, B accepts; seconds from the click to both sides connected."""
    t0 = time.perf_counter()
    pa.get_by_test_id("call-video-btn").click()
    pb.locator("[data-testid=call-panel][data-role=callee]").wait_for()
    pb.get_by_test_id("call-accept").click()
    for page in (pa, pb):
        page.locator("[data-testid=call-panel][data-connected=true]").wait_for()
    return time.perf_counter() - t0


def _hang_up(pa: Any, pb: Any) -> None:
    pa.get_by_test_id("call-hangup").click()
    for page in (pa, pb):
        page.get_by_test_id("call-panel").wait_for(state="detached")


@pytest.mark.browser
def test_two_browsers_call_through_turn_only(
    browsers: tuple[Any, Any], coturn: Turn, make_server: Callable[..., ServerProcess]
) -> None:
    server = make_server(**coturn.env())
    errors: list[str] = []
    pa, pb = _page(browsers[0], errors, "a"), _page(browsers[1], errors, "b")
    na, nb = unique_pseudo("Appel"), unique_pseudo("Recu")
    try:
        enter(pa, server.url, na)
        enter(pb, server.url, nb)
        _accepted_conversation(server, pa, pb)
        _open_conversation(pa, nb)

        pa.get_by_test_id("call-video-btn").click()
        panel_b = pb.locator("[data-testid=call-panel][data-role=callee]")
        panel_b.wait_for()
        # Ringing: nothing is shown, no connection exists yet on either side.
        assert pb.get_by_test_id("call-stage").is_hidden()
        assert pa.evaluate("window.__pcs.length") == 0
        assert pb.evaluate("window.__pcs.length") == 0
        pb.get_by_test_id("call-accept").click()
        for page in (pa, pb):
            page.locator("[data-testid=call-panel][data-connected=true]").wait_for()

        # Strangers: the remote camera starts blurred until "Voir".
        stage_b = pb.get_by_test_id("call-stage")
        assert "is-blurred" in (stage_b.get_attribute("class") or "")
        pb.get_by_test_id("call-reveal").click()
        assert "is-blurred" not in (stage_b.get_attribute("class") or "")

        first = {page: page.evaluate(STATS) for page in (pa, pb)}
        time.sleep(1.5)
        for page in (pa, pb):
            stats = page.evaluate(STATS)
            assert stats["policy"] == "relay", stats
            assert stats["local"] == "relay" and stats["remote"] == "relay", stats
            assert set(stats["locals"]) == {"relay"}, stats
            assert stats["inbound"] > first[page]["inbound"] > 0, (first[page], stats)
            assert stats["outbound"] > 0, stats
        # The video really plays on both sides.
        for page in (pa, pb):
            page.wait_for_function(
                "document.querySelector('[data-testid=call-remote]').videoWidth > 0"
            )
        shot(pb, "call-connected")

        # Report: a still frame of the remote video, captured in the browser, is attached.
        pa.get_by_test_id("call-report").click()
        pa.get_by_test_id("report-dialog").wait_for()
        assert "image fixe" in pa.get_by_test_id("report-subject").inner_text()
        pa.get_by_test_id("report-category").select_option("sexual_harassment")
        pa.get_by_test_id("report-submit").click()
        pa.get_by_test_id("report-done-dialog").wait_for()
        pa.keyboard.press("Escape")

        _hang_up(pa, pb)
        assert "turn" in coturn.log().lower()
        assert not errors, errors
    finally:
        for page in (pa, pb):
            page.context.close()


@pytest.mark.browser
def test_median_call_setup_time(
    browsers: tuple[Any, Any], coturn: Turn, make_server: Callable[..., ServerProcess]
) -> None:
    server = make_server(**coturn.env())
    errors: list[str] = []
    pa, pb = _page(browsers[0], errors, "a"), _page(browsers[1], errors, "b")
    try:
        na, nb = unique_pseudo("Mesure"), unique_pseudo("Autre")
        enter(pa, server.url, na)
        enter(pb, server.url, nb)
        _accepted_conversation(server, pa, pb)
        _open_conversation(pa, nb)
        times = []
        for _ in range(10):
            times.append(_call(pa, pb))
            _hang_up(pa, pb)
        median = statistics.median(times)
        print(
            f"\ncall set-up (click -> both connected, relay via coturn on loopback, 10 calls): "
            f"median {median * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms"
        )
        assert median < 5.0
        assert not errors, errors
    finally:
        for page in (pa, pb):
            page.context.close()
