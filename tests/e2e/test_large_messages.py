"""Large messages through DATA and BDAT: framing across read boundaries.

RFC 5321 §4.5.2 (dot-stuffing removed by the receiver) and §4.1.1.4 (end of
data), RFC 3030 §2 (BDAT chunks are taken verbatim), RFC 1870 (SIZE).
The stored size must be exactly the Received: field plus the content.
"""

import random

from smtp_client import connect, received_header_length


def make_body(n_lines, seed):
    rnd = random.Random(seed)
    lines = [b"Subject: big\r\n", b"\r\n"]
    for i in range(n_lines):
        k = rnd.randrange(0, 200)
        text = bytes(rnd.choice(b"abcdefghij .") for _ in range(k))
        if i % 7 == 0:
            text = b"." + text  # content lines that begin with a dot
        lines.append(text + b"\r\n")
    return b"".join(lines)


def stuff(body):
    out = []
    for line in body.split(b"\r\n")[:-1]:
        out.append((b"." + line if line.startswith(b".") else line) + b"\r\n")
    return b"".join(out)


def test_large_data_message(sluiced):
    body = make_body(30000, 1)  # about 3 MB
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<a@example.org> SIZE={len(body)}", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send(stuff(body) + b".\r\n")
        r = c.reply(timeout=60)
        assert r.queued_id(), r
    [ev] = sluiced.wait_events(1)
    assert ev["size"] == received_header_length(ev) + len(body)


def test_large_bdat_message(sluiced):
    body = make_body(30000, 2)
    chunks = [body[i:i + 1_000_003] for i in range(0, len(body), 1_000_003)]
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        wire = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
        for i, ch in enumerate(chunks):
            last = b" LAST" if i == len(chunks) - 1 else b""
            wire += b"BDAT %d%s\r\n" % (len(ch), last) + ch
        c.send(wire)
        replies = c.replies(2 + len(chunks), timeout=60)
        assert [r.code for r in replies] == [250] * (2 + len(chunks)), replies
        for r, ch in zip(replies[2:-1], chunks):
            assert r.lines == [f"2.0.0 {len(ch)} octets received"], r
        assert replies[-1].queued_id()
    [ev] = sluiced.wait_events(1)
    assert ev["size"] == received_header_length(ev) + len(body)
