"""Feedback to the bounce domain: VERP return paths, asynchronous bounces and
complaint reports, and nothing sent back.

Each recipient's copy goes out with its own envelope sender, a VERP address
b-...@bounce-domain (one recipient a transaction), so a later bounce names
the message and recipient whatever its text says. sluiced takes mail for the
bounce domain from anyone on its relay listener and reads it: RFC 3464 DSNs
become AsyncBounce events, RFC 5965 (ARF) reports Complaint events, both
suppression entries for the message's tenant; RFC 3834 auto-replies are
dropped; what is not understood is kept (no backscatter: never bounced).
"""

import json
import os

from mx import stays_true, wait_until
from test_http_api import call, make_key

BOUNCE_DOMAIN = "bounces.src.example"


def _lab(mx_lab):
    sink = mx_lab.sink("mx1")
    (mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address))
    return sink


def _start(mx_lab, delivering_sluiced, **bounce):
    # 127.0.0.1 is not a relay client here: the reports come from "anyone".
    return delivering_sluiced(config={
        "bounce": {"domain": BOUNCE_DOMAIN, **bounce},
        "relay": {"networks": ["127.0.0.9/32"], "local_domains": ["local.test"]},
        "tenant": {"acme": {"bounce_domain": "fb.acme.example"}},
    })


def _send(s, key, rcpts, campaign=None):
    req = {"from": "news@src.example", "recipients": rcpts, "subject": "Hi", "text": "Hello"}
    if campaign:
        req["campaign"] = campaign
    st, b, _ = call(s, "POST", "/api/v1/messages", req, key=key)
    assert st == 202, b
    return b["messages"]


def _smtp(s, sender, rcpt, content):
    with s.connect() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{sender}>", 250)
        c.expect(f"RCPT TO:<{rcpt}>", 250)
        c.expect("DATA", 354)
        c.send(content.replace("\n", "\r\n").replace("\r\n.", "\r\n..") + "\r\n.\r\n")
        return c.reply()


def _dsn(verp, rcpt, status="5.1.1", diag="550 5.1.1 <{r}>: user unknown"):
    return (f"From: MAILER-DAEMON@mx1.dest.example\n"
            f"To: {verp}\n"
            f"Subject: Undelivered Mail Returned to Sender\n"
            f"MIME-Version: 1.0\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
            f"\n--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
            f"\n--B\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx1.dest.example\n\n"
            f"Final-Recipient: rfc822; {rcpt}\n"
            f"Action: failed\nStatus: {status}\n"
            f"Diagnostic-Code: smtp; {diag.format(r=rcpt)}\n"
            f"\n--B--\n")


def _events(s, kind):
    return [e for e in s.events() if e["type"] == kind]


def test_verp_dsn_makes_an_async_bounce_and_suppresses(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab)
    s = _start(mx_lab, delivering_sluiced)
    key = make_key(s, "acme")["key"]
    [m] = _send(s, key, ["gone@dest.example"])
    msgs = sink.wait_messages(1, timeout=20)
    verp = msgs[0].mail_from
    local, _, domain = verp.partition("@")
    # The tenant's own bounce domain; a compact tagged local part (RFC 5321 §4.5.3.1.1).
    assert domain == "fb.acme.example" and local.startswith("b-") and len(local) <= 64, verp

    r = _smtp(s, "", verp.replace("fb.acme.example", "FB.ACME.example"),
              _dsn(verp, "forwarded-elsewhere@other.example"))
    assert r.code == 250, r
    wait_until(lambda: _events(s, "AsyncBounce"), 10, what="an AsyncBounce event")
    [ev] = _events(s, "AsyncBounce")
    # The VERP address, not the report's text, says whose and which recipient.
    assert (ev["id"], ev["recipient"], ev["tenant"], ev["via"], ev["status"]) == \
        (m["id"], "gone@dest.example", "acme", "dsn", "5.1.1"), ev
    # The message's Message-ID from its history, as its Reception record has it.
    [rec] = [e for e in s.events() if e["type"] == "Reception" and e["id"] == m["id"]]
    assert rec["message_id"] and ev["message_id"] == rec["message_id"], (ev, rec)
    assert ev["bounce"]["class"] == "bad-mailbox" and ev["bounce"]["hard"], ev
    # Counted by class, beside the synchronous failures.
    counts = json.loads(s.cli("bounce", "status", "--json").stdout)
    assert counts == {"AsyncBounce": {"bad-mailbox": 1}}, counts
    entry = json.loads(s.cli("suppression", "check", "gone@dest.example", "--tenant", "acme",
                             "--json").stdout)["entry"]
    assert (entry["reason"], entry["tenant"], entry["source"]) == ("hard-bounce", "acme", m["id"])
    # The next message to that recipient is refused; the report went nowhere.
    st, b, _ = call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": ["gone@dest.example"],
                     "subject": "Again", "text": "x"}, key=key)
    assert st == 400 and b["rejected"][0]["message"].startswith("550 5.7.1"), b
    assert sink.snapshot()["messages"] == 1
    assert s.spool_count() == 0


def test_one_transaction_per_recipient_with_verp(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab)
    s = _start(mx_lab, delivering_sluiced)
    key = make_key(s)["key"]  # an operator's mail: the default bounce domain
    st, b, _ = call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": ["a@dest.example", "b@dest.example"],
                     "content": "From: news@src.example\r\nSubject: x\r\n\r\nHi\r\n"}, key=key)
    assert st == 202, b
    msgs = sink.wait_messages(2, timeout=20)
    assert sorted(len(m.rcpt_tos) for m in msgs) == [1, 1]
    senders = {m.rcpt_tos[0]: m.mail_from for m in msgs}
    assert len(set(senders.values())) == 2, senders
    assert all(v.endswith("@" + BOUNCE_DOMAIN) for v in senders.values()), senders


def test_arf_complaint_suppresses_and_garbage_is_kept_not_bounced(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab)
    s = _start(mx_lab, delivering_sluiced)
    key = make_key(s, "acme")["key"]
    [m] = _send(s, key, ["angry@dest.example"], campaign="spring")
    [msg] = sink.wait_messages(1, timeout=20)
    verp = msg.mail_from
    arf = (f"From: feedback@fbl.dest.example\n"
           f"To: fbl@fb.acme.example\n"
           f"Subject: Complaint\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n"
           f"\n--F\nContent-Type: text/plain\n\nThis is an abuse report.\n"
           f"\n--F\nContent-Type: message/feedback-report\n\n"
           f"Feedback-Type: abuse\nUser-Agent: FBL/1.0\nVersion: 1\n"
           f"Original-Rcpt-To: <angry@dest.example>\n"
           f"\n--F\nContent-Type: text/rfc822-headers\n\n"
           f"Return-Path: <{verp}>\nFrom: news@src.example\nTo: angry@dest.example\n"
           f"Subject: Hi\n"
           f"\n--F--\n")
    r = _smtp(s, "feedback@fbl.dest.example", "fbl@fb.acme.example", arf)
    assert r.code == 250, r
    wait_until(lambda: _events(s, "Complaint"), 10, what="a Complaint event")
    [ev] = _events(s, "Complaint")
    assert (ev["id"], ev["recipient"], ev["tenant"], ev["campaign"], ev["feedback_type"],
            ev["user_agent"]) == \
        (m["id"], "angry@dest.example", "acme", "spring", "abuse", "FBL/1.0"), ev
    entry = json.loads(s.cli("suppression", "check", "angry@dest.example", "--tenant", "acme",
                             "--json").stdout)["entry"]
    assert (entry["reason"], entry["tenant"], entry["campaign"]) == ("complaint", "acme", None)

    # An auto-reply is dropped; a message nobody can read is kept, not bounced.
    r = _smtp(s, "someone@dest.example", verp,
              "From: someone@dest.example\nAuto-Submitted: auto-replied\nSubject: Out of office\n"
              "\nI am away.\n")
    assert r.code == 250, r
    r = _smtp(s, "someone@dest.example", "whatever@" + BOUNCE_DOMAIN,
              "From: someone@dest.example\nSubject: hello\n\nJust saying hi.\n")
    assert r.code == 250, r
    kept = s.tmp / "var" / "feedback-unparsed" / "new"
    wait_until(lambda: kept.exists() and len(os.listdir(kept)) == 1, 10,
               what="the unreadable message kept")
    assert s.spool_count() == 0
    assert sink.snapshot()["messages"] == 1  # nothing else went out
    status = json.loads(s.cli("feedback", "status", "--json").stdout)
    assert status == {"bounces": 0, "complaints": 1, "unsubscribes": 0, "auto_replies": 1,
                      "ignored": 0, "unparsed": 1, "dmarc_reports": 0}, status
    assert "1 not understood" in s.cli("feedback", "status").stdout
    assert [e["type"] for e in s.events() if e["type"] in ("AsyncBounce", "Complaint")] == \
        ["Complaint"]


def test_forged_verp_address_ties_to_nothing(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab)
    s = _start(mx_lab, delivering_sluiced)
    key = make_key(s, "acme")["key"]
    _send(s, key, ["x@dest.example"])
    [msg] = sink.wait_messages(1, timeout=20)
    verp = msg.mail_from
    local, _, domain = verp.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    r = _smtp(s, "", forged, _dsn(forged, "x@dest.example"))
    assert r.code == 250, r
    wait_until(lambda: _events(s, "AsyncBounce"), 10, what="an AsyncBounce event")
    [ev] = _events(s, "AsyncBounce")
    # The report's own word only: no message, no tenant; the tenant's list untouched.
    assert (ev["id"], ev["tenant"], ev["recipient"]) == (None, None, "x@dest.example"), ev
    got = json.loads(s.cli("suppression", "check", "x@dest.example", "--tenant", "acme",
                           "--json").stdout)
    # And no list at all: an unverified report suppresses nothing.
    assert got["entry"] is None, got


def test_complaint_rate_over_threshold_suspends_the_campaign(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab)
    s = delivering_sluiced(config={
        "bounce": {"domain": BOUNCE_DOMAIN},
        "relay": {"networks": ["127.0.0.9/32"], "local_domains": ["local.test"]},
        "reputation": {"min_deliveries": 2, "complaint_rate": 0.5, "suspend_campaigns": True,
                       "suspend_for": "1h"},
    })
    key = make_key(s, "acme")["key"]
    _send(s, key, ["a@dest.example"], campaign="spring")
    _send(s, key, ["b@dest.example"], campaign="spring")
    msgs = sink.wait_messages(2, timeout=20)
    wait_until(lambda: len(_events(s, "Delivery")) == 2, 10, what="two Delivery events")
    verp = msgs[0].mail_from
    arf = ("From: feedback@fbl.dest.example\nTo: fbl@" + BOUNCE_DOMAIN + "\nSubject: Complaint\n"
           "MIME-Version: 1.0\n"
           "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n"
           "\n--F\nContent-Type: text/plain\n\nAbuse report.\n"
           "\n--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n"
           f"\n--F\nContent-Type: text/rfc822-headers\n\nReturn-Path: <{verp}>\n"
           "From: news@src.example\nSubject: Hi\n\n--F--\n")
    assert _smtp(s, "feedback@fbl.dest.example", "fbl@" + BOUNCE_DOMAIN, arf).code == 250

    # 1 complaint in 2 deliveries: the campaign's rate is at the threshold.
    wait_until(lambda: [a for a in _events(s, "Automation") if a["action"] == "suspend campaign"],
               10, what="a suspend campaign Automation event")
    [a] = [a for a in _events(s, "Automation") if a["action"] == "suspend campaign"]
    assert (a["tenant"], a["campaign"]) == ("acme", "spring"), a
    assert "complaint rate 50.00% >= 50.00%" in a["rule"], a
    # The tenant's rate crossed too: an alert, no suspension (not configured).
    assert [x["action"] for x in _events(s, "Automation") if x["campaign"] is None] == ["alert"]

    def held():
        summary = json.loads(s.cli("queue", "summary", "--json").stdout)
        return [h["target"] for h in summary["operator_suspensions"]]
    wait_until(lambda: held() == ["spring:acme@*"], 10, what="the campaign held")
    # The campaign's next message waits; another campaign's goes.
    _send(s, key, ["c@dest.example"], campaign="spring")
    _send(s, key, ["d@dest.example"], campaign="autumn")
    later = sink.wait_messages(3, timeout=20)
    assert later[2].rcpt_tos == ["d@dest.example"]
    stays_true(lambda: sink.snapshot()["messages"] == 3, 2,
               "a held campaign's message would go within a second")
