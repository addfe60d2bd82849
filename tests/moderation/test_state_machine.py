"""A Hypothesis state machine over moderation, driving one real server.

Users (each on a network of their own, each with a device of their own) send private and
room messages, report messages and people, appeal; moderators read the queue, cases,
evidence and records, mute, ban, delete, close cases and decide appeals. After every step:

1. no staff answer ever held the text of a private message nobody reported (each private
   message carries a unique marker; the report of a message attaches it and the 10 before
   it, docs/moderation.md, so those count as reported);
2. every staff action, evidence view, report and appeal made by the machine is in the
   audit log, in order, with nothing else, and the chain verifies;
3. while a ban holds, the banned device (same cookies, another network) and the banned
   network (fresh cookies) get ``403 banned`` on ``/api/enter`` with a new pseudo; once the
   ban is overturned on appeal, both are welcome again.

At the end, the real ``cocon audit verify`` finds the chain intact.

The protocol clients live on one event loop in a background thread (the machine is
synchronous); each step runs its coroutine there and waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import pyotp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cocon.actions.moderation import REDACTED
from cocon.http.api import DEVICE_COOKIE
from cocon.moderation.audit import AuditEntry, read_heads, verify
from cocon.moderation.policy import CATEGORIES
from cocon.store import moderation as mod_store
from cocon.store.engine import make_engine
from tests.client import Client
from tests.moderation.helpers import (
    StaffClient,
    add_staff,
    cli_audit_verify,
    connected,
    database_url,
    jar_session,
)
from tests.servers import ServerProcess

T = TypeVar("T")
N_USERS = 3
ROOM = 1
ROOM_STREAM = f"room:{ROOM}"
STEP_TIMEOUT = 60.0
MACHINE_SETTINGS = settings(
    max_examples=5,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
Key = tuple[str, str, str]  # (actor, action, target) of an audit entry


def _letters(n: int, width: int = 6) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 26)
        out = chr(ord("a") + r) + out
    return out


@dataclass(eq=False)
class Msg:
    stream: str
    seq: int
    sender: int  # user id
    text: str
    marker: str
    private: bool
    deleted: bool = False

    @property
    def shown(self) -> str:
        return REDACTED if self.deleted else self.text


class Staff:
    """A staff account made with the real CLI; every answer it gets is scanned."""

    def __init__(self, world: World, role: str) -> None:
        self.world = world
        self.role = role
        self.pseudo, self.password, self.secret = add_staff(world.server, role)
        self.http: aiohttp.ClientSession | None = None
        self.id = 0

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"

    async def login(self) -> None:
        self.http = jar_session()
        body = {
            "pseudo": self.pseudo,
            "password": self.password,
            "totp": pyotp.TOTP(self.secret).now(),
        }
        async with self.http.post(self.world.server.url + "/staff/api/login", json=body) as resp:
            data = await resp.json()
            assert resp.status == 200, data
        self.id = int(data["staff"]["id"])

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        assert self.http is not None
        url = self.world.server.url + "/staff/api" + path
        async with self.http.request(method, url, json=body) as resp:
            text = await resp.text()
            got = resp.status
        self.world.scan(text, f"{self.role} {self.id}: {method} {path}")
        data = json.loads(text)
        assert got == status, (method, path, got, data)
        return data

    def get(self, path: str, status: int = 200) -> Any:
        return self.world.run(self.call("GET", path, status=status))

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        return self.world.run(self.call("POST", path, body, status))


class World:
    """What outlives one run of the machine: the server, staff, the loop, the audit cursor."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="machine", daemon=True)
        self.thread.start()
        self.nets = itertools.count(1)
        self.hosts = itertools.count(20)
        self.markers = itertools.count(1)
        self.pseudos = itertools.count(1)
        self.secrets: dict[str, str] = {}  # marker -> text, of every private message sent
        self.exposed: set[str] = set()  # markers of private messages attached to a report
        self.room_log: dict[int, Msg] = {}  # every text of the room stream, by seq
        self.expected: list[Key] = []  # audit entries the machine caused, not yet checked
        self.cursor = 0  # last audit seq checked
        self.stats: Counter[str] = Counter()
        self.staff: list[Staff] = []
        self.engine = make_engine(database_url(server))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = STEP_TIMEOUT) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def setup(self) -> None:
        # Two moderators and an admin, made one after the other with ``cocon moderator add``.
        self.staff = [Staff(self, "moderator"), Staff(self, "moderator"), Staff(self, "admin")]
        for s in self.staff:
            self.run(s.login())

    def close(self) -> None:
        async def shut() -> None:
            for s in self.staff:
                if s.http is not None:
                    await s.http.close()
            await self.engine.dispose()

        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(shut(), 30)
        with contextlib.suppress(Exception):
            self.run(cancel_the_rest(), 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    # -- helpers ---------------------------------------------------------------------------

    def new_ip(self) -> str:
        """An address on a network (/24) nobody used yet."""
        n = next(self.nets)
        return f"10.{(n >> 8) & 255}.{n & 255}.7"

    def neighbour(self, ip: str) -> str:
        """Another address on the same /24."""
        return ip.rsplit(".", 1)[0] + f".{next(self.hosts) % 200 + 20}"

    def pseudo(self, prefix: str) -> str:
        """A fresh pseudo (digits only after the prefix: never a reserved word by chance)."""
        return f"{prefix}{next(self.pseudos)}"

    def marker(self, kind: str) -> str:
        return f"{kind}{_letters(next(self.markers))}q"

    def expect(self, actor: str, action: str, target: str) -> None:
        self.expected.append((actor, action, target))

    def scan(self, text: str, where: str) -> None:
        """Invariant 1: no unreported private message in what staff can read."""
        self.stats["staff answers scanned"] += 1
        for marker, secret in self.secrets.items():
            if marker not in self.exposed and marker in text:
                raise AssertionError(f"{where} shows an unreported private message: {secret!r}")

    def read_audit(self) -> tuple[list[AuditEntry], int]:
        async def go() -> tuple[list[AuditEntry], int]:
            async with self.engine.connect() as db:
                return await mod_store.audit_entries(db), await mod_store.audit_stored_count(db)

        return self.run(go())

    def resync(self) -> None:
        self.expected.clear()
        self.cursor = self.read_audit()[0][-1].seq

    def check_audit(self) -> None:
        """Invariant 2: the entries appended since the last check are exactly those expected."""
        entries, count = self.read_audit()
        new = [e for e in entries if e.seq > self.cursor]
        got = [(e.actor, e.action, e.target) for e in new]
        assert got == self.expected, f"audit log: got {got}, expected {self.expected}"
        for e in new:
            self.scan(e.target + e.reason + e.data, f"audit entry {e.seq}")
        self.expected.clear()
        if entries:
            self.cursor = entries[-1].seq
        assert verify(entries, read_heads(str(self.server.data_dir)), count) == []


async def _wait_notice(client: Client, kind: str, timeout: float = 10.0, **data: Any) -> None:
    """Wait until an inbox notice of that kind (and data fields) has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for n in client.notices:
            if n.get("kind") == kind and all(n["data"].get(k) == v for k, v in data.items()):
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} notice {data} for user {client.id}")


async def _hung_up(client: Client) -> None:
    """The server closed this client's WebSocket."""
    assert client._reader is not None
    await asyncio.wait_for(asyncio.shield(client._reader), 10)


async def _hello(client: Client) -> dict[str, Any]:
    """Reconnect with the session token; the first welcome or error."""
    client.ws = await client.http.ws_connect(client.base.replace("http", "ws", 1) + "/ws")
    client.events = asyncio.Queue()
    await client.send({"type": "hello", "token": client.token, "streams": {}})
    client._reader = asyncio.create_task(client._read())

    async def first() -> dict[str, Any]:
        while True:
            event = await client.events.get()
            if event.get("type") in ("welcome", "error"):
                return event

    return await asyncio.wait_for(first(), 10)


@dataclass(eq=False)
class User:
    idx: int
    ip: str
    client: Client
    device: str
    online: bool = True
    reports: int = 0  # on the current connection (10 in a row, then one per 30 s)
    bans: set[int] = field(default_factory=set)  # active
    mutes: set[int] = field(default_factory=set)  # active
    ban_count: int = 0  # every ban ever (escalation counts overturned ones too)

    @property
    def id(self) -> int:
        return self.client.id


@dataclass(eq=False)
class Sanction:
    id: int
    kind: str
    user: User
    staff: int  # the deciding moderator (the requester, when confirmed by a second one)
    revoked: bool = False
    appeal: int | None = None  # open appeal


@dataclass(eq=False)
class Report:
    id: int
    case: int
    evidence: list[tuple[int, int, str]] | None  # (seq, sender, text) expected, or none


STAFF = st.integers(0, 2)
USERS = st.integers(0, N_USERS - 1)
CATEGORY = st.sampled_from(CATEGORIES)
VERDICT = st.sampled_from([None, True, False])  # appeal left open, upheld, overturned


class ModerationMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        w.stats["runs"] += 1
        w.resync()  # a run that failed half-way leaves nothing to the next one
        self.users: list[User] = []
        self.convs: dict[frozenset[int], str] = {}  # pair of user indexes -> dm stream
        self.msgs: list[Msg] = []  # this run's messages
        self.sanctions: dict[int, Sanction] = {}
        self.appeals: dict[int, tuple[Sanction, Staff]] = {}  # open ones
        self.reports: dict[int, Report] = {}
        self.case_reports: dict[int, list[int]] = {}
        self.case_open: dict[int, bool] = {}
        self.open_case: dict[int, int] = {}  # accused user id -> open case
        self.conflicts: set[tuple[int, int]] = set()  # (staff id, user id)
        w.run(self._setup())

    async def _setup(self) -> None:
        try:
            await self._populate()
        except BaseException:
            for u in self.users:
                await u.client.close()
            raise

    async def _populate(self) -> None:
        for i in range(N_USERS):
            ip = self.world.new_ip()
            client = Client(self.world.server.url, jar_session(ip))
            self.users.append(User(i, ip, client, ""))
            await client.enter(self.world.pseudo("Membre"))
            await client.connect()
            await client.join(ROOM)
            self.users[i].device = next(
                c.value for c in client.http.cookie_jar if c.key == DEVICE_COOKIE
            )
        for a, b in itertools.combinations(self.users, 2):
            reply = await a.client.request("open_pm", user=b.id)
            conv = reply["conversation"]
            await self._send(a, conv["stream"], private=True)
            answer = await b.client.request("answer_pm", conversation=conv["id"], accept=True)
            assert answer["type"] == "conversation", answer
            self.convs[frozenset((a.idx, b.idx))] = conv["stream"]

    def teardown(self) -> None:
        async def close() -> None:
            for u in self.users:
                await u.client.close()

        self.world.run(close())

    # -- helpers ---------------------------------------------------------------------------

    def staff_by_id(self, staff_id: int) -> Staff:
        return next(s for s in self.world.staff if s.id == staff_id)

    async def _send(self, u: User, stream: str, private: bool) -> Msg | None:
        w = self.world
        marker = w.marker("secret" if private else "public")
        text = (
            f"Petit mot privé {marker}, à garder entre nous"
            if private
            else f"Bonjour le salon {marker}"
        )
        reply = await u.client.say(stream, text)
        if u.mutes:
            assert reply["type"] == "error" and reply["code"] == "muted", reply
            w.stats["sends refused (muted)"] += 1
            return None
        assert reply["type"] == "ack", reply
        msg = Msg(stream, int(reply["seq"]), u.id, text, marker, private)
        self.msgs.append(msg)
        if private:
            w.secrets[marker] = text
        else:
            w.room_log[msg.seq] = msg
        w.stats["private messages" if private else "room messages"] += 1
        return msg

    def _stream_msgs(self, stream: str) -> dict[int, Msg]:
        if stream == ROOM_STREAM:
            return self.world.room_log
        return {m.seq: m for m in self.msgs if m.stream == stream}

    def _sanction(
        self, s: Staff, u: User, body: dict[str, Any], data: st.DataObject
    ) -> dict[str, Any] | None:
        """Ask for a sanction; a conflicted moderator's needs a second one (or stays waiting)."""
        w = self.world
        kind = body["kind"]
        body = {"rule": "Charte §3", "reason": "Propos déplacés", "user": u.id} | body
        reply = s.post("/sanctions", body)
        if (s.id, u.id) not in self.conflicts:
            assert "sanction" in reply and "pending" not in reply, reply
        else:
            assert reply.get("needs_confirmation") is True, reply
            pending = reply["pending"]
            w.expect(s.actor, "needs_confirmation", f"user:{u.id}")
            w.stats["sanctions needing a second moderator"] += 1
            s.post(f"/pending/{pending}/confirm", {}, status=403)  # not the requester
            others = [o for o in w.staff if o is not s]
            second = data.draw(st.sampled_from(others), label="second moderator")
            if (second.id, u.id) in self.conflicts:  # conflicted too: refused, still waiting
                second.post(f"/pending/{pending}/confirm", {}, status=403)
                waiting = [p["id"] for p in second.get("/pending")["pending"]]
                assert pending in waiting, (pending, waiting)
                w.stats["confirmations refused (conflicted)"] += 1
                others = [o for o in others if (o.id, u.id) not in self.conflicts]
                if not others:
                    return None  # everyone is conflicted: it stays waiting
                second = others[0]
            reply = second.post(f"/pending/{pending}/confirm", {})
            w.expect(second.actor, "confirm", f"pending:{pending}")
        w.expect(s.actor, f"sanction_{kind}", f"user:{u.id}")
        sid = int(reply["sanction"])
        self.sanctions[sid] = Sanction(sid, kind, u, s.id)
        case = body.get("case")
        if case is not None:
            self.case_open[case] = False
            self.open_case.pop(u.id, None)
        w.stats[f"sanction {kind}"] += 1
        return reply

    def _gate(self, u: User) -> None:
        """Invariant 3: a new pseudo from the device, or from the network, while banned."""
        w = self.world

        async def enter(ip: str, cookies: dict[str, str] | None) -> tuple[int, dict[str, Any]]:
            body = {
                "pseudo": w.pseudo("Sonde"),
                "gender": "homme",
                "age": 41,
                "postal_code": "69001",
            }
            async with (
                jar_session(ip) as http,
                http.post(w.server.url + "/api/enter", json=body, cookies=cookies) as resp,
            ):
                return resp.status, await resp.json()

        by_device = w.run(enter(w.new_ip(), {DEVICE_COOKIE: u.device}))
        by_network = w.run(enter(w.neighbour(u.ip), None))
        for how, (status, data) in (("device", by_device), ("network", by_network)):
            if u.bans:
                assert status == 403 and data["error"]["code"] == "banned", (how, data)
                assert data["error"]["sanction"]["id"] in u.bans, (how, data, u.bans)
                w.stats[f"evasion refused ({how})"] += 1
            else:
                assert status == 200, (how, data)
                w.stats[f"entry after overturn ({how})"] += 1
        if u.bans:
            evasions = w.staff[0].get("/evasions")["evasions"][:2]
            assert [e["matched"] for e in evasions] == ["net", "device"], evasions
            assert {e["sanction_id"] for e in evasions} <= u.bans, evasions

    # -- users -----------------------------------------------------------------------------

    @rule(a=USERS, b=USERS)
    def send_private(self, a: int, b: int) -> None:
        u = self.users[a]
        if a == b or not u.online:
            return
        self.world.run(self._send(u, self.convs[frozenset((a, b))], private=True))

    @rule(a=USERS)
    def send_in_room(self, a: int) -> None:
        u = self.users[a]
        if u.online:
            self.world.run(self._send(u, ROOM_STREAM, private=False))

    @precondition(lambda self: bool(self.msgs))
    @rule(r=USERS, data=st.data(), category=CATEGORY)
    def report_message(self, r: int, data: st.DataObject, category: str) -> None:
        w = self.world
        u = self.users[r]
        if not u.online or u.reports >= 10:
            return
        readable = [
            m
            for m in self.msgs
            if m.sender != u.id
            and (
                not m.private or any(m.stream == s and r in pair for pair, s in self.convs.items())
            )
        ]
        if not readable:
            return
        m = data.draw(st.sampled_from(readable), label="reported")
        window = self._stream_msgs(m.stream)
        shown = [window[q] for q in range(max(1, m.seq - 10), m.seq + 1) if q in window]
        reply = w.run(
            u.client.request(
                "report", target="message", stream=m.stream, seq=m.seq, category=category
            )
        )
        assert reply["type"] == "reported", reply
        u.reports += 1
        self._reported(u, m.sender, reply)
        self.reports[reply["report"]].evidence = [(x.seq, x.sender, x.shown) for x in shown]
        for x in shown:  # attached to the report: staff may read them from now on
            if x.private and not x.deleted:
                w.exposed.add(x.marker)
        w.stats["message reports"] += 1

    @rule(r=USERS, a=USERS, category=CATEGORY)
    def report_user(self, r: int, a: int, category: str) -> None:
        u = self.users[r]
        if r == a or not u.online or u.reports >= 10:
            return
        accused = self.users[a]
        reply = self.world.run(
            u.client.request("report", target="user", user=accused.id, category=category)
        )
        assert reply["type"] == "reported", reply
        u.reports += 1
        self._reported(u, accused.id, reply)
        self.world.stats["user reports"] += 1

    def _reported(self, reporter: User, accused: int, reply: dict[str, Any]) -> None:
        case, report = int(reply["case"]), int(reply["report"])
        if accused in self.open_case:  # reports about one person go to one open case
            assert case == self.open_case[accused], (reply, self.open_case)
        else:
            assert case not in self.case_open, reply
            self.open_case[accused] = case
            self.case_open[case] = True
            self.case_reports[case] = []
        self.case_reports[case].append(report)
        self.reports[report] = Report(report, case, None)
        self.world.expect(f"user:{reporter.id}", "report", f"case:{case}")

    def _appealable(self) -> list[Sanction]:
        return [s for s in self.sanctions.values() if not s.revoked and s.appeal is None]

    @precondition(lambda self: bool(self._appealable()))
    @rule(data=st.data(), by_http=st.booleans(), verdict=VERDICT)
    def appeal(self, data: st.DataObject, by_http: bool, verdict: bool | None) -> None:
        """File an appeal; ``verdict``: decided at once (upheld or not), or left open."""
        w = self.world
        options = self._appealable()
        kind = data.draw(st.sampled_from(sorted({s.kind for s in options})), label="kind")
        s = data.draw(st.sampled_from([s for s in options if s.kind == kind]), label="contested")
        u = s.user
        body = {"sanction": s.id, "text": "Je conteste cette décision."}

        async def by_api() -> tuple[int, dict[str, Any]]:
            async with u.client.http.post(w.server.url + "/api/appeal", json=body) as resp:
                return resp.status, await resp.json()

        if u.online and not by_http:
            reply = w.run(u.client.request("appeal", **body))
            assert reply["type"] == "appealed", reply
            appeal_id = int(reply["appeal"])
        else:
            status, answer = w.run(by_api())
            assert status == 200, answer
            appeal_id = int(answer["appeal"])
        w.expect(f"user:{u.id}", "appeal", f"sanction:{s.id}")
        status, answer = w.run(by_api())  # one open appeal per sanction
        assert status == 409, answer
        holders = [
            m for m in w.staff if appeal_id in [a["id"] for a in m.get("/appeals")["appeals"]]
        ]
        assert len(holders) == 1 and holders[0].id != s.staff, (holders, s.staff)
        s.appeal = appeal_id
        self.appeals[appeal_id] = (s, holders[0])
        self.conflicts.add((s.staff, u.id))
        w.stats["appeals"] += 1
        if verdict is not None:
            self._decide(appeal_id, verdict)

    @precondition(lambda self: any(not u.online for u in self.users))
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        offline = [u for u in self.users if not u.online]
        u = data.draw(st.sampled_from(offline), label="reconnecting")
        first = self.world.run(_hello(u.client))
        if u.bans:
            assert first["type"] == "error" and first["code"] == "banned", first
            assert first["sanction"]["id"] in u.bans, first
            self.world.run(_hung_up(u.client))
            self.world.stats["hello refused (banned)"] += 1
            return
        assert first["type"] == "welcome", first
        self.world.run(u.client.join(ROOM))
        u.online, u.reports = True, 0
        self.world.stats["reconnections"] += 1

    # -- staff -----------------------------------------------------------------------------

    @rule(s=STAFF)
    def read_queue(self, s: int) -> None:
        cases = self.world.staff[s].get("/queue")["cases"]
        listed = {c["id"] for c in cases}
        for case, is_open in self.case_open.items():
            if len(cases) < 100:  # only the first 100 are listed
                assert (case in listed) == is_open, (case, is_open, listed)

    @precondition(lambda self: bool(self.case_reports))
    @rule(s=STAFF, data=st.data())
    def open_a_case(self, s: int, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(sorted(self.case_reports)), label="case")
        detail = self.world.staff[s].get(f"/cases/{case}")
        assert detail["case"]["status"] == ("open" if self.case_open[case] else "closed")
        assert [r["id"] for r in detail["reports"]] == self.case_reports[case]
        for r in detail["reports"]:
            assert "evidence" not in r, r
            assert r["has_evidence"] is (self.reports[r["id"]].evidence is not None), r

    @precondition(lambda self: bool(self.reports))
    @rule(s=STAFF, data=st.data())
    def view_evidence(self, s: int, data: st.DataObject) -> None:
        w = self.world
        report = data.draw(st.sampled_from(sorted(self.reports)), label="report")
        member = w.staff[s]
        got = member.get(f"/reports/{report}/evidence")["report"]["evidence"]
        w.expect(member.actor, "view_evidence", f"report:{report}")
        expected = self.reports[report].evidence or []
        assert [(e["seq"], e["sender"], e["text"]) for e in got] == expected
        w.stats["evidence views"] += 1

    @rule(s=STAFF, i=USERS)
    def view_record(self, s: int, i: int) -> None:
        w = self.world
        u = self.users[i]
        member = w.staff[s]
        record = member.get(f"/users/{u.id}")
        w.expect(member.actor, "view_history", f"user:{u.id}")
        mine = sorted((x for x in self.sanctions.values() if x.user is u), key=lambda x: x.id)
        assert [(x["id"], x["kind"], bool(x["revoked"])) for x in record["sanctions"]] == [
            (x.id, x.kind, x.revoked) for x in mine
        ]

    @precondition(lambda self: any(self.case_open.values()))
    @rule(s=STAFF, data=st.data())
    def close_case(self, s: int, data: st.DataObject) -> None:
        w = self.world
        open_cases = sorted(c for c, is_open in self.case_open.items() if is_open)
        case = data.draw(st.sampled_from(open_cases), label="closed case")
        member = w.staff[s]
        member.post(f"/cases/{case}/close", {"outcome": "no_action", "reason": "Rien à redire"})
        w.expect(member.actor, "close_case", f"case:{case}")
        self.case_open[case] = False
        self.open_case = {k: v for k, v in self.open_case.items() if v != case}
        w.stats["cases closed"] += 1

    @rule(s=STAFF, i=USERS, with_case=st.booleans(), data=st.data())
    def mute(self, s: int, i: int, with_case: bool, data: st.DataObject) -> None:
        u = self.users[i]
        case = self.open_case.get(u.id) if with_case else None
        body = {"kind": "mute", "duration_s": 600, "case": case}
        reply = self._sanction(self.world.staff[s], u, body, data)
        if reply is None:
            return
        u.mutes.add(int(reply["sanction"]))
        if u.online:
            self.world.run(_wait_notice(u.client, "sanction", sanction=reply["sanction"]))

    @rule(s=STAFF, i=USERS, with_case=st.booleans(), data=st.data())
    def ban(self, s: int, i: int, with_case: bool, data: st.DataObject) -> None:
        w = self.world
        u = self.users[i]
        case = self.open_case.get(u.id) if with_case else None
        body = {"kind": "ban", "duration_s": 3600, "case": case}
        reply = self._sanction(w.staff[s], u, body, data)
        if reply is None:
            return
        if u.ban_count >= 3:  # doubled per earlier ban, then permanent
            assert reply["ends_at"] is None, reply
        else:
            length = 3600 * 2**u.ban_count
            assert abs(reply["ends_at"] - time.time() - length) < 120, reply
        u.ban_count += 1
        u.bans.add(int(reply["sanction"]))
        if u.online:
            w.run(_hung_up(u.client))
            u.online = False
        self._gate(u)

    @precondition(lambda self: bool(self.msgs))
    @rule(s=STAFF, data=st.data())
    def delete_message(self, s: int, data: st.DataObject) -> None:
        m = data.draw(st.sampled_from(self.msgs), label="deleted")
        author = next(u for u in self.users if u.id == m.sender)
        body = {"kind": "delete", "stream": m.stream, "seq": m.seq}
        if self._sanction(self.world.staff[s], author, body, data) is not None:
            m.deleted = True

    @precondition(lambda self: bool(self.appeals))
    @rule(data=st.data(), uphold=st.booleans())
    def decide_appeal(self, data: st.DataObject, uphold: bool) -> None:
        appeal_id = data.draw(st.sampled_from(sorted(self.appeals)), label="appeal")
        self._decide(appeal_id, uphold)

    def _decide(self, appeal_id: int, uphold: bool) -> None:
        w = self.world
        s, judge = self.appeals.pop(appeal_id)
        verdict = {"uphold": uphold, "reason": "Réexamen"}
        self.staff_by_id(s.staff).post(f"/appeals/{appeal_id}/decide", verdict, status=403)
        judge.post(f"/appeals/{appeal_id}/decide", verdict)
        status = "upheld" if uphold else "overturned"
        w.expect(judge.actor, f"appeal_{status}", f"sanction:{s.id}")
        s.appeal = None
        u = s.user
        if not uphold:
            s.revoked = True
            u.bans.discard(s.id)
            u.mutes.discard(s.id)
        if u.online:
            w.run(_wait_notice(u.client, "appeal_outcome", appeal=appeal_id, outcome=status))
        w.stats[f"appeals {status}"] += 1
        if s.kind == "ban":
            self._gate(u)

    @precondition(lambda self: any(u.bans for u in self.users))
    @rule(i=USERS)
    def try_to_evade(self, i: int) -> None:
        u = self.users[i]
        if u.bans:
            self._gate(u)

    @rule()
    def admin_verifies_chain(self) -> None:
        admin = self.world.staff[2]
        assert admin.get("/audit/verify")["problems"] == []
        self.world.expect(admin.actor, "audit_verify", "audit")

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def audit_log_complete_and_intact(self) -> None:
        self.world.check_audit()


def test_moderation_state_machine(make_server: Any) -> None:
    started = time.monotonic()
    server = make_server(COCON_TRUST_FORWARDED_FOR="true", COCON_AUDIT_HEAD_EVERY="10")
    world = World(server)
    try:
        world.setup()
        machine = type("BoundModerationMachine", (ModerationMachine,), {"world": world})
        run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
        world.check_audit()
    finally:
        world.close()
    # The real CLI on the data folder: the chain, its heads and its count are intact.
    printed = cli_audit_verify(server)
    assert printed.strip() == f"{world.cursor} entrées, INTACT", printed
    assert len(read_heads(str(server.data_dir))) == world.cursor // 10
    print(f"\n{dict(sorted(world.stats.items()))}, {time.monotonic() - started:.1f} s")


async def test_conflicted_second_moderator_leaves_the_action_waiting(
    make_server: Any,
) -> None:
    """Found by the machine: a refused confirmation used the pending action up."""
    server = make_server()
    first, second, third = (StaffClient(server) for _ in range(3))
    user = await connected(server.url)
    try:
        for member in (first, second, third):
            await member.login()
        for member in (first, second):  # the user appeals against both: both conflicted
            sanction = await member.post(
                "/sanctions", {"kind": "warn", "user": user.id, "rule": "§1", "reason": "Rappel"}
            )
            reply = await user.request("appeal", sanction=sanction["sanction"], text="Non.")
            assert reply["type"] == "appealed", reply
        asked = await first.post(
            "/sanctions", {"kind": "warn", "user": user.id, "rule": "§1", "reason": "Encore"}
        )
        pending = asked["pending"]
        refused = await second.post(f"/pending/{pending}/confirm", {}, status=403)
        assert refused["error"]["code"] == "forbidden"
        assert pending in [p["id"] for p in (await third.get("/pending"))["pending"]]
        done = await third.post(f"/pending/{pending}/confirm", {})
        assert done["sanction"]
        engine = make_engine(database_url(server))
        try:
            async with engine.connect() as db:
                confirms = [
                    e.actor for e in await mod_store.audit_entries(db) if e.action == "confirm"
                ]
        finally:
            await engine.dispose()
        assert confirms == [f"staff:{third.id}"]
    finally:
        for thing in (first, second, third, user):
            await thing.close()
