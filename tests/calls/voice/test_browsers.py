"""Three Chromium browsers in one voice room, through Janus AudioBridge (in the test's network
namespace) and coturn: each one sends and receives audio over TURN relay candidates only."""

from __future__ import annotations

import math
import struct
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    TIMEOUT_MS,
    enter,
    shot,
    staff_login,
    unique_pseudo,
)
from tests.calls.conftest import need_tool
from tests.calls.test_browser_calls import MEDIA_ARGS, SPY, _in_thread
from tests.calls.voice.helpers import participants
from tests.calls.voice.net import JanusProc
from tests.moderation.helpers import StaffClient, add_staff
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser

# The last RTCPeerConnection of the page: the ICE policy, the selected and the gathered
# local candidates' types, audio bytes and packets both ways, and the level heard.
STATS = """
async () => {
  const last = window.__pcs[window.__pcs.length - 1];
  if (!last) return null;
  const stats = await last.pc.getStats();
  const byId = new Map(); stats.forEach((s) => byId.set(s.id, s));
  let pair = null; const locals = [];
  const r = { inbound: 0, packets: 0, outbound: 0, level: 0, energy: 0 };
  stats.forEach((s) => {
    const sel = s.type === 'transport' && s.selectedCandidatePairId;
    if (sel) pair = byId.get(sel);
    if (s.type === 'local-candidate') locals.push(s.candidateType);
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      r.inbound += s.bytesReceived || 0; r.packets += s.packetsReceived || 0;
      r.level = Math.max(r.level, s.audioLevel || 0); r.energy += s.totalAudioEnergy || 0;
    }
    if (s.type === 'outbound-rtp' && s.kind === 'audio') r.outbound += s.bytesSent || 0;
  });
  return {
    ...r, policy: last.cfg && last.cfg.iceTransportPolicy,
    local: pair ? byId.get(pair.localCandidateId).candidateType : null,
    remote: pair ? byId.get(pair.remoteCandidateId).address : null,
    locals, state: last.pc.connectionState, count: window.__pcs.length,
  };
}
"""

PC_STATE = """() => { const pc = window.__pcs[window.__pcs.length - 1]?.pc; return pc && {
  gathering: pc.iceGatheringState, signaling: pc.signalingState, ice: pc.iceConnectionState,
  remote: !!pc.remoteDescription,
}; }"""


def tone(path: Path, seconds: float = 5.0, rate: int = 48000) -> Path:
    """A steady 440 Hz tone: the fake microphone then "speaks" all the time (Chromium's own
    fake device beeps a few ms a second, too little for AudioBridge's talking detection)."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        frames += struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * n / rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


@pytest.fixture(scope="module")
def three_browsers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    need_tool(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    wav = tone(tmp_path_factory.mktemp("voice") / "tone.wav")
    args = [*ARGS, *MEDIA_ARGS, f"--use-file-for-fake-audio-capture={wav}"]
    pw = sync_playwright().start()
    made = [
        pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True) for _ in range(3)
    ]
    yield made
    for b in made:
        b.close()
    pw.stop()


async def kick(server: ServerProcess, room: int, user: int) -> None:
    """A moderator kicks ``user`` out of the chat room (staff API)."""
    mod = await StaffClient(server).login()
    try:
        sanction = {"kind": "kick", "user": user, "room": room, "rule": "R2", "reason": "Spam"}
        await mod.post("/sanctions", sanction)
    finally:
        await mod.close()


def mute_from_the_console(browser: Any, server: ServerProcess, room: int, user: int) -> None:
    """A moderator mutes ``user`` in the voice room from the staff console's voice page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    console = context.new_page()
    try:
        staff_login(console, server.url, *add_staff(server))
        console.get_by_test_id("nav-voice").click()
        console.get_by_label("Numéro du salon").fill(str(room))
        console.get_by_test_id("voice-show").click()
        person = console.locator(f"[data-testid=voice-participant][data-user='{user}']")
        console.locator("[data-testid=voice-participant]").nth(2).wait_for()  # all three
        person.get_by_label("Règle").fill("R4")
        person.get_by_label("Motif (communiqué à la personne)").fill("Larsen")
        person.get_by_test_id("voice-toggle").click()
        console.locator(
            f"[data-testid=voice-participant][data-user='{user}'][data-moderated=true]"
        ).wait_for()
        shot(console, "voice-staff-muted")
    finally:
        context.close()


def _stats(pages: list[Any]) -> dict[int, Any]:
    return {i: page.evaluate(STATS) for i, page in enumerate(pages)}


def test_three_browsers_hear_each_other_through_janus(
    three_browsers: list[Any], voice_server: ServerProcess, janus: JanusProc
) -> None:
    started = time.monotonic()
    errors: list[str] = []
    console: list[str] = []
    pages = []
    for i, browser in enumerate(three_browsers):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(SPY)
        page = context.new_page()
        page.on("pageerror", lambda e, i=i: errors.append(f"{i}: {e}"))
        page.on("console", lambda m, i=i: console.append(f"{i} {m.type}: {m.text}"))
        pages.append(page)

    def diagnose(what: str) -> str:
        return (
            f"{what}: {_stats(pages)} {[p.evaluate(PC_STATE) for p in pages]}\n"
            + "\n".join(console[-20:])
            + "\n--- janus ---\n"
            + janus.log()[-3000:]
        )

    try:
        for i, page in enumerate(pages):
            try:
                enter(page, voice_server.url, unique_pseudo(f"Voix{i}"))
            except Exception:
                raise AssertionError(
                    f"browser {i} did not enter: {errors}\n" + "\n".join(console[-20:])
                ) from None
        for page in pages:  # all three are in the first public room
            page.get_by_test_id("voice-join").wait_for()
        for i, page in enumerate(pages):
            page.get_by_test_id("voice-join").click()
            try:
                page.locator("[data-testid=voice-panel][data-connected=true]").wait_for(
                    timeout=30_000
                )
            except Exception:
                raise AssertionError(diagnose(f"browser {i} did not connect")) from None
        for page in pages:  # everyone sees the three participants
            page.locator("[data-testid=voice-peer]").nth(2).wait_for()
        # Audio flows both ways for everyone, and what arrives is not silence: the mix of
        # the two others' tones (AudioBridge leaves out one's own voice).
        first = _stats(pages)
        deadline = time.monotonic() + 30
        stats = first
        while time.monotonic() < deadline:
            time.sleep(0.5)
            stats = _stats(pages)
            if all(
                s["packets"] > first[i]["packets"] + 50 and s["outbound"] > 0 and s["level"] > 0.01
                for i, s in stats.items()
            ):
                break
        for i, s in stats.items():
            assert s["policy"] == "relay", diagnose(f"browser {i}: not relay-only")
            assert s["local"] == "relay", diagnose(f"browser {i}: selected pair not relayed")
            assert set(s["locals"]) == {"relay"}, diagnose(f"browser {i}: non-relay candidate")
            assert s["remote"] == janus.net.ns_ip, diagnose(f"browser {i}: not to Janus")
            assert s["packets"] > first[i]["packets"] + 50, diagnose(f"browser {i}: no audio in")
            assert s["outbound"] > 0, diagnose(f"browser {i}: no audio out")
            assert s["level"] > 0.01, diagnose(f"browser {i}: silence")
        # The tone is loud and steady: AudioBridge's talking events light someone up.
        talking = pages[0].locator("[data-testid=voice-peer][data-talking=true]").first
        talking.wait_for(timeout=20_000)
        shot(pages[0], "voice-room")
        # Push-to-talk: muted until held.
        pages[1].get_by_test_id("voice-ptt").click()
        assert pages[1].get_by_test_id("voice-panel").get_attribute("data-muted") == "true"
        pages[1].get_by_test_id("voice-ptt").click()
        assert pages[1].get_by_test_id("voice-panel").get_attribute("data-muted") == "false"
        # A moderator mutes browser 0's person: its panel says so and will not unmute, and
        # Janus holds the mute. Then moderation kicks browser 2's person out of the chat
        # room: its voice ends, and the others see it go.
        me = [int(p.get_by_test_id("voice-peer").first.get_attribute("data-id")) for p in pages]
        room = int(pages[0].get_by_test_id("voice-panel").get_attribute("data-room"))
        users = [m >> 20 for m in me]
        mute_from_the_console(three_browsers[1], voice_server, room, users[0])
        _in_thread(lambda: kick(voice_server, room, users[2]))
        panel = pages[0].locator("[data-testid=voice-panel][data-muted=true]")
        panel.wait_for()
        statement = pages[0].get_by_test_id("statement-body")  # the statement of reasons
        statement.get_by_text("Larsen").wait_for()
        pages[0].get_by_test_id("statement-close").click()
        pages[0].get_by_test_id("voice-mute").click()  # tries to unmute
        assert panel.get_attribute("data-muted") == "true"
        assert _in_thread(lambda: participants(janus, room))[me[0]]["muted"] is True
        pages[2].get_by_test_id("voice-panel").wait_for(state="detached")
        pages[1].locator(f"[data-testid=voice-peer][data-id='{me[2]}']").wait_for(state="detached")
        for page in pages[:2]:
            page.get_by_test_id("voice-leave").click()
            page.get_by_test_id("voice-panel").wait_for(state="detached")
        assert not errors, errors
    finally:
        for page in pages:
            page.context.close()
    print(f"\nthree browsers in a voice room: {time.monotonic() - started:.1f} s")
