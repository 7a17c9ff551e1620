"""BDAT / CHUNKING over a raw socket.

RFC 3030 §2 (BDAT chunks, "250 <n> octets received", BDAT LAST ends the
message; a chunk is read whatever the reply to it is, and a failed chunk fails
the transaction) and §4.2 (BDAT may be pipelined with MAIL and RCPT).
"""

from smtp_client import connect, received_header_length

CHUNK1 = b"Subject: chunked\r\nX-Dots: .\r\n\r\n.leading dot is not stuffed in BDAT\r\n"
CHUNK2 = b"second chunk\r\n.\r\nthe line above is a lone dot, not an end marker\r\n"


def test_bdat_pipelined(sluiced):
    with connect(sluiced.port("relay")) as c:
        ehlo = c.ehlo()
        assert "CHUNKING" in ehlo.lines
        c.send(
            b"MAIL FROM:<alice@example.org>\r\n"
            b"RCPT TO:<bob@example.net>\r\n"
            + b"BDAT %d\r\n" % len(CHUNK1) + CHUNK1
            + b"BDAT %d LAST\r\n" % len(CHUNK2) + CHUNK2
        )
        mail, rcpt, first, last = c.replies(4)
        assert (mail.code, rcpt.code) == (250, 250), (mail, rcpt)
        assert first.code == 250
        assert first.lines == [f"2.0.0 {len(CHUNK1)} octets received"], first
        assert last.code == 250
        queued_id = last.queued_id()
        assert queued_id, last
        c.expect("QUIT", 221)

    [ev] = sluiced.wait_events(1)
    assert ev["id"] == queued_id
    assert ev["sender"] == "alice@example.org"
    assert ev["recipients"] == ["bob@example.net"]
    # Stored octets: the Received: field plus exactly the chunks, no dot handling.
    assert ev["size"] == received_header_length(ev) + len(CHUNK1) + len(CHUNK2)
    [(mid, _ts, size, _s, _r)] = sluiced.spool_ls()
    assert (mid, size) == (queued_id, ev["size"])


def test_bdat_zero_last(sluiced):
    """RFC 3030 §2: "BDAT 0 LAST" ends a message whose chunks were all sent."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
               + b"BDAT %d\r\n" % len(CHUNK1) + CHUNK1 + b"BDAT 0 LAST\r\n")
        replies = c.replies(4)
        assert [r.code for r in replies] == [250, 250, 250, 250], replies
        assert replies[3].queued_id(), replies[3]
    [ev] = sluiced.wait_events(1)
    assert ev["size"] == received_header_length(ev) + len(CHUNK1)


def test_bdat_without_mail_consumes_chunk(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        chunk = b"NOOP\r\nQUIT\r\n"  # must be read as data, never as commands
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk + b"NOOP\r\n")
        bdat, noop = c.replies(2)
        assert bdat.code == 503 and bdat.enhanced == "5.5.1", bdat
        assert (noop.code, noop.enhanced) == (250, "2.0.0"), noop
        assert c.pending(0.3) == b""
        # The session is intact: a real transaction still works.
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 3 LAST\r\nx\r\n")
        replies = c.replies(3)
        assert [r.code for r in replies] == [250, 250, 250], replies
        assert replies[2].queued_id()
        assert c.pending(0.3) == b""
    [ev] = sluiced.wait_events(1)
    assert ev["size"] == received_header_length(ev) + 3


def test_bdat_without_rcpt_consumes_chunk(sluiced):
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@example.org>\r\nBDAT 6 LAST\r\nRSET\r\nNOOP\r\n")
        mail, bdat, noop = c.replies(3)
        assert mail.code == 250
        assert bdat.code == 554 and bdat.enhanced == "5.5.1", bdat
        assert noop.code == 250, noop
    assert sluiced.events() == []


def test_bdat_too_big_fails_transaction(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"max_message_size": 1000}})
    with connect(s.port("relay")) as c:
        c.ehlo()
        big = b"x" * 998 + b"\r\n"  # 1000 octets
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
               + b"BDAT %d\r\n" % len(big) + big
               + b"BDAT 1 LAST\r\ny")
        mail, rcpt, first, last = c.replies(4)
        assert first.code == 250, first
        assert (last.code, last.enhanced) == (552, "5.3.4"), last
        # RFC 3030 §2: after a failed chunk, further BDATs fail until RSET.
        c.send(b"BDAT 3 LAST\r\nabc")
        r = c.reply()
        assert r.code in (503, 552, 554), r
        c.expect("RSET", 250)
        c.expect("NOOP", 250)
    assert s.events() == []
    assert s.spool_count() == 0
