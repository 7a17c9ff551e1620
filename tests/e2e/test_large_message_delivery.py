"""A large message is delivered as it was received, though sluiced reads it
from the spool and sends it a piece (1 MiB) at a time: lines that start with
a dot are stuffed on the wire (RFC 5321 §4.5.2) wherever the pieces split,
and 8-bit content for a server without 8BITMIME is still converted whole
(RFC 6152 §3).
"""

import email
import email.policy
import quopri

from mx import inject, wait_outcomes, wait_until

MIB = 1 << 20


def _content(tag, size, eight_bit=False):
    head = (f"From: <sender@src.example>\r\nSubject: {tag}\r\nMessage-ID: <{tag}@sluice.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + ("Content-Transfer-Encoding: 8bit\r\n" if eight_bit else "") + "\r\n")
    lines = []
    n = 0
    while sum(map(len, lines)) < size:
        # Lines of varying length so piece boundaries fall everywhere, a good
        # share of them starting with a dot.
        text = ("." if n % 3 == 0 else "") + ("é" if eight_bit and n % 5 == 0 else "") \
            + "x" * (n * 37 % 990) + "\r\n"
        lines.append(text)
        n += 1
    return head + "".join(lines)


def _lab(mx_lab, eightbitmime=True):
    sink = mx_lab.sink("mx1", eightbitmime=eightbitmime)
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    return sink


def test_large_message_arrives_whole_and_unchanged(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab)
    s = delivering_sluiced()
    content = _content("large", 3 * MIB + 12345)
    qid = inject(s, "sender@src.example", ["a@dest.example"], content)
    [msg] = sink.wait_messages(1, timeout=30)
    got = msg.content.decode()
    # What arrives is the stored message: the added Received: field, then the content.
    assert got.startswith("Received: "), got[:200]
    assert got.endswith(content), "content changed on the way"
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery"
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_large_8bit_message_is_converted_whole_for_a_7bit_server(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab, eightbitmime=False)
    s = delivering_sluiced()
    content = _content("large8", 2 * MIB + 777, eight_bit=True)
    inject(s, "sender@src.example", ["a@dest.example"], content, mail_params="BODY=8BITMIME")
    [msg] = sink.wait_messages(1, timeout=30)
    assert all(b < 0x80 for b in msg.content), "8-bit octets reached a 7-bit server"
    head, _, wire_body = msg.content.partition(b"\r\n\r\n")
    parsed = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.default)
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    decoded = quopri.decodestring(wire_body.replace(b"\r\n", b"\n"))
    expected = content.split("\r\n\r\n", 1)[1].encode().replace(b"\r\n", b"\n")
    assert decoded == expected, "the converted content does not decode to the original"
