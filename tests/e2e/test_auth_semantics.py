"""AUTH command details.

RFC 4954 §4 (AUTH not allowed during a transaction or after success: 503;
"*" cancels: 501; undecodable base64: 501 5.5.2; empty initial response "="),
§6 (504 5.5.4 unknown mechanism, 535 5.7.8 bad credentials),
RFC 4616 §2 (PLAIN: an authorization identity the server does not allow
fails the authentication), draft-murchison-sasl-login (LOGIN challenges
"Username:" / "Password:").
"""

import base64

import pytest

from conftest import PASSWORD
from smtp_client import b64, connect, plain_response


@pytest.fixture
def c(sluiced):
    with connect(sluiced.port("smtps"), tls=True) as conn:
        conn.ehlo()
        yield conn


def test_mechanism_errors(c):
    r = c.cmd("AUTH CRAM-MD5")
    assert (r.code, r.enhanced) == (504, "5.5.4"), r
    r = c.cmd("AUTH PLAIN !!!notbase64")
    assert (r.code, r.enhanced) == (501, "5.5.2"), r
    c.expect("AUTH PLAIN", 334)
    r = c.cmd("*")
    assert r.code == 501, r
    r = c.cmd("AUTH LOGIN")
    assert r.code == 334 and base64.b64decode(r.lines[0]) == b"Username:", r
    r = c.cmd(b64("alice"))
    assert r.code == 334 and base64.b64decode(r.lines[0]) == b"Password:", r
    r = c.cmd("*")
    assert r.code == 501, r
    c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235, "2.7.0")


def test_authzid(c):
    r = c.cmd("AUTH PLAIN " + plain_response("alice", PASSWORD, authzid="root"))
    assert (r.code, r.enhanced) == (535, "5.7.8"), r
    c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD, authzid="alice"), 235)


def test_plain_with_separate_response(c):
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334 and r.lines == [""], r
    c.expect(plain_response("alice", PASSWORD), 235, "2.7.0")


def test_no_auth_in_transaction_or_twice(c):
    c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
    r = c.cmd("AUTH PLAIN " + plain_response("alice", PASSWORD))
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    c.expect("MAIL FROM:<alice@example.org>", 250)
    r = c.cmd("AUTH LOGIN")
    assert r.code == 503, r


def test_auth_needs_ehlo(sluiced):
    with connect(sluiced.port("smtps"), tls=True) as c:
        r = c.cmd("AUTH PLAIN " + plain_response("alice", PASSWORD))
        assert r.code == 503, r


def test_auth_lets_relay_listener_relay(sluiced_factory):
    """RFC 4954 §1/§5: an authenticated client may relay (here from an
    address outside relay.networks, after STARTTLS)."""
    s = sluiced_factory(config={"relay": {"networks": ["10.0.0.0/8"]}},
                        users={"alice": PASSWORD})
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<x@foreign.example>", 554, "5.7.1")
        c.expect("RSET", 250)
        c.expect("STARTTLS", 220)
        c.starttls()
        assert "AUTH PLAIN LOGIN" in c.ehlo().lines
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<x@foreign.example>", 250)
        c.expect("DATA", 354)
        c.send("x\r\n.\r\n")
        assert c.reply().queued_id()
    [ev] = s.wait_events(1)
    assert ev["auth_user"] == "alice" and ev["protocol"] == "ESMTPSA"
    assert ev["listener"] == "relay"
