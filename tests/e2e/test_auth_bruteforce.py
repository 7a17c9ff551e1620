"""AUTH failure limiting.

RFC 4954 §4 and §6 (535 5.7.8 for bad credentials), RFC 4954 §9 / RFC 6409
§9 (servers should limit password guessing); 421 4.7.0 (RFC 3463: security
policy) then closing the connection (RFC 5321 §3.8).
"""

import pytest

from conftest import PASSWORD
from smtp_client import connect, plain_response


@pytest.fixture
def locked_server(sluiced_factory):
    return sluiced_factory(
        config={"auth": {"max_failures": 3, "failure_window": "5m", "lockout": "5m"}},
        users={"alice": PASSWORD})


def test_lockout_after_three_failures(locked_server):
    s = locked_server
    with connect(s.port("smtps"), tls=True) as c:
        c.ehlo()
        for _ in range(2):
            c.expect("AUTH PLAIN " + plain_response("alice", "wrong"), 535, "5.7.8")
        c.send("AUTH PLAIN " + plain_response("alice", "still wrong") + "\r\n")
        third = c.reply()
        assert (third.code, third.enhanced) == (535, "5.7.8"), third
        bye = c.reply()
        assert bye.code == 421 and bye.lines[-1].startswith("4.7.0"), bye
        assert c.wait_closed(5), "connection not closed after lockout"

    # A new connection from the same address, now with the right password.
    with connect(s.port("smtps"), tls=True) as c:
        c.ehlo()
        r = c.cmd("AUTH PLAIN " + plain_response("alice", PASSWORD))
        assert r.code == 421 and r.lines[-1].startswith("4.7.0"), r
        assert c.wait_closed(5)

    # Submission with STARTTLS from the same address is locked too.
    with connect(s.port("submission")) as c:
        c.ehlo()
        c.expect("STARTTLS", 220)
        c.starttls()
        c.ehlo()
        r = c.cmd("AUTH LOGIN")
        assert r.code == 421 and r.lines[-1].startswith("4.7.0"), r


def test_lockout_is_per_client_address(locked_server):
    s = locked_server
    with connect(s.port("smtps"), tls=True, source="127.0.0.1") as c:
        c.ehlo()
        for _ in range(2):
            c.expect("AUTH PLAIN " + plain_response("alice", "wrong"), 535, "5.7.8")
        c.send("AUTH PLAIN " + plain_response("alice", "wrong") + "\r\n")
        assert [r.code for r in c.replies(2)] == [535, 421]
    with connect(s.port("smtps"), tls=True, source="127.0.0.2") as c:
        c.ehlo()
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235, "2.7.0")


def test_failures_below_limit_then_success(locked_server):
    s = locked_server
    with connect(s.port("smtps"), tls=True) as c:
        c.ehlo()
        for _ in range(2):
            c.expect("AUTH PLAIN " + plain_response("alice", "wrong"), 535, "5.7.8")
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235, "2.7.0")
