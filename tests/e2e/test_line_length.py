"""Line length limits: command lines, text lines in DATA, AUTH responses.

RFC 5321 §4.5.3.1.4 (command line limit; "500 Line too long", §4.2.2),
§4.5.3.1.6 (a text line is at most 1000 octets including CRLF, "not counting
the leading dot duplicated for transparency"), RFC 5322 §2.1.1 (998
characters per line), RFC 4954 §4 and §6 (AUTH exchange lines up to 12288
octets; longer: "500 5.5.6 Authentication Exchange line is too long"),
RFC 5321 §3.8 (the server must not close the connection except after QUIT,
a 421, or a timeout).
"""

from conftest import PASSWORD
from smtp_client import ClosedError, connect, plain_response


def start_data(c):
    c.expect("MAIL FROM:<a@example.org>", 250)
    c.expect("RCPT TO:<b@example.net>", 250)
    c.expect("DATA", 354)


def test_998_octet_line_accepted_999_refused(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        start_data(c)
        c.send(b"Subject: long\r\n\r\n" + b"x" * 998 + b"\r\n.\r\n")
        assert c.reply().queued_id()
        start_data(c)
        c.send(b"Subject: longer\r\n\r\n" + b"x" * 999 + b"\r\n.\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (550, "5.5.2"), r
        # Not fatal: the session goes on.
        c.expect("NOOP", 250)
    assert len(sluiced.wait_events(1)) == 1
    assert sluiced.spool_count() == 1


def test_dot_stuffed_998_octet_line_accepted(sluiced):
    """The message line ".xxx…" (998 octets) is sent as "..xxx…" (999 octets)."""
    line = b"." + b"x" * 997
    assert len(line) == 998
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        start_data(c)
        c.send(b"Subject: dot\r\n\r\n." + line + b"\r\n.\r\n")
        r = c.reply()
        assert r.code == 250 and r.queued_id(), (
            f"998-octet line starting with a dot refused: {r!r}")


def test_command_line_too_long_is_not_fatal(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        r = c.cmd("NOOP " + "x" * 2000)
        assert (r.code, r.enhanced) == (500, "5.5.2"), r
        r = c.cmd("MAIL FROM:<" + "a" * 20000 + "@example.org>")
        assert r.code == 500, r
        c.expect("NOOP", 250)
        c.expect("MAIL FROM:<a@example.org>", 250)


def test_auth_response_too_long(sluiced):
    with connect(sluiced.port("smtps"), tls=True) as c:
        c.ehlo()
        c.expect("AUTH PLAIN", 334)
        c.send("A" * 13000 + "\r\n")
        try:
            r = c.reply()
        except ClosedError:
            raise AssertionError("server closed the connection without any reply to an "
                                 "over-long AUTH response") from None
        assert (r.code, r.enhanced) == (500, "5.5.6"), r
        # The session survives and AUTH still works.
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
