"""Message size limit.

RFC 1870 §4 (SIZE advertised by EHLO), §6.1 (MAIL with SIZE= over the fixed
limit: 552), RFC 5321 §4.5.3.1.10 / RFC 3463 5.3.4 ("Message too big for
system"): a body over the limit is refused after the final dot, nothing stored.
"""

import pytest

from smtp_client import connect

LIMIT = 10000


@pytest.fixture
def small(sluiced_factory):
    return sluiced_factory(listener_opts={"relay": {"max_message_size": LIMIT}})


def body_of(n):
    """Exactly n octets of CRLF lines (n >= 2)."""
    lines = []
    left = n
    while left > 0:
        k = min(100, left)
        if left - k == 1:  # avoid leaving a single octet
            k -= 1
        lines.append(b"y" * (k - 2) + b"\r\n")
        left -= k
    out = b"".join(lines)
    assert len(out) == n
    return out


def test_size_advertised(small):
    with connect(small.port("relay")) as c:
        assert f"SIZE {LIMIT}" in c.ehlo().lines


def test_mail_size_parameter_over_limit(small):
    with connect(small.port("relay")) as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<a@example.org> SIZE={LIMIT + 1}")
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        c.expect(f"MAIL FROM:<a@example.org> SIZE={LIMIT}", 250, "2.1.0")
        c.expect("QUIT", 221)


def test_data_over_limit_is_refused_after_dot(small):
    with connect(small.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send(body_of(3 * LIMIT))
        # Nothing is said before the end of the data.
        assert c.pending(0.3) == b""
        c.send(".\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
        # The transaction is over, the session is not.
        r = c.cmd("RCPT TO:<b@example.net>")
        assert r.code == 503, r
        c.expect("NOOP", 250)
        c.expect("QUIT", 221)
    assert small.events() == []
    assert small.spool_count() == 0


def test_data_at_limit_is_accepted_one_more_is_not(small):
    with connect(small.port("relay")) as c:
        c.ehlo()
        r = c.send_message("a@example.org", ["b@example.net"], body_of(LIMIT))
        assert r.queued_id(), r
        r = c.send_message("a@example.org", ["b@example.net"], body_of(LIMIT + 2))
        assert (r.code, r.enhanced) == (552, "5.3.4"), r
    assert len(small.wait_events(1)) == 1
    assert small.spool_count() == 1
