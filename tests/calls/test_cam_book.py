"""The room cam book (pure): views, their records across nodes, the cap's count."""

from __future__ import annotations

from cocon.rtc.cams import ACTIVE, ENDED, PENDING, Cam, CamBook, View


def test_a_view_record_travels_between_nodes() -> None:
    here, there = CamBook(), CamBook()
    publisher_conn = object()
    there.add_cam(Cam(id="c1", room=3, publisher=12, friends_only=False, conn=publisher_conn))
    view = View(id="v1", room=3, publisher=12, viewer=31, viewer_conn=object())
    here.add(view)
    # The publisher's node learns of it from the control, and knows its own connection.
    copy = there.sync(view.control())
    assert copy is not None and copy.state == PENDING and copy.viewer_conn is None
    assert copy.publisher_conn is publisher_conn and copy.role_of(31) == "viewer"
    view.state = ACTIVE
    assert there.sync(view.control()) is copy and copy.state == ACTIVE
    assert there.active_count(3, 12) == 1 and there.views_of_cam(3, 12) == [copy]
    here.end(view, "revoked")
    assert view.viewer_conn is None
    there.sync(view.control())
    assert copy.state == ENDED and copy.reason == "revoked" and not copy.live
    assert there.active_count(3, 12) == 0
    # An ended view this node never knew is not created; garbage is ignored.
    assert there.sync("v2 ended 3 12 31 gone") is None
    for bad in ("", "v3 active 3 12", "v3 weird 3 12 31 -", "v3 active x 12 31 -"):
        assert there.sync(bad) is None


def test_latest_view_between_two_people() -> None:
    book = CamBook()
    first = View(id="a", room=1, publisher=5, viewer=6, created=1.0)
    second = View(id="b", room=1, publisher=5, viewer=6, created=2.0)
    elsewhere = View(id="c", room=2, publisher=5, viewer=6, created=3.0)
    for v in (first, second, elsewhere):
        book.add(v)
    assert book.between(1, 5, 6) is second
    assert book.between(1, 6, 5) is None
    assert book.recently_watched(6, 5) is elsewhere
    cam = Cam(id="c", room=1, publisher=5, friends_only=True, conn=object())
    book.add_cam(cam)
    assert first.publisher_conn is cam.conn  # a cam taken over here owns its views
    assert book.cams_of(cam.conn) == [cam]
    book.remove_cam(cam)
    assert book.cam(1, 5) is None
