"""GET /api/v1/messages/{id}, "metadata" carried into every event of a
message, and "send_at" holding a message until its time.

RFC 3339 (send_at and the times shown), RFC 9110 §15.5.5 (404 for a message
a key may not see, as for one that does not exist).
"""

import datetime
import json

from mx import wait_outcomes, wait_until
from test_http_api import call, inject, make_key


def get_message(s, key, mid):
    return call(s, "GET", "/api/v1/messages/" + mid, key=key)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_message_shows_its_recipients_states_and_events(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    sink.reject_rcpts = {"gone@dest.example"}
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()
    key = make_key(s, "acme")["key"]
    metadata = {"order": "A-17", "user_id": "42"}
    status, body, _ = inject(s, key, ["a@dest.example", "gone@dest.example"], campaign="spring",
                             metadata=metadata)
    assert status == 202, body
    mid = body["messages"][0]["id"]
    wait_outcomes(s, lambda o: len(o) == 2, 20, mid=mid)

    def settled():
        status, view, _ = get_message(s, key, mid)
        return status == 200 and view["state"] == "done" and view

    view = wait_until(settled, 10, what="the message to leave the queue")
    assert view["id"] == mid and view["sender"] == "news@src.example"
    assert view["tenant"] == "acme" and view["campaign"] == "spring"
    assert view["metadata"] == metadata
    states = {r["email"]: r for r in view["recipients"]}
    assert states["a@dest.example"]["state"] == "delivered"
    assert states["a@dest.example"]["last_response"]["code"] == 250
    assert states["gone@dest.example"]["state"] == "bounced"
    assert states["gone@dest.example"]["last_response"]["code"] == 550
    assert [e["type"] for e in view["events"]] == ["Reception", "Delivery", "Bounce"] or \
        [e["type"] for e in view["events"]] == ["Reception", "Bounce", "Delivery"]
    # The same metadata on every event of the message, in the log as well.
    assert all(e["metadata"] == metadata for e in view["events"])
    logged = [e for e in s.events() if e.get("id") == mid]
    assert len(logged) == 3 and all(e["metadata"] == metadata for e in logged)


def test_a_tenant_key_sees_its_own_tenants_messages_only(sluiced):
    acme = make_key(sluiced, "acme")["key"]
    beta = make_key(sluiced, "beta")["key"]
    op = make_key(sluiced)["key"]
    status, body, _ = inject(sluiced, acme, ["a@dest.example"])
    assert status == 202, body
    mid = body["messages"][0]["id"]
    status, view, _ = get_message(sluiced, acme, mid)
    assert status == 200 and view["state"] == "queued", view
    assert view["recipients"] == [{"email": "a@dest.example", "state": "queued", "attempts": 0,
                                   "last_response": None}]
    assert get_message(sluiced, op, mid)[0] == 200
    # Another tenant's message answers as a missing one does.
    status, err, _ = get_message(sluiced, beta, mid)
    assert status == 404 and err["error"]["code"] == "not_found"
    assert get_message(sluiced, acme, "0" * 32)[0] == 404
    assert get_message(sluiced, acme, "not-an-id")[0] == 404
    assert call(sluiced, "DELETE", "/api/v1/messages/" + mid, key=op)[0] == 405


def test_send_at_holds_the_message_until_its_time(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()
    key = make_key(s, "acme")["key"]
    now = datetime.datetime.now(datetime.timezone.utc)
    later = now + datetime.timedelta(seconds=3)
    status, body, _ = inject(s, key, ["late@dest.example"],
                             send_at=later.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z")
    assert status == 202, body
    mid = body["messages"][0]["id"]
    # A message sent at once: it overtakes the held one.
    status, body, _ = inject(s, key, ["now@dest.example"])
    assert status == 202, body
    sink.wait_messages(1, timeout=20)
    status, view, _ = get_message(s, key, mid)
    assert status == 200 and view["state"] == "scheduled", view
    assert abs(parse_time(view["next_attempt_at"]) - later) < datetime.timedelta(seconds=1)

    [held] = wait_outcomes(s, lambda o: len(o) == 1, 20, mid=mid)
    assert held["type"] == "Delivery"
    assert parse_time(held["timestamp"]) >= later - datetime.timedelta(milliseconds=20)
    assert [m.rcpt_tos for m in sink.messages] == [["now@dest.example"], ["late@dest.example"]]
    [rec] = [e for e in s.events() if e["type"] == "Reception" and e["id"] == mid]
    assert abs(parse_time(rec["send_at"]) - later) < datetime.timedelta(seconds=1)


def test_bad_metadata_and_send_at_are_refused(sluiced):
    key = make_key(sluiced, "acme")["key"]
    far = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=40))
    for extra, needle in (
            ({"metadata": ["a"]}, "metadata"),
            ({"metadata": {"a": 1}}, "string"),
            ({"metadata": {"bad key": "x"}}, "key"),
            ({"metadata": {f"k{i}": "v" for i in range(33)}}, "at most"),
            ({"metadata": {"k": "v" * 5000}}, "bytes"),
            ({"send_at": "tomorrow"}, "RFC 3339"),
            ({"send_at": far.strftime("%Y-%m-%dT%H:%M:%SZ")}, "days ahead")):
        status, body, _ = inject(sluiced, key, ["a@dest.example"], **extra)
        assert status == 400, (extra, body)
        assert needle in body["error"]["message"], (extra, body)
    assert sluiced.spool_count() == 0
    # A time gone by is now.
    status, body, _ = inject(sluiced, key, ["a@dest.example"], send_at="2020-01-01T00:00:00Z",
                             metadata={})
    assert status == 202, body
    status, view, _ = get_message(sluiced, key, body["messages"][0]["id"])
    assert view["send_at"] is None and view["state"] == "queued", json.dumps(view)
