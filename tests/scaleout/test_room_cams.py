"""Room cams across two nodes: the list, the ask, the approval, signalling and the end all
cross from the publisher's node to the viewer's (through the database and Redis)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.calls.conftest import Turn, start_coturn
from tests.calls.test_signalling import RELAY
from tests.client import Client
from tests.scaleout.conftest import Cluster
from tests.servers import ServerProcess

ROOM = 1  # "Accueil": a public room, so cams are allowed


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Turn]:
    turn = start_coturn(tmp_path)
    yield turn
    turn.stop()


async def test_a_cam_watched_from_another_node(
    cluster: Cluster, new_client: Callable[[ServerProcess], Client], coturn: Turn
) -> None:
    n1, n2 = cluster.node("n1", **coturn.env()), cluster.node("n2", **coturn.env())
    pub, viewer = new_client(n1), new_client(n2)
    for c in (pub, viewer):
        await c.enter()
        await c.connect()
        await c.join(ROOM)
    started = await pub.request("cam_start", room=ROOM)
    assert started["type"] == "cam", started
    seen = await viewer.wait("cam", room=ROOM, user=pub.id)
    assert seen["cam"]["user"]["id"] == pub.id
    # Someone joining on the other node finds it in the room's list (shared in the database).
    late = new_client(n2)
    await late.enter()
    await late.connect()
    assert [c["user"]["id"] for c in (await late.join(ROOM))["cams"]] == [pub.id]

    asked = await viewer.request("cam_ask", room=ROOM, user=pub.id)
    assert asked["state"] == "pending", asked
    view = asked["view"]
    await pub.wait("cam_view", view=view, state="pending")
    approved = await pub.request("cam_answer", view=view, accept=True)
    assert approved["state"] == "active", approved
    await viewer.wait("cam_view", view=view, state="active")
    relay = {"candidate": RELAY, "sdpMid": "0", "sdpMLineIndex": 0}
    await pub.send({"type": "cam_signal", "view": view, "candidate": relay})
    assert (await viewer.wait("cam_signal", view=view))["candidate"]["candidate"].endswith(
        "generation 0"
    )
    await viewer.send({"type": "cam_signal", "view": view, "candidate": relay})
    assert (await pub.wait("cam_signal", view=view))["view"] == view

    # The publisher's tab goes away: the viewer on the other node is told at once.
    await pub.drop()
    ended = await viewer.wait("cam_view", view=view, state="ended")
    assert ended["reason"] == "ended"
    await late.wait("cam", room=ROOM, user=pub.id, cam=None)
    assert (await late.request("cams", room=ROOM))["cams"] == []


async def test_a_minor_restricted_on_one_node_loses_their_cam_on_the_other(
    cluster: Cluster, new_client: Callable[[ServerProcess], Client], coturn: Turn
) -> None:
    n1, n2 = cluster.node("n1", **coturn.env()), cluster.node("n2", **coturn.env())
    minor, viewer = new_client(n2), new_client(n2)
    for c in (minor, viewer):
        await c.enter()
        await c.connect()
        await c.join(ROOM)
    assert (await minor.request("cam_start", room=ROOM))["type"] == "cam"
    asked = await viewer.request("cam_ask", room=ROOM, user=minor.id)
    view = asked["view"]
    await minor.wait("cam_view", view=view, state="pending")
    assert (await minor.request("cam_answer", view=view, accept=True))["state"] == "active"
    await viewer.wait("cam_view", view=view, state="active")
    # The same person, in another tab served by the other node, says they are 14.
    other_tab = new_client(n1)
    other_tab.token, other_tab.user = minor.token, minor.user
    await other_tab.connect()
    await other_tab.join(ROOM)
    said = await other_tab.say(f"room:{ROOM}", "en vrai j'ai 14 ans je suis en 4eme")
    assert said["type"] == "screened" and said["action"] == "restrict_minor", said
    # The cam, live on the first node, ends at once: its viewer is told, and so is the room.
    assert (await viewer.wait("cam_view", view=view, state="ended"))["view"] == view
    await viewer.wait("cam", room=ROOM, user=minor.id, cam=None)
    refused = await minor.request("cam_start", room=ROOM)
    assert refused["type"] == "error" and refused["code"] == "restricted", refused
