"""Plain ESMTP on the relay listener with smtplib.

RFC 5321 §3.3 (mail transaction), §4.2.5 (250 after the end of data means the
server took responsibility for the message), §4.4 (trace information).
"""

import re
import smtplib

from smtp_client import QUEUED_RE, received_header_length

BODY = (
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "Line one.\r\n"
    ".A line starting with a dot (stuffed on the wire).\r\n"
    "Last line.\r\n"
)


def test_relay_plain_message_is_queued_and_logged(sluiced):
    assert sluiced.spool_count() == 0
    with smtplib.SMTP("127.0.0.1", sluiced.port("relay"), local_hostname="client.test",
                      timeout=15) as s:
        code, banner = s.ehlo()
        assert code == 250
        assert banner.decode().startswith("mx.test Hello client.test [127.0.0.1]")
        assert s.has_extn("pipelining") and s.has_extn("chunking") and s.has_extn("size")
        assert s.has_extn("starttls")
        # RFC 4954 §4 / RFC 8314: no AUTH offered in cleartext.
        assert not s.has_extn("auth")
        client_port = s.sock.getsockname()[1]
        assert s.mail("alice@example.org") == (250, b"2.1.0 Ok")
        assert s.rcpt("bob@example.net") == (250, b"2.1.5 Ok")
        assert s.rcpt("carol@example.com") == (250, b"2.1.5 Ok")
        code, resp = s.data(BODY)
        assert code == 250, resp
        m = QUEUED_RE.match(resp.decode())
        assert m, resp
        queued_id = m.group(1)

    events = sluiced.wait_events(1)
    assert len(events) == 1, events
    ev = events[0]
    assert ev["type"] == "Reception"
    assert ev["id"] == queued_id
    assert ev["sender"] == "alice@example.org"
    assert ev["recipients"] == ["bob@example.net", "carol@example.com"]
    assert ev["listener"] == "relay"
    assert ev["protocol"] == "ESMTP"
    assert ev["helo"] == "client.test"
    assert ev["client_ip"] == "127.0.0.1"
    assert ev["client_port"] == client_port
    assert ev["auth_user"] is None
    assert ev["tls"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", ev["timestamp"]), ev

    # Stored size = Received: field + the un-stuffed content (RFC 5321 §4.5.2).
    assert ev["size"] == received_header_length(ev) + len(BODY.encode())

    assert sluiced.spool_count() == 1
    [(mid, _ts, size, sender, rcpts)] = sluiced.spool_ls()
    assert (mid, size, sender, rcpts) == (
        queued_id, ev["size"], "alice@example.org", ["bob@example.net", "carol@example.com"])


def test_helo_session_is_protocol_smtp(sluiced):
    """RFC 5321 §4.1.1.1: HELO gives a plain SMTP session (trace "with SMTP")."""
    with smtplib.SMTP("127.0.0.1", sluiced.port("relay"), local_hostname="old.test",
                      timeout=15) as s:
        code, banner = s.helo()
        assert (code, banner) == (250, b"mx.test")
        s.mail("a@example.org")
        s.rcpt("b@example.net")
        code, resp = s.data("Subject: x\r\n\r\nbody\r\n")
        assert code == 250, resp
    [ev] = sluiced.wait_events(1)
    assert ev["protocol"] == "SMTP"
    assert ev["helo"] == "old.test"
    assert ev["size"] == received_header_length(ev) + len(b"Subject: x\r\n\r\nbody\r\n")
