"""The pure pieces of voice rooms: participant ids, derived secrets, the node's seat book."""

from __future__ import annotations

from typing import cast

from cocon.actions.voice import Seat, VoiceBook
from cocon.gateway.connection import Connection
from cocon.rtc.janus import USER_BITS, participant_id, room_secret, room_token, user_of


def test_participant_ids_name_their_user_and_fit_in_javascript() -> None:
    for user in (1, 2, 31, 123_456, 2**31 - 1):
        ids = {participant_id(user) for _ in range(50)}
        assert len(ids) > 45  # fresh for every voice connection
        for i in ids:
            assert user_of(i) == user
            assert 0 < i < 2**53  # a JavaScript number, as Janus and the browser need
            assert i >= 2**USER_BITS  # never a watcher's id
    assert user_of(2**USER_BITS - 1) == 0  # watchers: user 0


def test_room_secrets_and_tokens_are_distinct_and_shared_by_nodes() -> None:
    assert room_token("k", 1) == room_token("k", 1)  # every node computes the same
    assert room_token("k", 1) != room_token("k", 2)
    assert room_token("k", 1) != room_token("other", 1)
    assert room_token("k", 1) != room_secret("k", 1)


def test_the_seat_book_keeps_its_three_indexes_in_step() -> None:
    book = VoiceBook()
    a, b = cast(Connection, object()), cast(Connection, object())
    seats = [Seat(a, 1, 11, "A"), Seat(a, 2, 12, "A"), Seat(b, 1, 21, "B")]
    for seat in seats:
        book.add(seat)
    assert book.get(a, 1) is seats[0] and book.get(b, 2) is None
    assert {s.participant for s in book.in_room(1)} == {11, 21}
    assert book.of(a) == seats[:2]
    assert book.remove(seats[0]) and not book.remove(seats[0])  # once
    assert book.by_participant.keys() == {12, 21}
    assert [s.participant for s in book.in_room(1)] == [21]
    # A newer seat of the same connection and room replaces the old one everywhere.
    newer = Seat(a, 2, 13, "A")
    book.add(newer)
    assert book.get(a, 2) is newer and 12 not in book.by_participant
    assert not book.remove(seats[1])
    for seat in (newer, seats[2]):
        assert book.remove(seat)
    assert not (book.by_conn or book.by_room or book.by_participant)
