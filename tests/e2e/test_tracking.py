"""Open and click tracking.

Mail of a campaign that enables it, and API mail that asks, leaves with an
open pixel in its HTML part and its http(s) links sent through the tracking
host, each with a signed token (message, recipient, link), so a hit needs no
lookup to be trusted; the DKIM signature covers the rewritten part. A click
is a 302 to the original link and a Click event; the pixel a GIF and an Open
event. A changed token gets 400 and no redirect (no open redirector).
Machine traffic is flagged, not dropped: HEAD requests, known scanners and
scripts by User-Agent, hits within seconds of sending.
"""

import email
import email.policy
import http.client
import re

import dkim
import pytest

from mx import wait_until
from test_dkim_signing import dkimpy_dns, keygen
from test_http_api import call, make_key

BASE = "https://track.src.example"
UNSUB = "https://unsub.src.example/u/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HTML = ("<html><body><p>Hello</p>"
        "<a href=\"https://shop.example/sale?a=1&amp;b=2\">Sale</a> "
        "<a href='http://news.example/'>News</a> "
        "<a href=\"mailto:help@src.example\">Help</a></body></html>")


def start(mx_lab, delivering_sluiced, tmp_path, too_soon):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    keys = tmp_path / "keys"
    keys.mkdir()
    pem, record = keygen(keys, "src.example", "e1", "ed25519")
    mx_lab.dns.txt("e1._domainkey.src.example", record)
    s = delivering_sluiced(config={
        "tracking": {"base_url": BASE + "/", "too_soon": too_soon},
        "unsubscribe": {"url": UNSUB},
        "tenant": {"acme": {"campaign": {"spring": {"track_opens": True,
                                                    "track_clicks": True}}}},
        "dkim": {"domain": [{"domain": "src.example",
                             "key": [{"selector": "e1", "key_file": str(pem)}]}]},
    })
    return s, sink


@pytest.fixture
def lab(mx_lab, delivering_sluiced, tmp_path):
    return start(mx_lab, delivering_sluiced, tmp_path, "0s")


def send(s, key, rcpt, **extra):
    st, b, _ = call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": [rcpt], "subject": "Hi",
                     "text": "Hello", "html": HTML, **extra}, key=key)
    assert st == 202, b


def html_of(content):
    msg = email.message_from_bytes(content, policy=email.policy.default)
    return msg.get_body(preferencelist=("html",)).get_content()


def hit(s, path, method="GET", agent=BROWSER):
    c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
    c.request(method, path, headers={"User-Agent": agent} if agent else {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Location"), r.getheader("Content-Type"), body


def engagement(s, kind, n):
    wait_until(lambda: len([e for e in s.events() if e["type"] == kind]) >= n, 10,
               what=f"{n} {kind} events")
    return [e for e in s.events() if e["type"] == kind]


def test_clicks_and_opens_are_tracked(lab, mx_lab):
    s, sink = lab
    key = make_key(s, "acme")["key"]
    send(s, key, "ann@dest.example", campaign="spring")
    [msg] = sink.wait_messages(1, timeout=20)
    # The signature covers the part as rewritten.
    assert dkim.verify(msg.content, dnsfunc=dkimpy_dns(mx_lab)), msg.content[:3000]
    html = html_of(msg.content)
    links = re.findall(r'href="([^"]+)"', html)
    assert len(links) == 3, html
    assert links[0].startswith(BASE + "/t/c/") and links[1].startswith(BASE + "/t/c/"), links
    assert links[2] == "mailto:help@src.example"
    [pixel] = re.findall(r'<img src="([^"]+)"', html)
    assert pixel.startswith(BASE + "/t/o/"), html
    # The text part is not touched.
    text = email.message_from_bytes(msg.content, policy=email.policy.default).get_body(
        preferencelist=("plain",)).get_content()
    assert "track.src.example" not in text

    status, location, _, _ = hit(s, links[0][len(BASE):])
    assert (status, location) == (302, "https://shop.example/sale?a=1&b=2")
    status, location, _, _ = hit(s, links[1][len(BASE):])
    assert (status, location) == (302, "http://news.example/")
    status, _, ctype, body = hit(s, pixel[len(BASE):])
    assert (status, ctype) == (200, "image/gif") and body.startswith(b"GIF89a")

    clicks = engagement(s, "Click", 2)
    assert [c["url"] for c in clicks] == ["https://shop.example/sale?a=1&b=2",
                                          "http://news.example/"]
    for c in clicks:
        assert c["recipient"] == "ann@dest.example"
        assert (c["tenant"], c["campaign"]) == ("acme", "spring")
        assert c["machine"] is False and c["user_agent"] == BROWSER, c
        assert c["client_ip"] == "127.0.0.1"
    [o] = engagement(s, "Open", 1)
    assert o["recipient"] == "ann@dest.example" and o["machine"] is False, o
    # The message's timeline has them.
    st, view, _ = call(s, "GET", f"/api/v1/messages/{o['id']}", key=key)
    assert st == 200 and {"Open", "Click"} <= {e["type"] for e in view["events"]}, view

    # A changed token: 400, no redirect, no event.
    token = links[0][len(BASE + "/t/c/"):]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    status, location, _, _ = hit(s, "/t/c/" + forged)
    assert status == 400 and location is None
    status, location, _, _ = hit(s, "/t/c/" + pixel[len(BASE + "/t/o/"):])  # open as click
    assert status == 400 and location is None
    assert len(engagement(s, "Click", 2)) == 2

    # Machine traffic: flagged, still counted.
    assert hit(s, links[0][len(BASE):], method="HEAD")[0] == 302
    assert hit(s, links[0][len(BASE):], agent="curl/7.88.1")[0] == 302
    assert hit(s, pixel[len(BASE):], agent="Mozilla/5.0 (via ggpht.com GoogleImageProxy)")[0] == 200
    clicks = engagement(s, "Click", 4)
    assert [c["machine_reason"] for c in clicks[2:]] == ["head-request", "script"], clicks
    opens = engagement(s, "Open", 2)
    assert opens[1]["machine"] is True and opens[1]["machine_reason"] == "image-proxy"

    # The statistics: every hit, machine ones apart, the first per recipient unique.
    metrics = ("opens", "machine_opens", "unique_opens", "unique_human_opens", "clicks",
               "machine_clicks", "unique_clicks", "unique_human_clicks")
    st, answer, _ = call(s, "GET", "/api/v1/stats?group_by=campaign&metrics=" + ",".join(metrics),
                         key=key)
    assert st == 200, answer
    [series] = answer["series"]
    assert series["group"] == {"campaign": "spring"}
    assert series["totals"] == dict(zip(metrics, (2, 1, 1, 1, 4, 2, 1, 1))), series["totals"]


def test_api_asks_and_plain_mail_is_left(lab):
    s, sink = lab
    key = make_key(s, "acme")["key"]
    # No campaign setting: the request asks for clicks only.
    send(s, key, "bob@dest.example", tracking={"clicks": True})
    # Neither asked nor configured: untouched.
    send(s, key, "cy@dest.example")
    msgs = sink.wait_messages(2, timeout=20)
    by_rcpt = {m.rcpt_tos[0]: html_of(m.content) for m in msgs}
    assert BASE + "/t/c/" in by_rcpt["bob@dest.example"]
    assert "<img" not in by_rcpt["bob@dest.example"]
    assert by_rcpt["cy@dest.example"].count("track.src.example") == 0
    assert 'href="https://shop.example/sale?a=1&amp;b=2"' in by_rcpt["cy@dest.example"]
    st, b, _ = call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": ["d@dest.example"],
                     "subject": "x", "html": HTML, "tracking": {"opens": "yes"}}, key=key)
    assert st == 400 and "tracking" in b["error"]["message"], b


def test_hits_soon_after_sending_are_flagged(mx_lab, delivering_sluiced, tmp_path):
    s, sink = start(mx_lab, delivering_sluiced, tmp_path, "1h")
    key = make_key(s, "acme")["key"]
    send(s, key, "ann@dest.example", campaign="spring")
    [msg] = sink.wait_messages(1, timeout=20)
    [link] = re.findall(r'href="(https://track[^"]+)"', html_of(msg.content))[:1]
    assert hit(s, link[len(BASE):])[0] == 302
    [c] = engagement(s, "Click", 1)
    assert (c["machine"], c["machine_reason"]) == (True, "too-soon"), c
