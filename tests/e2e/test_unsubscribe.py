"""One-click unsubscribe (RFC 8058) and mailto unsubscribe (RFC 2369).

Mail of a campaign that enables it (and API mail that asks) gets
List-Unsubscribe with a signed HTTPS link and a mailto address on the bounce
domain, and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058 §3.1),
both covered by the DKIM signature (§4). The link unsubscribes on POST only
(§3.2: a GET, as link scanners make, changes nothing), is idempotent, and
refuses forged or changed tokens.
"""

import email
import email.policy
import http.client
import json
import re

import dkim
import pytest

from mx import wait_until
from test_dkim_signing import dkimpy_dns, keygen
from test_http_api import call, make_key

URL = "https://unsub.src.example/u/"


@pytest.fixture
def lab(mx_lab, delivering_sluiced, tmp_path):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    keys = tmp_path / "keys"
    keys.mkdir()
    pem, record = keygen(keys, "src.example", "e1", "ed25519")
    mx_lab.dns.txt("e1._domainkey.src.example", record)
    s = delivering_sluiced(config={
        "bounce": {"domain": "bounces.src.example"},
        "unsubscribe": {"url": URL},
        "relay": {"networks": ["127.0.0.9/32"], "local_domains": ["local.test"]},
        "tenant": {"acme": {"campaign": {"spring": {"unsubscribe": True}}}},
        "dkim": {"domain": [{"domain": "src.example",
                             "key": [{"selector": "e1", "key_file": str(pem)}]}]},
    })
    return s, sink, mx_lab


def _send(s, key, rcpt, **extra):
    st, b, _ = call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": [rcpt], "subject": "Hi",
                     "text": "Hello", **extra}, key=key)
    assert st == 202, b
    return b


def _fields(content):
    msg = email.message_from_bytes(content, policy=email.policy.compat32)
    return msg.get("List-Unsubscribe"), msg.get("List-Unsubscribe-Post")


def _page(s, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, text


def _events(s, kind="Unsubscribe"):
    return [e for e in s.events() if e["type"] == kind]


def test_one_click_post_unsubscribes_and_get_does_not(lab):
    s, sink, mx_lab = lab
    key = make_key(s, "acme")["key"]
    _send(s, key, "ann@dest.example", campaign="spring")
    [msg] = sink.wait_messages(1, timeout=20)
    lu, post = _fields(msg.content)
    assert post == "List-Unsubscribe=One-Click", msg.content[:2000]
    uris = re.findall(r"<([^>]+)>", lu.replace("\r\n", ""))
    assert len(uris) == 2 and uris[0].startswith(URL), lu
    assert re.fullmatch(r"mailto:u-[a-z2-7]{40,44}@bounces\.src\.example\?subject=unsubscribe",
                        uris[1]), lu
    # RFC 8058 §4: the signature covers both fields.
    sig = [line for line in msg.content.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ")
           .replace(b"\r\n\t", b" ").split(b"\r\n") if line.lower().startswith(b"dkim-signature")]
    h = re.search(rb"h=([^;]+)", sig[0]).group(1).replace(b" ", b"").lower().split(b":")
    assert b"list-unsubscribe" in h and b"list-unsubscribe-post" in h, sig
    assert dkim.verify(msg.content, dnsfunc=dkimpy_dns(mx_lab))

    path = "/u/" + uris[0][len(URL):]
    # A GET (a link scanner, a preview) shows a button and changes nothing.
    st, page = _page(s, "GET", path)
    assert st == 200 and 'method="post"' in page and "a***@dest.example" in page, page
    assert not _events(s)
    # The one-click POST (RFC 8058 §3.2).
    st, page = _page(s, "POST", path, "List-Unsubscribe=One-Click")
    assert st == 200 and "no more" in page, page
    wait_until(lambda: _events(s), 10, what="an Unsubscribe event")
    [ev] = _events(s)
    assert (ev["recipient"], ev["tenant"], ev["campaign"], ev["via"]) == \
        ("ann@dest.example", "acme", "spring", "one-click"), ev
    entry = json.loads(s.cli("suppression", "check", "ann@dest.example", "--tenant", "acme",
                             "--campaign", "spring", "--json").stdout)["entry"]
    assert (entry["reason"], entry["tenant"], entry["campaign"]) == \
        ("unsubscribe", "acme", "spring"), entry
    # Idempotent: again, the same answer and no second event.
    st, _ = _page(s, "POST", path, "List-Unsubscribe=One-Click")
    assert st == 200 and len(_events(s)) == 1
    # The campaign's list: that campaign's next mail is refused, another's goes.
    st, b, _ = call(s, "POST", "/api/v1/messages",
                    {"from": "news@src.example", "recipients": ["ann@dest.example"],
                     "subject": "Hi", "text": "x", "campaign": "spring"}, key=key)
    assert st == 400 and b["rejected"][0]["message"].startswith("550 5.7.1"), b
    _send(s, key, "ann@dest.example", campaign="autumn")


def test_forged_or_changed_tokens_are_refused(lab):
    s, sink, _ = lab
    key = make_key(s, "acme")["key"]
    _send(s, key, "bob@dest.example", unsubscribe=True)  # an API message that asks
    [msg] = sink.wait_messages(1, timeout=20)
    lu, _ = _fields(msg.content)
    token = re.search(r"<https://[^>]+/u/([a-z2-7]+)>", lu.replace("\r\n", "")).group(1)
    changed = token[:-3] + ("a" if token[-3] != "a" else "b") + token[-2:]
    for bad in (changed, "l" + "a" * 60, "nothing"):
        for method in ("GET", "POST"):
            st, _ = _page(s, method, "/u/" + bad, "List-Unsubscribe=One-Click")
            assert st == 404, (bad, method)
    assert not _events(s)


def test_mailto_unsubscribe(lab):
    s, sink, _ = lab
    key = make_key(s, "acme")["key"]
    _send(s, key, "cy@dest.example", campaign="spring")
    [msg] = sink.wait_messages(1, timeout=20)
    lu, _ = _fields(msg.content)
    mailto = re.search(r"<mailto:([^?>]+)", lu.replace("\r\n", "")).group(1)
    with s.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<cy@dest.example>", 250)
        c.expect(f"RCPT TO:<{mailto}>", 250)
        c.expect("DATA", 354)
        c.send("From: cy@dest.example\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n.\r\n")
        assert c.reply().code == 250
    wait_until(lambda: _events(s), 10, what="an Unsubscribe event")
    [ev] = _events(s)
    assert (ev["recipient"], ev["tenant"], ev["campaign"], ev["via"]) == \
        ("cy@dest.example", "acme", "spring", "mailto"), ev
    assert json.loads(s.cli("suppression", "check", "cy@dest.example", "--tenant", "acme",
                            "--campaign", "spring", "--json").stdout)["suppressed"]
