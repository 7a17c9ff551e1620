"""Basic command semantics and sequencing.

RFC 5321 §2.4 (verbs are case-insensitive), §3.3 and §4.1.4 (order of
commands; 503 "bad sequence"), §4.1.1.1 (EHLO needs a domain: 501), §4.1.1.5
(RSET), §4.1.1.9 (NOOP may carry a string), §3.5.3 (VRFY: 252), §4.1.1.10
(QUIT: 221 then close), §4.5.5 (null reverse-path must be accepted),
§4.1.1.3 and Appendix C (source routes are accepted and ignored),
§4.1.1.11 (555 for unknown MAIL/RCPT parameters), §4.1.4 (EHLO in a
transaction resets it), RFC 1870 (SIZE=), RFC 6152 (BODY=8BITMIME),
RFC 3461 §4 (NOTIFY, ORCPT, RET, ENVID).
"""

import pytest

from smtp_client import connect


@pytest.fixture
def c(sluiced):
    with connect(sluiced.port("relay")) as conn:
        yield conn


def test_greeting_and_ehlo_keywords(c):
    assert c.greeting.code == 220
    assert c.greeting.lines == ["mx.test ESMTP Sluice"]
    ehlo = c.ehlo()
    kw = {line.split()[0] for line in ehlo.lines[1:]}
    assert {"PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING",
            "DSN", "STARTTLS"} <= kw


def test_sequencing(c):
    r = c.cmd("MAIL FROM:<a@example.org>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r  # before EHLO
    r = c.cmd("EHLO")
    assert r.code == 501, r
    c.ehlo()
    r = c.cmd("RCPT TO:<b@example.net>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    r = c.cmd("DATA")
    assert r.code == 503, r
    c.expect("MAIL FROM:<a@example.org>", 250)
    r = c.cmd("MAIL FROM:<a@example.org>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r  # nested
    r = c.cmd("DATA")
    assert r.code in (503, 554), r  # no recipients
    c.expect("RCPT TO:<b@example.net>", 250)
    # EHLO resets the transaction.
    c.ehlo("again.test")
    r = c.cmd("RCPT TO:<b@example.net>")
    assert r.code == 503, r
    c.expect("MAIL FROM:<a@example.org>", 250)
    c.expect("RSET", 250, "2.0.0")
    r = c.cmd("DATA")
    assert r.code == 503, r


def test_case_insensitive_and_misc(c, sluiced):
    c.expect("ehlo lower.test", 250)
    c.expect("NOOP some text", 250, "2.0.0")
    c.expect("VRFY bob", 252)
    r = c.cmd("EXPN staff")
    assert r.code in (252, 502, 550), r
    c.expect("HELP", 214)
    c.expect("mail from:<a@example.org>", 250)
    c.expect("rCpT tO:<b@example.net>", 250)
    c.expect("data", 354)
    c.send("x\r\n.\r\n")
    assert c.reply().queued_id()
    r = c.cmd("QUIT")
    assert (r.code, r.enhanced) == (221, "2.0.0"), r
    assert c.wait_closed(5)
    [ev] = sluiced.wait_events(1)
    assert ev["helo"] == "lower.test"


def test_null_sender_and_source_route(c, sluiced):
    c.ehlo()
    c.expect("MAIL FROM:<>", 250, "2.1.0")
    c.expect("RCPT TO:<@relay.example,@other.example:user@example.net>", 250, "2.1.5")
    c.expect("DATA", 354)
    c.send("Subject: bounce\r\n\r\nx\r\n.\r\n")
    assert c.reply().queued_id()
    [ev] = sluiced.wait_events(1)
    assert ev["sender"] == ""
    assert ev["recipients"] == ["user@example.net"]
    [(_id, _ts, _size, sender, rcpts)] = sluiced.spool_ls()
    assert (sender, rcpts) == ("", ["user@example.net"])


def test_parameters(c):
    c.ehlo()
    r = c.cmd("MAIL FROM:<a@example.org> FROBNICATE=YES")
    assert (r.code, r.enhanced) == (555, "5.5.4"), r
    r = c.cmd("MAIL FROM:<a@example.org> SIZE=lots")
    assert r.code == 501, r
    c.expect("MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ314159", 250)
    c.expect("RCPT TO:<b@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@example.net", 250)
    r = c.cmd("RCPT TO:<c@example.net> NOTIFY=NEVER,SUCCESS")
    assert r.code == 501, r
    r = c.cmd("RCPT TO:<c@example.net> XYZ=1")
    assert (r.code, r.enhanced) == (555, "5.5.4"), r
    r = c.cmd("RCPT TO:<not an address>")
    assert r.code == 501 and r.enhanced == "5.1.3", r


def test_starttls_unavailable_without_tls(sluiced_factory):
    """RFC 3207 §4: 454 when TLS is not available; not advertised."""
    s = sluiced_factory(listener_opts={"relay": {"tls": "none"}})
    with connect(s.port("relay")) as c:
        assert "STARTTLS" not in c.ehlo().lines
        r = c.cmd("STARTTLS")
        assert (r.code, r.enhanced) == (454, "4.7.0"), r
        c.expect("NOOP", 250)
