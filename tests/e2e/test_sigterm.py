"""Graceful shutdown on SIGTERM.

RFC 5321 §3.8 and §4.2.2 (421 "Service not available, closing transmission
channel" may be sent at any time when the server must shut down; RFC 3463
4.3.2 "System not accepting network messages").
"""

import signal
import time

from mx import wait_until
from smtp_client import connect


def test_idle_client_gets_421_and_exit_is_quick(sluiced):
    idle = connect(sluiced.port("relay"))
    after_ehlo = connect(sluiced.port("submission"))
    after_ehlo.ehlo()
    in_mail = connect(sluiced.port("relay"))
    in_mail.ehlo()
    in_mail.expect("MAIL FROM:<a@example.org>", 250)
    try:
        t0 = time.monotonic()
        sluiced.signal(signal.SIGTERM)
        for c in (idle, after_ehlo, in_mail):
            r = c.reply(timeout=5)
            assert (r.code, r.enhanced) == (421, "4.3.2"), r
            assert r.lines[-1].startswith("4.3.2 mx.test"), r
            assert c.wait_closed(5)
        rc = sluiced.stop(signal.SIGTERM, timeout=10)
        elapsed = time.monotonic() - t0
        assert rc == 0, sluiced.output()
        # Well within shutdown_timeout (3 s): nobody was waited for.
        assert elapsed < 2.5, elapsed
    finally:
        for c in (idle, after_ehlo, in_mail):
            c.close()


def test_message_in_progress_is_finished(sluiced):
    """A client in the middle of DATA may finish; 421 comes at its next command."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: late\r\n\r\nfirst half\r\n")
        # The session is in DATA since its 354: the signal finds it mid-message
        # whether or not it has read the first half yet.
        sluiced.signal(signal.SIGTERM)
        wait_until(lambda: "shutting down:" in sluiced.output(), 10)
        c.send("second half\r\n.\r\n")
        r = c.reply(timeout=5)
        assert r.code == 250 and r.queued_id(), r
        bye = c.reply(timeout=5)
        assert (bye.code, bye.enhanced) == (421, "4.3.2"), bye
    assert sluiced.stop(timeout=10) == 0
    assert sluiced.spool_count() == 1
    assert len(sluiced.events()) == 1


def test_new_connections_refused_after_sigterm(sluiced_factory):
    s = sluiced_factory()
    held = connect(s.port("relay"))
    held.ehlo()
    held.expect("MAIL FROM:<a@example.org>", 250)
    held.expect("RCPT TO:<b@example.net>", 250)
    held.expect("DATA", 354)  # keeps the daemon from exiting at once
    try:
        s.signal(signal.SIGTERM)
        refused = False
        for _ in range(50):
            try:
                connect(s.port("relay"), greeting=False, timeout=1).close()
            except (ConnectionRefusedError, OSError):
                refused = True
                break
            time.sleep(0.02)
        assert refused, "listener still accepting after SIGTERM"
    finally:
        held.close()
    assert s.stop(timeout=10) == 0


def test_tls_sessions_get_421_inside_tls(sluiced):
    smtps = connect(sluiced.port("smtps"), tls=True)
    starttls = connect(sluiced.port("submission"))
    try:
        smtps.ehlo()
        starttls.ehlo()
        starttls.expect("STARTTLS", 220)
        starttls.starttls()
        starttls.ehlo()
        sluiced.signal(signal.SIGTERM)
        for c in (smtps, starttls):
            r = c.reply(timeout=5)
            assert (r.code, r.enhanced) == (421, "4.3.2"), r
        assert sluiced.stop(timeout=10) == 0
    finally:
        smtps.close()
        starttls.close()


def test_stuck_client_does_not_delay_exit_past_shutdown_timeout(sluiced):
    """A client that never finishes its DATA: exit 0 after shutdown_timeout (3 s)."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: never ends\r\n")
        t0 = time.monotonic()
        sluiced.signal(signal.SIGTERM)
        # Wait without a second SIGTERM: that one would cut the grace period short.
        sluiced.proc.wait(timeout=12)
        elapsed = time.monotonic() - t0
        rc = sluiced.stop(timeout=12)
        assert rc == 0, sluiced.output()
        assert 2.5 < elapsed < 6, elapsed
        assert c.wait_closed(2)
    assert sluiced.spool_count() == 0


def test_sigterm_under_load(sluiced):
    """SIGTERM while clients are sending: exit 0, every 250 is in the spool,
    no sanitizer report (checked by the fixture)."""
    import threading
    acked = []
    lock = threading.Lock()

    def client(n):
        try:
            with connect(sluiced.port("relay" if n % 2 else "smtps"), tls=n % 2 == 0) as c:
                c.ehlo()
                if n % 2 == 0:
                    from conftest import PASSWORD
                    from smtp_client import plain_response
                    c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
                for i in range(300):
                    c.send(f"MAIL FROM:<l{n}@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                           f"DATA\r\n")
                    codes = [r.code for r in c.replies(3)]
                    if codes != [250, 250, 354]:
                        return
                    c.send(f"Subject: {n}/{i}\r\n\r\nbody\r\n.\r\n")
                    r = c.reply()
                    if r.code != 250:
                        return
                    with lock:
                        acked.append(r.queued_id())
        except (AssertionError, OSError):
            pass

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acked) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    sluiced.signal(signal.SIGTERM)
    rc = sluiced.stop(timeout=10)
    assert time.monotonic() - t0 < 3.5  # shutdown_timeout is 3 s
    for t in threads:
        t.join(timeout=20)
    assert rc == 0, sluiced.output()[-3000:]
    assert len(acked) >= 30
    stored = {m[0] for m in sluiced.spool_ls()}
    assert [i for i in acked if i not in stored] == []
    assert sorted(e["id"] for e in sluiced.events()) == sorted(stored)
