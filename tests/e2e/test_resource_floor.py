"""Refusing mail when the spool disk or memory runs low.

RFC 5321 §4.5.3.1.10 and §4.2.3 (452 "Requested action not taken:
insufficient system storage"), RFC 3463 4.3.1 ("Mail system full").
"""

import pytest

from smtp_client import connect


@pytest.mark.parametrize("key", ["min_free_disk", "min_free_memory"])
def test_mail_refused_below_floor(sluiced_factory, key):
    s = sluiced_factory(config={"spool": {key: "1000TiB"}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@example.org>")
        assert (r.code, r.enhanced) == (452, "4.3.1"), r
        r = c.cmd("RCPT TO:<b@example.net>")
        assert r.code == 503, r
        c.expect("NOOP", 250)
        c.expect("QUIT", 221)
    assert s.events() == []
    assert s.spool_count() == 0


def test_mail_accepted_above_floor(sluiced_factory):
    s = sluiced_factory(config={"spool": {"min_free_disk": "1KiB", "min_free_memory": "1KiB"}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        assert c.send_message("a@example.org", ["b@example.net"], "Subject: x\r\n\r\ny\r\n").queued_id()
