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


def test_pipelined_recipients_over_the_limit_do_not_end_the_session(sluiced_factory):
    """A client pipelining past the limit gets 452 for the extra recipients and
    keeps its transaction (they are not errors, up to recipient_overshoot_limit)."""
    s = sluiced_factory(listener_opts={"relay": {"max_recipients": 3, "max_errors": 5}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        rcpts = "".join(f"RCPT TO:<r{i}@example.net>\r\n" for i in range(13))
        c.send("MAIL FROM:<a@example.org>\r\n" + rcpts + "DATA\r\n")
        replies = c.replies(15)
        codes = [r.code for r in replies]
        assert codes == [250] + [250] * 3 + [452] * 10 + [354], codes
        c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        assert c.reply().queued_id()
        c.expect("NOOP", 250)
    [ev] = s.wait_events(1)
    assert ev["recipients"] == ["r0@example.net", "r1@example.net", "r2@example.net"]


def test_recipients_past_the_overshoot_count_as_errors(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"max_recipients": 1, "max_errors": 2,
                                                 "recipient_overshoot_limit": 1}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<r0@example.net>", 250)
        c.expect("RCPT TO:<r1@example.net>", 452)  # the overshoot
        c.expect("RCPT TO:<r2@example.net>", 452)  # error 1
        c.expect("RCPT TO:<r3@example.net>", 452)  # error 2: the session ends
        bye = c.reply()
        assert (bye.code, bye.enhanced) == (421, "4.7.0"), bye
        assert c.wait_closed(5)
