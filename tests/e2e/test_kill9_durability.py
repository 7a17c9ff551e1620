"""Durability across a crash.

RFC 5321 §4.2.5 and §6.1: once the server has answered 250 to the end of
data it has taken responsibility for the message and must not lose it, even if
the process dies immediately after.
"""

import signal

from smtp_client import connect


def test_message_survives_sigkill(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        r = c.send_message("durable@example.org", ["bob@example.net"],
                           "Subject: keep me\r\n\r\nbody\r\n")
        assert r.code == 250
        queued_id = r.queued_id()
        assert queued_id, r
        rc = sluiced.stop(signal.SIGKILL)
    assert rc == -signal.SIGKILL

    assert sluiced.spool_count() == 1
    [(mid, _ts, _size, sender, rcpts)] = sluiced.spool_ls()
    assert (mid, sender, rcpts) == (queued_id, "durable@example.org", ["bob@example.net"])

    sluiced.restart()
    assert sluiced.spool_count() == 1
    assert sluiced.spool_ls()[0][0] == queued_id
    # The restarted daemon still accepts mail on the same spool.
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        assert c.send_message("second@example.org", ["bob@example.net"],
                              "Subject: 2\r\n\r\nbody\r\n").queued_id()
    assert sluiced.spool_count() == 2
    assert sluiced.stop() == 0
    assert sluiced.spool_count() == 2


def test_many_messages_survive_sigkill(sluiced):
    ids = []
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        for i in range(20):
            r = c.send_message(f"s{i}@example.org", ["bob@example.net"], f"Subject: {i}\r\n\r\nx\r\n")
            ids.append(r.queued_id())
    assert all(ids)
    sluiced.kill()
    assert sorted(m[0] for m in sluiced.spool_ls()) == sorted(ids)


def test_unfinished_message_is_not_stored(sluiced):
    """No 250, no message: a half-sent DATA leaves nothing behind."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<half@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: half\r\n\r\n" + "x" * 5000 + "\r\n")
        sluiced.kill()
    assert sluiced.spool_count() == 0
    sluiced.restart()
    assert sluiced.spool_count() == 0


def test_sigkill_during_concurrent_writes(sluiced):
    """Every message acknowledged with 250 before the kill is in the spool."""
    import threading
    import time
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n):
        try:
            with connect(sluiced.port("relay")) as c:
                c.ehlo()
                for i in range(200):
                    if stop.is_set():
                        return
                    r = c.send_message(f"k{n}@example.org", ["b@example.net"], f"{n}/{i}\r\n")
                    if r.code == 250:
                        with lock:
                            acked.append(r.queued_id())
        except (AssertionError, OSError):
            pass  # the server died under us: expected

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    sluiced.kill()
    with lock:
        acked_before = list(acked)
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert len(acked_before) >= 20
    stored = {m[0] for m in sluiced.spool_ls()}
    missing = [i for i in acked if i not in stored]
    assert missing == [], f"{len(missing)} acknowledged messages lost"
    sluiced.restart()
    assert {m[0] for m in sluiced.spool_ls()} == stored
