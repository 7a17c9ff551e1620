"""Recipient limit.

RFC 5321 §4.5.3.1.10 and §4.5.3.1.8 (a server refusing more recipients
answers 452 "too many recipients", and the client sends those later),
RFC 3463 4.5.3 ("Too many recipients").
"""

from smtp_client import connect


def test_fourth_recipient_is_deferred(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"max_recipients": 3}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        for i in range(3):
            c.expect(f"RCPT TO:<r{i}@example.net>", 250, "2.1.5")
        r = c.cmd("RCPT TO:<r3@example.net>")
        assert (r.code, r.enhanced) == (452, "4.5.3"), r
        # The first three are still there.
        c.expect("DATA", 354)
        c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        assert c.reply().queued_id()
        # The limit is per transaction.
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<r3@example.net>", 250)
    [ev] = s.wait_events(1)
    assert ev["recipients"] == ["r0@example.net", "r1@example.net", "r2@example.net"]
