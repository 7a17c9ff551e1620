"""Error limit per session.

RFC 5321 §4.1.4 / §7.8 (a server may close a session that keeps producing
errors; it should send 421 first, §3.8), RFC 3463 4.7.0.
"""

import pytest

from smtp_client import connect


@pytest.mark.parametrize("limit", [3, None])
def test_unknown_commands_hit_error_limit(sluiced_factory, limit):
    opts = {"relay": {"max_errors": limit}} if limit else None
    s = sluiced_factory(listener_opts=opts)
    n = limit or 10  # the default
    with connect(s.port("relay")) as c:
        c.ehlo()
        for i in range(n - 1):
            r = c.cmd(f"XYZZY{i}")
            assert (r.code, r.enhanced) == (500, "5.5.1"), r
        # Successful commands do not reset the count.
        c.expect("NOOP", 250)
        c.send("XYZZY\r\n")
        last = c.reply()
        assert last.code == 500, last
        bye = c.reply()
        assert bye.code == 421 and bye.enhanced == "4.7.0", bye
        assert c.wait_closed(5), "connection not closed after too many errors"
        assert c.buf == b""


def test_pipelined_errors_stop_at_limit(sluiced_factory):
    """Commands after the 421 in the same packet are not executed."""
    s = sluiced_factory(listener_opts={"relay": {"max_errors": 3}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.send("A\r\nB\r\nC\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n")
        replies = c.replies(4)
        assert [r.code for r in replies] == [500, 500, 500, 421], replies
        assert c.wait_closed(5)
        assert c.buf == b""
