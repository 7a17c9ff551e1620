"""DMARC aggregate reports (RFC 7489 §7.2) mailed to the rua address on a
feedback domain ([dmarc] addresses): realistic reports from several
reporters (zip, gzip, plain XML, base64-encoded attachments) are stored once
each, and GET /api/v1/dmarc and the metrics give the figures they state,
with mail from addresses that are not Sluice's own standing out. Hostile
attachments (billion laughs, external entity, a decompression bomb, a report
for someone else's domain) store nothing and lose nothing: the message is
kept for a person, the session goes on.
"""

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from mx import wait_until
from test_http_api import call, make_key

DATA = Path(__file__).resolve().parents[1] / "data" / "dmarc"
RUA = "dmarc-reports@fb.shop.example"
OWN = "127.0.0.71"


def report_mail(reporter, attachments):
    m = EmailMessage()
    m["From"] = f"noreply-dmarc@{reporter}"
    m["To"] = RUA
    m["Subject"] = f"Report Domain: shop.example Submitter: {reporter}"
    m.set_content("This is a DMARC aggregate report.")
    for name, data in attachments:
        maintype, subtype = {"zip": ("application", "zip"), "gz": ("application", "gzip"),
                             "xml": ("text", "xml")}[name.rsplit(".", 1)[1]]
        if maintype == "text":
            m.add_attachment(data.decode(), subtype=subtype, filename=name)
        else:
            m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m


def send(s, msg):
    with smtplib.SMTP("127.0.0.1", s.port("relay"), timeout=30) as c:
        refused = c.send_message(msg, from_addr="", to_addrs=[RUA])
        assert refused == {}


def start(sluiced_factory, tmp_path):
    return sluiced_factory(config={
        # The domain reports are taken for (a watched domain), and our address.
        "health": {"enabled": False, "domains": ["shop.example"]},
        "egress": {"source": [{"name": "a", "address": OWN, "ehlo_name": "a.shop.example"}]},
        # (The reports' periods are fixed dates: kept for as long as may be.)
        "dmarc": {"addresses": [RUA], "path": str(tmp_path / "dmarc"), "retention": "3660d"},
    })


def metric(s, **labels):
    with urllib.request.urlopen(f"http://127.0.0.1:{s.ports['api']}/metrics", timeout=10) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith("sluice_dmarc_messages_total{") and \
                all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_reports_from_several_reporters_give_their_figures(sluiced_factory, tmp_path):
    s = start(sluiced_factory, tmp_path)
    send(s, report_mail("google.com", [
        ("google.com!shop.example!1796515200!1796601599.zip", (DATA / "google.zip").read_bytes())]))
    send(s, report_mail("outlook.com", [
        ("enterprise.protection.outlook.com!shop.example!1796515200!1796601600.xml.gz",
         (DATA / "outlook.xml.gz").read_bytes())]))
    send(s, report_mail("yahoo.com", [
        ("yahoo.com!shop.example!1796515200!1796601599.xml", (DATA / "yahoo.xml").read_bytes())]))
    # The same report again (reporters resend): counted once.
    send(s, report_mail("google.com", [
        ("google.com!shop.example!1796515200!1796601599.zip", (DATA / "google.zip").read_bytes())]))

    key = make_key(s)["key"]
    q = "/api/v1/dmarc?from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z"
    st, body, _ = call(s, "GET", q, key=key)
    assert st == 200, body
    assert body["reports"] == 3, body
    [d] = body["domains"]
    assert d["domain"] == "shop.example"
    assert (d["messages"], d["pass"], d["fail"]) == (1618, 1598, 20), d
    assert d["own"] == {"messages": 1595, "pass": 1592, "fail": 3, "dkim_aligned": 1592,
                        "spf_aligned": 1592, "pass_rate": 1592 / 1595}, d["own"]
    assert abs(d["pass_rate"] - 1598 / 1618) < 1e-12
    assert d["other"]["fail"] == 17 and d["other"]["messages"] == 23
    sources = {x["ip"]: x for x in d["sources"]}
    assert sources[OWN]["own"] is True and sources[OWN]["messages"] == 1595
    assert sources["203.0.113.45"]["own"] is False and sources["203.0.113.45"]["fail"] == 17
    assert sources["2001:db8:4:7::1b"]["pass"] == 6  # forwarded, DKIM still aligned
    assert {r["org"]: r["messages"] for r in d["reporters"]} == \
        {"google.com": 1221, "Outlook.com": 394, "Yahoo": 3}
    assert d["dispositions"] == {"none": 1598, "reject": 20}
    # Mail from our own address failing DMARC is what the alert watches.
    assert metric(s, domain="shop.example", source="own", result="fail") == 3
    assert metric(s, domain="shop.example", source="other", result="fail") == 17
    assert metric(s, domain="shop.example", source="own", result="pass") == 1592
    status = json.loads(s.cli("feedback", "status", "--json").stdout)
    assert status["dmarc_reports"] == 4 and status["unparsed"] == 0, status
    # A tenant's key may not read them; bad questions are 400s.
    tenant = make_key(s, "acme")["key"]
    assert call(s, "GET", "/api/v1/dmarc", key=tenant)[0] == 403
    assert call(s, "GET", "/api/v1/dmarc?from=yesterday", key=key)[0] == 400
    assert call(s, "GET", "/api/v1/dmarc?domain=-x-", key=key)[0] == 400
    # Stored on disk: a restart keeps them.
    s.stop()
    s.restart()
    st, body, _ = call(s, "GET", q, key=key)
    assert body["reports"] == 3


def test_hostile_reports_store_nothing_and_lose_nothing(sluiced_factory, tmp_path):
    s = start(sluiced_factory, tmp_path)
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">' for i in range(1, 10)
    ) + "]><feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>"
    xxe = ('<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           "<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>")
    foreign = (DATA / "yahoo.xml").read_text().replace("<domain>shop.example</domain>",
                                                       "<domain>victim.example</domain>")
    hostile = [("laughs.xml", laughs.encode()), ("xxe.xml", xxe.encode()),
               ("bomb.xml.gz", (DATA / "bomb.xml.gz").read_bytes()),
               ("bomb.zip", (DATA / "bomb.zip").read_bytes()),
               ("foreign.xml", foreign.encode())]
    for name, data in hostile:
        send(s, report_mail("attacker.example", [(name, data)]))
    kept = s.tmp / "var" / "feedback-unparsed" / "new"
    wait_until(lambda: kept.exists() and len(os.listdir(kept)) == len(hostile), 15,
               what="each hostile message kept")
    key = make_key(s)["key"]
    st, body, _ = call(s, "GET", "/api/v1/dmarc?from=2000-01-01", key=key)
    assert st == 200 and body["reports"] == 0, body
    # And the next good report is taken as usual.
    send(s, report_mail("yahoo.com", [("y.xml", (DATA / "yahoo.xml").read_bytes())]))
    st, body, _ = call(s, "GET", "/api/v1/dmarc?from=2000-01-01", key=key)
    assert body["reports"] == 1
    assert s.running()
