"""Delivery status notifications go back to the sender's own MX and parse.

RFC 3464 (the report format: multipart/report of RFC 6522 with a
message/delivery-status part), RFC 3461 §4.1 (NOTIFY decides which reports are
wanted), §4.2 (ORCPT), §4.3 (RET: headers or the full message, failed reports
only), §4.4 (ENVID), §5.2.2 (a next hop without DSN support makes the report
"relayed"), RFC 5321 §4.5.5 (reports come from the null sender, and mail from
the null sender never gets one). Each report is parsed with Python's email
package, as a mail client would.
"""

import email
import email.policy

from mx import body, inject, outcomes, stays_true, wait_outcomes, wait_until


def _lab(mx_lab, **script):
    sink = mx_lab.sink("mx1", **script)
    origin = mx_lab.sink("origin")  # the sender's domain: reports arrive here
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    return sink, origin


def _report(origin, n=1, timeout=20):
    """The n-th message the sender's MX received, checked as an RFC 3464 report
    and returned parsed: (message, per-message fields, [per-recipient fields], third part)."""
    msg = origin.wait_messages(n, timeout=timeout)[n - 1]
    assert msg.mail_from in ("", "<>"), msg.mail_from  # RFC 5321 §4.5.5
    assert msg.rcpt_tos == ["sender@src.example"]
    parsed = email.message_from_bytes(msg.content, policy=email.policy.compat32)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    assert parsed["Auto-Submitted"] == "auto-replied"  # RFC 3834
    assert parsed["To"] == "<sender@src.example>"
    assert parsed["Message-ID"] and parsed["Date"]
    parts = parsed.get_payload()
    assert [p.get_content_type() for p in parts[:2]] == ["text/plain", "message/delivery-status"]
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    blocks = parts[1].get_payload()  # RFC 3464 §2.1: per-message, then per-recipient
    assert blocks[0]["Reporting-MTA"].startswith("dns; ")
    assert blocks[0]["Arrival-Date"]
    for b in blocks[1:]:
        assert b["Final-Recipient"].startswith("rfc822; ")
        assert b["Action"] and b["Status"] and b["Last-Attempt-Date"]
    return parsed, blocks[0], blocks[1:], parts[2]


def test_rejected_recipient_gets_a_failure_report(mx_lab, delivering_sluiced):
    _, origin = _lab(mx_lab, reject_rcpts={"nobody@dest.example"})
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example",
                 [("nobody@dest.example", "NOTIFY=FAILURE ORCPT=rfc822;Nobody@dest.example")],
                 body("dsn-fail", text="the secret body\r\n"), mail_params="ENVID=batch-17 RET=HDRS")

    parsed, per_message, [rcpt], returned = _report(origin)
    assert parsed["Subject"].startswith("Undelivered Mail")
    assert per_message["Original-Envelope-Id"] == "batch-17"
    assert rcpt["Final-Recipient"] == "rfc822; nobody@dest.example"
    assert rcpt["Original-Recipient"] == "rfc822; Nobody@dest.example"
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "5.1.1")
    assert rcpt["Remote-MTA"] == "dns; mx1.dest.example"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 550 5.1.1"), rcpt["Diagnostic-Code"]
    # RET=HDRS: the original's header section only.
    assert returned.get_content_type() == "text/rfc822-headers"
    text = returned.get_payload()
    assert "Message-ID: <dsn-fail@sluice.test>" in text
    assert "the secret body" not in parsed.as_string()

    [bounce] = [e for e in outcomes(s, qid) if e["type"] == "Bounce"]
    # The report is mail like any other: it is delivered, then leaves the spool.
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    delivered = [e for e in s.events() if e.get("type") == "Delivery"
                 and e.get("recipient") == "sender@src.example"]
    assert len(delivered) == 1 and delivered[0]["sender"] == "", delivered
    assert bounce["response"]["code"] == 550


def test_ret_full_returns_the_whole_message(mx_lab, delivering_sluiced):
    _, origin = _lab(mx_lab, data_reply="554 5.7.1 Message refused")
    s = delivering_sluiced()

    inject(s, "sender@src.example", ["a@dest.example"],
           body("dsn-full", text="the whole body\r\n"), mail_params="RET=FULL")

    _, _, [rcpt], returned = _report(origin)
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "5.7.1")
    assert returned.get_content_type() == "message/rfc822"
    [original] = returned.get_payload()
    assert original["Message-ID"] == "<dsn-full@sluice.test>"
    assert "the whole body" in original.get_payload()


def test_notify_never_and_null_sender_get_no_report(mx_lab, delivering_sluiced):
    _, origin = _lab(mx_lab, reject_rcpts=True)
    s = delivering_sluiced()

    never = inject(s, "sender@src.example", [("x@dest.example", "NOTIFY=NEVER")], body("dsn-never"))
    null = inject(s, "", ["y@dest.example"], body("dsn-null"))

    for qid in (never, null):
        [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
        assert ev["type"] == "Bounce", ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    stays_true(lambda: origin.snapshot()["messages"] == 0 and " report " not in s.output(), 1.0,
               why="a report is asked for in the step that records the outcome, and is taken "
                   "in and logged within milliseconds")


def test_notify_success_to_a_server_without_dsn_is_relayed(mx_lab, delivering_sluiced):
    sink, origin = _lab(mx_lab)  # aiosmtpd does not offer DSN
    s = delivering_sluiced()

    inject(s, "sender@src.example",
           [("wants@dest.example", "NOTIFY=SUCCESS,FAILURE"), "quiet@dest.example"],
           body("dsn-relayed"))

    sink.wait_messages(1, timeout=20)
    parsed, _, rcpts, returned = _report(origin)
    assert parsed["Subject"].startswith("Successful Mail Delivery")
    assert [r["Final-Recipient"] for r in rcpts] == ["rfc822; wants@dest.example"]
    assert (rcpts[0]["Action"], rcpts[0]["Status"]) == ("relayed", "2.0.0")
    assert rcpts[0]["Remote-MTA"] == "dns; mx1.dest.example"
    assert returned.get_content_type() == "text/rfc822-headers"
    # The server without DSN support was not sent NOTIFY (RFC 3461 §5.2.2).
    [msg] = sink.messages
    assert not any("NOTIFY" in o for o in msg.mail_options)
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert origin.snapshot()["messages"] == 1


def test_notify_delay_gets_one_delay_report(mx_lab, delivering_sluiced):
    sink, origin = _lab(mx_lab, defer_all=True)
    s = delivering_sluiced(queue={"delay_warning": "1s", "first_retry": "1s"})

    qid = inject(s, "sender@src.example", [("slow@dest.example", "NOTIFY=DELAY,FAILURE")],
                 body("dsn-delay"))

    parsed, _, [rcpt], returned = _report(origin, timeout=20)
    assert parsed["Subject"].startswith("Delayed Mail")
    assert (rcpt["Action"], rcpt["Status"]) == ("delayed", "4.3.0")
    assert rcpt["Will-Retry-Until"]
    assert returned.get_content_type() == "text/rfc822-headers"
    # Still queued, still retried, and reported once only.
    n = len(outcomes(s, qid))
    wait_outcomes(s, lambda ev: len(ev) >= n + 2, 15, mid=qid)
    assert origin.snapshot()["messages"] == 1
    assert qid in [m[0] for m in s.spool_ls()]
