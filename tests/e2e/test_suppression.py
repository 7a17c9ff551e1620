"""Suppression lists: what bounced, complained or unsubscribed gets no more mail.

A final failure for a bad address (RFC 3463 §3.2 X.1.1) puts the address on
the list of the mail's owner; the next message to it from that owner is
refused at RCPT with 550 5.7.1 (RFC 5321 §4.2.2, RFC 3463 X.7.1: delivery not
authorised) or, as configured, taken and dropped, each time with a Suppressed
event. Lists are per tenant, per campaign and global; the CLI and the HTTP API
add, remove, check, import and export them (RFC 4180 CSV).
"""

import http.client
import json
import random

from mx import body, inject, wait_outcomes, wait_until
from test_http_api import call, make_key


def _lab(mx_lab, **script):
    sink = mx_lab.sink("mx1", **script)
    origin = mx_lab.sink("origin")
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    return sink


def _check(s, address, *flags):
    return json.loads(s.cli("suppression", "check", address, *flags, "--json").stdout)


def _suppressed_events(s):
    return [e for e in s.events() if e["type"] == "Suppressed"]


def test_hard_bounce_suppresses_the_address_for_the_next_message(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab, reject_rcpts={"nobody@dest.example"})
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["nobody@dest.example"], body("sup-1"))
    wait_outcomes(s, lambda evs: any(e["type"] == "Bounce" for e in evs), 15, mid=qid)

    counts = json.loads(s.cli("bounce", "status", "--json").stdout)
    assert counts == {"Bounce": {"bad-mailbox": 1}}, counts
    assert "Bounce            bad-mailbox       1" in s.cli("bounce", "status").stdout
    # Mail without a tenant is the operator's: its entries go on the global list.
    got = _check(s, "Nobody@DEST.example")
    assert got["suppressed"], got
    entry = got["entry"]
    assert (entry["address"], entry["reason"], entry["tenant"], entry["source"],
            entry["expires"], entry["detail"]) == \
        ("nobody@dest.example", "hard-bounce", None, qid, None, "bad-mailbox"), entry

    # The next message: refused at RCPT (not a protocol error), the rest goes.
    with s.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<sender@src.example>", 250)
        r = c.cmd("RCPT TO:<nobody@dest.example>")
        assert (r.code, r.enhanced) == (550, "5.7.1"), r
        assert "suppressed" in r.text and "hard-bounce" in r.text, r
        c.expect("RCPT TO:<somebody@dest.example>", 250)
        c.expect("DATA", 354)
        c.send(body("sup-2") + ".\r\n")
        assert c.reply().code == 250
    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["somebody@dest.example"]
    [ev] = _suppressed_events(s)
    assert (ev["recipient"], ev["refused"], ev["id"], ev["suppression"]) == \
        ("nobody@dest.example", True, None,
         {"address": "nobody@dest.example", "scope": "global", "reason": "hard-bounce"}), ev


def test_full_mailbox_suppresses_for_a_while_only(mx_lab, delivering_sluiced):
    _lab(mx_lab, reject_rcpts={"full@dest.example"},
         reject_reply="552 5.2.2 <{addr}>: mailbox full")
    s = delivering_sluiced(config={"suppression": {"soft_expiry": "2h"}})

    qid = inject(s, "sender@src.example", ["full@dest.example"], body("sup-soft"))
    [ev] = wait_outcomes(s, lambda evs: evs, 15, mid=qid)
    assert (ev["type"], ev["bounce"]["class"], ev["bounce"]["hard"]) == ("Bounce", "quota", False)
    entry = _check(s, "full@dest.example")["entry"]
    assert entry["reason"] == "soft-bounce" and entry["expires"] is not None, entry
    assert entry["expires"][:13] > entry["created"][:13], entry  # two hours on


def test_lists_belong_to_their_tenant_and_campaign(sluiced_factory):
    s = sluiced_factory(config={"tenant": {"acme": {}, "other": {}}})
    acme = make_key(s, "acme")["key"]
    other = make_key(s, "other")["key"]
    admin = make_key(s)["key"]

    st, b, _ = call(s, "POST", "/api/v1/suppressions",
                    {"entries": [{"address": "gone@dest.example", "reason": "unsubscribe"}]},
                    key=acme)
    assert (st, b) == (201, {"added": 1}), b
    st, b, _ = call(s, "POST", "/api/v1/suppressions?tenant=acme&campaign=spring",
                    {"entries": [{"address": "spring@dest.example"}]}, key=admin)
    assert st == 201, b

    def send(key, rcpts, **extra):
        return call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": rcpts, "subject": "Hi",
                     "text": "Hello", **extra}, key=key)

    # acme's list keeps acme's mail from the address, and says so per recipient.
    st, b, _ = send(acme, ["gone@dest.example", "here@dest.example"])
    assert st == 202, b
    assert [m["recipients"] for m in b["messages"]] == [["here@dest.example"]], b
    [rej] = b["rejected"]
    assert rej["recipient"] == "gone@dest.example", rej
    assert rej["message"].startswith("550 5.7.1 "), rej
    # ... and not another tenant's.
    st, b, _ = send(other, ["gone@dest.example"])
    assert st == 202 and not b["rejected"], b
    # A campaign's list: that campaign only.
    st, b, _ = send(acme, ["spring@dest.example"], campaign="spring")
    assert st == 400 and b["rejected"][0]["recipient"] == "spring@dest.example", b
    st, b, _ = send(acme, ["spring@dest.example"], campaign="summer")
    assert st == 202, b

    # A tenant's key reaches its own lists only.
    st, b, _ = call(s, "GET", "/api/v1/suppressions/gone@dest.example?tenant=other", key=acme)
    assert st == 403, b
    st, b, _ = call(s, "GET", "/api/v1/suppressions/gone%40dest.example", key=acme)
    assert st == 200 and b["reason"] == "unsubscribe" and b["tenant"] == "acme", b
    st, b, _ = call(s, "GET", "/api/v1/suppressions/gone@dest.example", key=other)
    assert st == 404, b
    st, b, _ = call(s, "DELETE", "/api/v1/suppressions/gone@dest.example", key=other)
    assert st == 404, b
    st, b, _ = call(s, "DELETE", "/api/v1/suppressions/gone@dest.example", key=acme)
    assert st == 200, b
    st, b, _ = send(acme, ["gone@dest.example"])
    assert st == 202 and not b["rejected"], b

    # Bad input: a clear 400 naming the entry, nothing added.
    st, b, _ = call(s, "POST", "/api/v1/suppressions",
                    {"entries": [{"address": "ok@dest.example"}, {"address": "not an address"}]},
                    key=admin)
    assert st == 400 and "entries[1]" in b["error"]["message"], b
    assert not _check(s, "ok@dest.example")["suppressed"]
    suppressed = _suppressed_events(s)
    assert {(e["recipient"], e["tenant"], e["campaign"], e["refused"]) for e in suppressed} == {
        ("gone@dest.example", "acme", None, True),
        ("spring@dest.example", "acme", "spring", True)}, suppressed


def test_drop_mode_takes_the_message_and_drops_the_recipient(sluiced_factory):
    s = sluiced_factory(config={"suppression": {"refuse": False}})
    s.cli("suppression", "add", "@blocked.example", "--detail", "dead-domain")
    with s.connect() as c:
        c.ehlo()
        r = c.send_message("sender@src.example", ["a@blocked.example", "b@dest.example"],
                           body("sup-drop"))
        assert r.code == 250, r
        qid = r.queued_id()
    [(mid, _, _, _, rcpts)] = s.spool_ls()
    assert (mid, rcpts) == (qid, ["b@dest.example"])
    [ev] = _suppressed_events(s)
    assert (ev["id"], ev["recipient"], ev["refused"], ev["suppression"]["address"]) == \
        (qid, "a@blocked.example", False, "@blocked.example"), ev
    reception = [e for e in s.events() if e["type"] == "Reception"]
    assert reception[0]["recipients"] == ["b@dest.example"], reception
    # The message's own Message-ID, as on its other records.
    assert ev["message_id"] == reception[0]["message_id"] == "<sup-drop@sluice.test>", ev


def test_cli_add_check_remove_and_errors(sluiced):
    s = sluiced
    out = s.cli("suppression", "add", "X@Dest.Example", "--tenant", "acme", "--reason",
                "complaint", "--expires", "30d").stdout
    assert out == "added x@dest.example\n"
    out = s.cli("suppression", "check", "x@dest.example", "--tenant", "acme").stdout
    assert "suppressed by x@dest.example on the tenant acme list (complaint" in out, out
    assert "until" in out, out
    assert s.cli("suppression", "check", "x@dest.example").stdout == \
        "x@dest.example: not suppressed\n"
    p = s.cli("suppression", "add", "nonsense", check=False)
    assert p.returncode != 0 and "not an address" in p.stderr, p.stderr
    p = s.cli("suppression", "add", "a@b.example", "--reason", "spam", check=False)
    assert p.returncode != 0 and "--reason" in p.stderr, p.stderr
    p = s.cli("suppression", "add", "a@b.example", "-tenant", "acme", check=False)
    assert p.returncode != 0 and "unknown option -tenant" in p.stderr, p.stderr
    p = s.cli("suppression", "add", "a@b.example", "--campaign", "c", check=False)
    assert p.returncode != 0 and "--tenant" in p.stderr, p.stderr
    assert s.cli("suppression", "remove", "x@dest.example", "--tenant", "acme").stdout == \
        "removed x@dest.example\n"
    p = s.cli("suppression", "remove", "x@dest.example", "--tenant", "acme", check=False)
    assert p.returncode != 0 and "no entry" in p.stderr


def test_import_export_round_trip_of_100000_entries(sluiced, tmp_path):
    s = sluiced
    rng = random.Random(16)
    scopes = [("", ""), ("acme", ""), ("acme", "spring"), ("shop", "")]
    reasons = ["hard-bounce", "complaint", "unsubscribe", "manual"]
    rows = {}
    while len(rows) < 100_000:
        tenant, campaign = rng.choice(scopes)
        addr = f"user{rng.randrange(10**9)}@d{rng.randrange(500)}.example"
        rows[(tenant, campaign, addr)] = rng.choice(reasons)
    src = tmp_path / "in.csv"
    with src.open("w") as f:
        f.write("address,reason,tenant,campaign\n")
        for (tenant, campaign, addr), reason in rows.items():
            f.write(f"{addr},{reason},{tenant},{campaign}\n")
        f.write("not-an-address,manual,,\n")  # reported, the rest goes in
    p = s.cli("suppression", "import", str(src), check=False)
    assert p.returncode == 1, p
    assert p.stdout == "imported 100000 entries, 1 lines refused\n", p.stdout
    assert "line 100002: not an address" in p.stderr, p.stderr

    out = s.cli("suppression", "export", "--all").stdout.splitlines()
    assert out[0] == "address,reason,tenant,campaign,created,expires,source,detail"
    assert out[-1] == "# 100000 entries"
    got = {}
    for line in out[1:-1]:
        addr, reason, tenant, campaign, created, expires, source, detail = line.split(",")
        got[(tenant, campaign, addr)] = reason
        assert created and not expires and source == "import", line
    assert got == rows

    # One tenant's list over HTTP, in pages that follow Link: rel="next".
    key = make_key(s, "acme")["key"]
    want = sorted(a for (t, c, a) in rows if (t, c) == ("acme", ""))
    seen = []
    path = "/api/v1/suppressions/export?limit=7000"
    pages = 0
    while path and pages < 20:
        pages += 1
        c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=30)
        c.request("GET", path, headers={"Authorization": "Bearer " + key})
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        assert r.status == 200, text
        assert r.getheader("Content-Type").startswith("text/csv")
        lines = text.splitlines()
        assert lines[0].startswith("address,")
        seen += [line.split(",")[0] for line in lines[1:]]
        link = r.getheader("Link")
        path = link[1:link.index(">")] if link else None
    assert seen == want

    # The re-import of an export changes nothing.
    again = tmp_path / "again.csv"
    again.write_text("\n".join(out) + "\n")
    p = s.cli("suppression", "import", str(again))
    assert p.stdout == "imported 100000 entries, 0 lines refused\n"
