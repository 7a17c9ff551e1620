"""The ordinary expiry path: a destination that always defers.

RFC 5321 §4.5.4.1: a message that cannot be delivered is retried until its
give-up time, then returned to its sender. Here every attempt gets 451;
after [queue] max_age the recipient gets an Expiration event (RFC 3463
4.4.7, delivery time expired) and the sender a failure report (RFC 3464)
that a mail client can parse. The report is mail like any other: it is
taken in through the same funnel (a Reception event, listener "dsn"),
delivered, and leaves the spool.
"""

import email
import email.policy

from mx import body, inject, outcomes, wait_outcomes, wait_until


def test_always_deferred_mail_expires_with_a_447_report(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1", defer_all=True)
    origin = mx_lab.sink("origin")  # the sender's domain: the report arrives here
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    s = delivering_sluiced(queue={"max_age": "4s", "first_retry": "1s"})

    qid = inject(s, "sender@src.example", ["stuck@dest.example"], body("expiring"))

    evs = wait_outcomes(s, lambda ev: any(e["type"] == "Expiration" for e in ev), 30, mid=qid,
                        what="the Expiration event")
    [expired] = [e for e in evs if e["type"] == "Expiration"]
    assert expired["response"]["enhanced"] == "4.4.7", expired
    assert expired["recipient"] == "stuck@dest.example"
    tries = [e for e in outcomes(s, qid) if e["type"] == "TransientFailure"]
    assert len(tries) >= 2, tries  # retried before giving up
    assert all(e["response"]["code"] == 451 for e in tries), tries
    assert expired["attempt"] == tries[-1]["attempt"], (expired, tries[-1])

    [msg] = origin.wait_messages(1, timeout=20)
    assert msg.mail_from in ("", "<>"), msg.mail_from  # RFC 5321 §4.5.5
    assert msg.rcpt_tos == ["sender@src.example"]
    parsed = email.message_from_bytes(msg.content, policy=email.policy.compat32)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    status = parsed.get_payload()[1]
    assert status.get_content_type() == "message/delivery-status"
    per_message, rcpt = status.get_payload()[0], status.get_payload()[1]
    assert per_message["Reporting-MTA"].startswith("dns; ")
    assert rcpt["Final-Recipient"] == "rfc822; stuck@dest.example"
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "4.4.7")

    # Taken in like any message (so signed and logged like any), then gone.
    receptions = [e for e in s.events() if e["type"] == "Reception" and e["listener"] == "dsn"]
    assert len(receptions) == 1 and receptions[0]["sender"] == "", receptions
    assert receptions[0]["recipients"] == ["sender@src.example"]
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
