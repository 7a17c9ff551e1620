"""8-bit content to a receiver that does not offer 8BITMIME.

RFC 6152 §3: a client must not send 8-bit data to a server that did not offer
8BITMIME; it converts the message to 7 bits (here: RFC 2045 quoted-printable,
part by part) or returns it (RFC 3463 X.6.3, conversion required but not
supported). The converted message must decode to the same text.
"""

import email
import email.policy

from mx import inject, wait_outcomes, wait_until

TEXT = "Grüße aus Köln, ça va? — 8-bit body\r\n"


def _lab(mx_lab):
    sink = mx_lab.sink("mx1", eightbitmime=False)
    origin = mx_lab.sink("origin")
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    return sink, origin


def _inject_8bit(s, headers, body_text):
    # Sent UTF-8 encoded.
    return inject(s, "sender@src.example", ["a@dest.example"], headers + "\r\n" + body_text,
                  mail_params="BODY=8BITMIME")


def test_multipart_8bit_part_is_sent_quoted_printable(mx_lab, delivering_sluiced):
    sink, _ = _lab(mx_lab)
    s = delivering_sluiced()
    headers = ("From: <sender@src.example>\r\nSubject: eight\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/alternative; boundary=\"XX\"\r\n")
    body_text = ("--XX\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain ascii\r\n"
                 "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\n" + TEXT + "--XX--\r\n")

    qid = _inject_8bit(s, headers, body_text)

    [msg] = sink.wait_messages(1, timeout=20)
    assert not any("BODY=8BITMIME" in o.upper() for o in msg.mail_options), msg.mail_options
    assert all(b < 0x80 for b in msg.content), "8-bit octets reached a 7-bit server"
    parsed = email.message_from_bytes(msg.content, policy=email.policy.default)
    ascii_part, utf8_part = parsed.get_payload()
    # RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter.
    assert ascii_part.get_content() == "plain ascii"
    assert utf8_part["Content-Transfer-Encoding"] == "quoted-printable"
    assert utf8_part.get_content() == TEXT[:-2]
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery"


def test_8bit_header_cannot_be_converted_and_bounces(mx_lab, delivering_sluiced):
    sink, origin = _lab(mx_lab)
    s = delivering_sluiced()

    qid = _inject_8bit(s, "From: <sender@src.example>\r\nSubject: Köln\r\n", TEXT)

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert (ev["type"], ev["response"]["code"], ev["response"]["enhanced"]) == \
        ("Bounce", 554, "5.6.3"), ev
    assert "header" in ev["response"]["text"]
    assert sink.snapshot()["transactions"] == 0
    [report] = origin.wait_messages(1, timeout=20)
    assert b"Status: 5.6.3" in report.content
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
