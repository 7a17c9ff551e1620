"""Octets no standard allows, from a hostile or broken client.

RFC 6531 §3.3 (an SMTPUTF8 address is UTF-8, and RFC 3629 §4 says what
well-formed UTF-8 is: no overlong forms, no surrogates): 553 5.6.7. The event
log stays valid JSON (RFC 8259 §8.1: JSON text is UTF-8) whatever a client
sends. NUL in message data: RFC 5322 §4.1 makes it obsolete, and 7bit/8bit
MIME data may not carry it (RFC 2045 §2.7-2.8, RFC 6152); without BINARYMIME
(RFC 3030) it is refused with 554 5.6.0, by DATA and BDAT alike.
"""

import json

from smtp_client import connect

BAD_ADDRESSES = [
    b"\xff\xfe@example.org",          # never UTF-8
    b"a\xc0\xaf@example.org",         # overlong "/"
    b"\xed\xa0\x80@example.org",      # a surrogate
    b"a@ex\xffample.org",             # in the domain
]


def test_malformed_utf8_addresses_are_refused(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        for addr in BAD_ADDRESSES:
            c.send(b"MAIL FROM:<" + addr + b"> SMTPUTF8\r\n")
            r = c.reply()
            assert (r.code, r.enhanced) == (553, "5.6.7"), (addr, r)
        c.expect("MAIL FROM:<jürgen@example.org> SMTPUTF8", 250)
        for addr in BAD_ADDRESSES:
            c.send(b"RCPT TO:<" + addr + b">\r\n")
            r = c.reply()
            assert (r.code, r.enhanced) == (553, "5.6.7"), (addr, r)
        c.expect("RSET", 250)


def test_event_log_is_valid_json_whatever_the_client_sends(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.send(b"EHLO h\xff\xc0\xafst\r\n")
        assert c.reply().code == 250
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        assert c.reply().queued_id()
    raw = sluiced.events_path.read_bytes()
    lines = raw.decode("utf-8").splitlines()  # strict: raises on invalid UTF-8
    [ev] = [json.loads(line) for line in lines]
    assert ev["helo"] == "h\ufffd\ufffd\ufffdst", ev["helo"]


def test_nul_in_data_is_refused(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: x\r\n\r\nbefore\x00after\r\n.\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (554, "5.6.0"), r
        # The session goes on, and the next message is taken.
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        chunk = b"Subject: x\r\n\r\na\x00b\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enhanced) == (554, "5.6.0"), r
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: x\r\n\r\nclean\r\n.\r\n")
        assert c.reply().queued_id()
    assert len(sluiced.wait_events(1)) == 1
    assert sluiced.spool_count() == 1
