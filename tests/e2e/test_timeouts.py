"""Command and data timeouts.

RFC 5321 §4.5.3.2.7 (server timeout while awaiting a command) and §3.8
(after a timeout the server may close; it sends 421, RFC 3463 4.4.2
"Bad connection").
"""

import time

from smtp_client import connect


def test_command_timeout(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"command_timeout": "1s"}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        t0 = time.monotonic()
        r = c.reply(timeout=10)
        elapsed = time.monotonic() - t0
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert 0.8 < elapsed < 5, elapsed
        assert c.wait_closed(5)
    # An active client is not timed out: each command restarts the clock.
    with connect(s.port("relay")) as c:
        c.ehlo()
        for _ in range(4):
            time.sleep(0.4)  # paced on purpose: 1.6 s of activity under a 1 s idle timeout
            c.expect("NOOP", 250)


def test_data_timeout(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"data_timeout": "1s"}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: slow\r\n")
        t0 = time.monotonic()
        r = c.reply(timeout=10)
        assert (r.code, r.enhanced) == (421, "4.4.2"), r
        assert time.monotonic() - t0 < 5
        assert c.wait_closed(5)
    assert s.events() == []


def test_tls_handshake_timeout(sluiced_factory):
    """A client that connects to the implicit-TLS port and never starts TLS."""
    import socket
    s = sluiced_factory(listener_opts={"smtps": {"tls_handshake_timeout": "1s"}})
    raw = socket.create_connection(("127.0.0.1", s.port("smtps")), timeout=10)
    try:
        t0 = time.monotonic()
        assert raw.recv(100) == b""
        assert 0.8 < time.monotonic() - t0 < 5
    finally:
        raw.close()
