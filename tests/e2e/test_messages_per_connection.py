"""Messages per connection limit.

RFC 5321 §3.8 / §4.2.2 (421, closing the channel), RFC 3463 4.7.0; the client
retries the rest on a new connection (RFC 5321 §4.5.4.1).
"""

from smtp_client import connect


def test_third_mail_gets_421(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"max_messages_per_connection": 2}})
    ids = []
    with connect(s.port("relay")) as c:
        c.ehlo()
        for i in range(2):
            r = c.send_message("a@example.org", ["b@example.net"], f"Subject: {i}\r\n\r\nx\r\n")
            ids.append(r.queued_id())
        r = c.cmd("MAIL FROM:<a@example.org>")
        assert r.code == 421 and r.enhanced == "4.7.0", r
        assert c.wait_closed(5)
    assert all(ids)
    with connect(s.port("relay")) as c:
        c.ehlo()
        assert c.send_message("a@example.org", ["b@example.net"], "x\r\n").queued_id()
    assert s.spool_count() == 3
