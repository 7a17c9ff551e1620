"""SMTP smuggling: bare LF / bare CR in DATA.

RFC 5321 §2.3.8 (lines end with CRLF only; bare CR and LF must not be treated
as line ends), §4.1.1.4 (the end of data is CRLF.CRLF). A server that accepts
"<LF>.<CR><LF>" or "<CR><LF>.<LF>" as the end of data lets a client smuggle a
second message past an outbound relay. Sluice answers 550 5.5.2 and closes.
"""

import pytest

from smtp_client import connect

SMUGGLED = (
    "MAIL FROM:<evil@x.example>\r\n"
    "RCPT TO:<victim@example.net>\r\n"
    "DATA\r\n"
    "From: ceo@example.net\r\n\r\nsmuggled\r\n.\r\n"
)

ENDINGS = {
    "lf-dot-crlf": "\n.\r\n",
    "crlf-dot-lf": "\r\n.\n",
    "lf-dot-lf": "\n.\n",
    "cr-dot-cr": "\r.\r",
    "crlf-dot-cr": "\r\n.\r",
    "cr-dot-crlf": "\r.\r\n",
}


@pytest.mark.parametrize("ending", list(ENDINGS.values()), ids=list(ENDINGS))
def test_bare_line_end_in_data_is_rejected(sluiced, ending):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<good@example.org>", 250)
        c.expect("RCPT TO:<friend@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: innocent\r\n\r\nhello" + ending + SMUGGLED)
        r = c.reply()
        assert r.code >= 500 and (r.code, r.enhanced) == (550, "5.5.2"), r
        assert c.wait_closed(5), "connection left open after bare line end"
        # Nothing else was answered: none of the smuggled commands were read.
        assert c.buf == b"", c.buf
    assert sluiced.events() == []
    assert sluiced.spool_count() == 0


def test_bare_lf_in_middle_of_body(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<good@example.org>", 250)
        c.expect("RCPT TO:<friend@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: x\r\n\r\nline with a bare\nLF inside\r\n.\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (550, "5.5.2"), r
        assert c.wait_closed(5)
    assert sluiced.events() == []


def test_smuggling_split_across_packets(sluiced):
    """The same attack with the bare LF and the dot in separate TCP segments."""
    import time
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<good@example.org>", 250)
        c.expect("RCPT TO:<friend@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: innocent\r\n\r\nhello\r\n")
        # Paced on purpose (the behaviour under test is the split): each send
        # leaves as its own TCP segment.
        time.sleep(0.05)
        c.send("\n")
        time.sleep(0.05)
        c.send(".\r\n" + SMUGGLED)
        r = c.reply()
        assert (r.code, r.enhanced) == (550, "5.5.2"), r
        assert c.wait_closed(5)
        assert c.buf == b""
    assert sluiced.events() == []
    assert sluiced.spool_count() == 0
