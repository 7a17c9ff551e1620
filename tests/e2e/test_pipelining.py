"""PIPELINING over a raw socket.

RFC 2920 §3.1 (commands may be sent in groups; replies come in order),
§3.2 (the server may hold replies only until it would block, so a group ending
in DATA gets all its replies, the last one 354), §4 (EHLO advertises PIPELINING).
"""

from smtp_client import connect


def test_pipelined_transaction(sluiced):
    with connect(sluiced.port("relay")) as c:
        assert c.greeting.code == 220
        assert c.greeting.lines[0].startswith("mx.test")
        ehlo = c.ehlo()
        assert "PIPELINING" in ehlo.lines

        c.send(
            "MAIL FROM:<alice@example.org>\r\n"
            "RCPT TO:<r1@example.net>\r\n"
            "RCPT TO:<r2@example.net>\r\n"
            "RCPT TO:<r3@example.net>\r\n"
            "DATA\r\n"
        )
        replies = c.replies(5)
        assert [(r.code, r.enhanced) for r in replies] == [
            (250, "2.1.0"), (250, "2.1.5"), (250, "2.1.5"), (250, "2.1.5"), (354, None)
        ], replies
        assert c.buf == b""

        c.send("Subject: pipelined\r\n\r\nbody\r\n.\r\n")
        done = c.reply()
        assert done.code == 250
        queued_id = done.queued_id()
        assert queued_id, done

        c.send("RSET\r\nNOOP\r\nQUIT\r\n")
        replies = c.replies(3)
        assert [(r.code, r.enhanced) for r in replies] == [
            (250, "2.0.0"), (250, "2.0.0"), (221, "2.0.0")
        ], replies
        assert c.wait_closed(5), "server did not close after QUIT"
        assert c.buf == b"", c.buf

    [ev] = sluiced.wait_events(1)
    assert ev["id"] == queued_id
    assert ev["recipients"] == ["r1@example.net", "r2@example.net", "r3@example.net"]
    assert sluiced.spool_count() == 1


def test_pipelined_group_with_failures_keeps_order(sluiced_factory):
    """A refused RCPT inside a group does not disturb the replies after it."""
    s = sluiced_factory(config={"relay": {"networks": ["10.0.0.0/8"],
                                          "local_domains": ["local.test"]}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.send(
            "MAIL FROM:<alice@example.org>\r\n"
            "RCPT TO:<postmaster@local.test>\r\n"
            "RCPT TO:<x@elsewhere.example>\r\n"
            "RCPT TO:<bad address>\r\n"
            "RCPT TO:<b@local.test>\r\n"
            "RCPT TO:<Postmaster>\r\n"
            "DATA\r\n"
        )
        replies = c.replies(7)
        assert [r.code for r in replies] == [250, 250, 554, 501, 550, 250, 354], replies
        c.send("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        done, bye = c.replies(2)
        assert done.queued_id(), done
        assert bye.code == 221
    [ev] = s.wait_events(1)
    assert ev["recipients"] == ["postmaster"]


def test_replies_flushed_before_server_blocks(sluiced):
    """RFC 2920 §3.2: a group not ending in DATA must still be answered in full."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nNOOP\r\n")
        replies = c.replies(3, timeout=5)
        assert [r.code for r in replies] == [250, 250, 250], replies
