"""The HTTP API: keys, injection through the same funnel as SMTP, the
operator's commands, and a server that stays up under bad requests.

RFC 6750 §2.1 and §3 (Bearer credentials; 401 with WWW-Authenticate), RFC 9110
§15 (status codes; 100-continue §10.1.1), RFC 9112 §9.3 (persistent
connections), RFC 5322 §2.3 (lines end in CRLF).
"""

import base64
import email
import email.policy
import http.client
import json
import signal
import socket
import subprocess
import time

from mx import wait_until

RAW = ("From: News <news@src.example>\n"
       "To: a@dest.example\n"
       "Subject: over HTTP\n"
       "Message-ID: <http-1@src.example>\n"
       "\n"
       "Line one.\n"
       ".A line starting with a dot.\n")


def call(s, method, path, body=None, key=None, headers=None, conn=None):
    """(status, JSON body or None, response) of one request."""
    c = conn or http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = json.dumps(body) if isinstance(body, (dict, list)) else body
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    if conn is None:
        c.close()
    return r.status, (json.loads(raw) if raw else None), r


def make_key(s, tenant=None):
    args = ["key", "create", "--json"] + ([tenant] if tenant else [])
    return json.loads(s.cli(*args).stdout)


def inject(s, key, recipients, content=RAW, **extra):
    return call(s, "POST", "/api/v1/messages",
                {"from": "news@src.example", "recipients": recipients, "content": content, **extra},
                key=key)


def test_health_is_open_and_everything_else_needs_a_key(sluiced):
    assert call(sluiced, "GET", "/healthz")[:2] == (200, {"status": "ok"})
    assert call(sluiced, "GET", "/readyz")[:2] == (200, {"ready": True})
    for key in (None, "sk_" + "0" * 64):
        status, body, r = call(sluiced, "GET", "/api/v1/queues", key=key)
        assert status == 401, body
        assert r.getheader("WWW-Authenticate", "").startswith("Bearer")  # RFC 6750 §3
        assert body["error"]["code"] == "unauthorized"
    assert call(sluiced, "GET", "/nowhere")[0] == 404


def test_keys_are_shown_once_and_stored_hashed(sluiced):
    made = make_key(sluiced, "acme")
    assert made["tenant"] == "acme" and made["key"].startswith("sk_")
    assert len(made["key"]) - 3 >= 32  # >= 128 bits of hex
    stored = (sluiced.tmp / "api-keys").read_text()
    assert made["id"] in stored and made["key"] not in stored and made["key"][3:] not in stored
    listed = json.loads(sluiced.cli("key", "list", "--json").stdout)["keys"]
    assert [k["id"] for k in listed] == [made["id"]]
    assert "key" not in listed[0]
    # The key works until it is revoked, then not at all.
    assert inject(sluiced, made["key"], ["a@dest.example"])[0] == 202
    sluiced.cli("key", "revoke", made["id"])
    assert inject(sluiced, made["key"], ["a@dest.example"])[0] == 401


def test_operator_keys_manage_keys_over_http(sluiced):
    op = make_key(sluiced)["key"]
    status, made, _ = call(sluiced, "POST", "/api/v1/keys", {"tenant": "beta"}, key=op)
    assert status == 201 and made["tenant"] == "beta"
    status, listed, _ = call(sluiced, "GET", "/api/v1/keys", key=op)
    assert status == 200 and made["id"] in [k["id"] for k in listed["keys"]]
    # A tenant key may not manage keys, nor run the operator's commands.
    for method, path in (("GET", "/api/v1/keys"), ("GET", "/api/v1/queues"),
                         ("POST", "/api/v1/queues/flush")):
        assert call(sluiced, method, path, key=made["key"])[0] == 403
    assert call(sluiced, "DELETE", "/api/v1/keys/" + made["id"], key=op)[0] == 200
    assert call(sluiced, "DELETE", "/api/v1/keys/" + made["id"], key=op)[0] == 404
    assert inject(sluiced, made["key"], ["a@dest.example"])[0] == 401


def test_injected_mail_is_delivered_like_smtp_mail(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()
    key = make_key(s, "acme")["key"]

    status, body, _ = inject(s, key, ["a@dest.example", "not an address", {"email": "b@dest.example"}],
                             campaign="spring")
    assert status == 202, body
    [m] = body["messages"]
    assert m["recipients"] == ["a@dest.example", "b@dest.example"]
    assert [r["recipient"] for r in body["rejected"]] == ["not an address"]

    msgs = sink.wait_messages(1, timeout=20)  # one message, one transaction, two RCPTs
    assert sorted(msgs[0].rcpt_tos) == ["a@dest.example", "b@dest.example"]
    content = msgs[0].content.decode()
    # Our trace field, with the API as the protocol and the spool id.
    assert content.startswith("Received: ") and " with HTTP id " + m["id"] in content, content[:300]
    parsed = email.message_from_bytes(msgs[0].content, policy=email.policy.default)
    assert parsed["Subject"] == "over HTTP"
    assert parsed["Message-ID"] == "<http-1@src.example>"
    assert parsed["Date"]  # completed, as on submission (RFC 6409 §8.3)
    # LF line ends became CRLF; the dot line survived stuffing.
    assert content.endswith("\r\n\r\nLine one.\r\n.A line starting with a dot.\r\n"), content
    [rec] = [e for e in s.events() if e["type"] == "Reception"]
    assert rec["id"] == m["id"]
    assert rec["protocol"] == "HTTP" and rec["listener"] == "api"
    assert rec["tenant"] == "acme" and rec["campaign"] == "spring"


def test_a_tenant_key_sends_as_its_own_tenant_only(sluiced):
    key = make_key(sluiced, "acme")["key"]
    status, body, _ = inject(sluiced, key, ["a@dest.example"], tenant="other")
    assert status == 403, body
    op = make_key(sluiced)["key"]
    status, body, _ = inject(sluiced, op, ["a@dest.example"], tenant="other")
    assert status == 202, body
    recs = [e for e in sluiced.events() if e["type"] == "Reception"]
    assert [r["tenant"] for r in recs] == ["other"]


def test_bad_requests_are_refused_with_a_reason(sluiced):
    key = make_key(sluiced, "acme")["key"]
    cases = [
        ("{not json", 400, "bad_request"),
        (json.dumps([1, 2]), 400, "bad_request"),
        (json.dumps({"from": "a@src.example", "recipients": ["b@d.example"], "content": RAW,
                     "subjcet": "typo"}), 400, "bad_request"),
        (json.dumps({"recipients": ["b@d.example"], "content": RAW}), 400, "bad_request"),
        (json.dumps({"from": "a@src.example", "recipients": [], "content": RAW}), 400,
         "bad_request"),
        (json.dumps({"from": "a@src.example", "recipients": ["x@d.example"] * 1001,
                     "content": RAW}), 400, "too_many_recipients"),
        (json.dumps({"from": "a@src.example", "recipients": ["nope"], "content": RAW}), 400,
         "no_valid_recipient"),
        (json.dumps({"from": "a@src.example", "recipients": ["b@d.example"],
                     "content": "A\u0000B"}), 400, "bad_request"),
    ]
    for body, status, code in cases:
        got, reply, _ = call(sluiced, "POST", "/api/v1/messages", body, key=key)
        assert (got, reply["error"]["code"]) == (status, code), (body[:80], reply)
    assert "subjcet" in call(sluiced, "POST", "/api/v1/messages", cases[2][0], key=key)[1][
        "error"]["message"]
    assert call(sluiced, "GET", "/api/v1/messages", key=key)[0] == 405
    assert sluiced.spool_count() == 0


def test_limits_close_hostile_requests_and_the_server_keeps_serving(sluiced_factory):
    s = sluiced_factory(config={"http": [{"name": "api", "address": "127.0.0.1", "port": 0,
                                          "max_body_size": "4KiB", "max_header_size": 2048,
                                          "request_timeout": "1s", "idle_timeout": "1s"}]})
    key = make_key(s, "acme")["key"]
    # Too large a body: 413 (decided from Content-Length, before the body).
    status, body, _ = inject(s, key, ["a@dest.example"], content="x" * 8000)
    assert (status, body["error"]["code"]) == (413, "body_too_large")
    # Too large a header: 431.
    status, body, _ = call(s, "GET", "/healthz", headers={"X-Big": "y" * 4000})
    assert status == 431, body

    def raw(data, wait_close=True):
        c = socket.create_connection(("127.0.0.1", s.ports["api"]), timeout=10)
        c.sendall(data)
        got = b""
        while wait_close:
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
        c.close()
        return got

    # Not HTTP at all: 400, then closed.
    assert raw(b"HELO there\r\n\r\n").startswith(b"HTTP/1.1 400")
    # A request that stops half way (slow or truncated): closed after the
    # request timeout, with nothing taken.
    t0 = time.monotonic()
    got = raw(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"fr")
    assert got == b"" and time.monotonic() - t0 < 8
    # An idle connection is closed after the idle timeout.
    t0 = time.monotonic()
    assert raw(b"") == b"" and time.monotonic() - t0 < 8
    # Still serving, and nothing was stored.
    assert call(s, "GET", "/healthz")[0] == 200
    assert inject(s, key, ["a@dest.example"])[0] == 202
    assert s.spool_count() == 1


def test_keep_alive_and_100_continue(sluiced):
    key = make_key(sluiced, "acme")["key"]
    c = http.client.HTTPConnection("127.0.0.1", sluiced.ports["api"], timeout=10)
    for _ in range(3):  # one connection, three requests (RFC 9112 §9.3)
        status, _, r = call(sluiced, "POST", "/api/v1/messages",
                            {"from": "a@src.example", "recipients": ["b@d.example"],
                             "content": RAW}, key=key, conn=c)
        assert status == 202 and not r.will_close
    c.close()
    # curl waits for 100 Continue before sending a body it was told to hold.
    p = subprocess.run(
        ["curl", "-sS", "-v", "-H", "Expect: 100-continue", "-H", "Authorization: Bearer " + key,
         "--data-binary", json.dumps({"from": "a@src.example", "recipients": ["b@d.example"],
                                      "content": RAW + "z" * 5000}),
         f"http://127.0.0.1:{sluiced.ports['api']}/api/v1/messages"],
        capture_output=True, text=True, timeout=30)
    assert "HTTP/1.1 100 Continue" in p.stderr, p.stderr
    assert json.loads(p.stdout)["messages"][0]["id"]
    assert sluiced.spool_count() == 4


def test_operator_commands_over_http(sluiced):
    op = make_key(sluiced)["key"]
    status, body, _ = call(sluiced, "POST", "/api/v1/queues/suspend",
                           {"target": "dest.example", "duration": "1h"}, key=op)
    # Delivery is off in this configuration: the commands say so.
    assert status == 503 and body["error"]["code"] == "unavailable"


def test_queue_commands_twin_the_cli(mx_lab, delivering_sluiced):
    s = delivering_sluiced()
    op = make_key(s)["key"]
    status, body, _ = call(s, "POST", "/api/v1/queues/suspend",
                           {"target": "dest.example", "duration": "1h"}, key=op)
    assert status == 200 and body["suspended"] == "dest.example" and body["for"] == "1h", body
    status, summary, _ = call(s, "GET", "/api/v1/queues", key=op)
    assert status == 200
    assert [h["target"] for h in summary["operator_suspensions"]] == ["dest.example"]
    cli = json.loads(s.cli("queue", "summary", "--json").stdout)
    assert cli["operator_suspensions"] == summary["operator_suspensions"]
    status, body, _ = call(s, "POST", "/api/v1/queues/resume", {"target": "dest.example"}, key=op)
    assert status == 200 and body["resumed"] == "dest.example"
    status, body, _ = call(s, "POST", "/api/v1/queues/suspend", {"target": "not a queue!"},
                           key=op)
    assert status == 400
    status, body, _ = call(s, "POST", "/api/v1/queues/suspend", {"target": "x.example",
                                                                  "for": "1h"}, key=op)
    assert status == 400 and "for" in body["error"]["message"]


def test_kill9_right_after_202_loses_nothing(sluiced):
    key = make_key(sluiced, "acme")["key"]
    ids = []
    for i in range(20):
        status, body, _ = inject(sluiced, key, [f"r{i}@dest.example"])
        assert status == 202, body
        ids.append(body["messages"][0]["id"])
    sluiced.stop(sig=signal.SIGKILL)
    sluiced.restart()
    listed = sluiced.cli("spool", "ls").stdout
    assert all(i in listed for i in ids), listed
    assert sluiced.spool_count() == 20
    wait_until(lambda: call(sluiced, "GET", "/readyz")[0] == 200, 10, what="ready again")


def test_parts_become_one_mime_message_per_recipient(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()
    key = make_key(s, "acme")["key"]
    pdf = b"%PDF-1.4\n\x00\xff binary \r\n.\r\n"
    status, body, _ = call(s, "POST", "/api/v1/messages", {
        "from": {"email": "news@src.example", "name": "Caf\u00e9 News"},
        "reply_to": "help@src.example",
        "subject": "Hello {{first}} \u2014 {{shop}}",
        "text": "Dear {{first}},\nyour code is {{code}}.\n.\nBye",
        "html": "<p>Dear {{first}}, {{code}}</p>",
        "headers": {"X-Mailer-Id": "42"},
        "attachments": [{"filename": "r\u00e9sum\u00e9.pdf", "content_type": "application/pdf",
                         "content": base64.b64encode(pdf).decode()}],
        "substitutions": {"shop": "The Shop", "first": "friend"},
        "recipients": [
            {"email": "a@dest.example", "name": "Ann", "substitutions": {"first": "Ann", "code": "A1"}},
            {"email": "b@dest.example", "substitutions": {"code": "<B2>"}},
        ],
    }, key=key)
    assert status == 202, body
    assert [m["recipients"] for m in body["messages"]] == [["a@dest.example"], ["b@dest.example"]]
    ids = [m["id"] for m in body["messages"]]
    assert len(set(ids)) == 2

    msgs = sink.wait_messages(2, timeout=20)
    by_rcpt = {m.rcpt_tos[0]: email.message_from_bytes(m.content, policy=email.policy.default)
               for m in msgs}
    ann, other = by_rcpt["a@dest.example"], by_rcpt["b@dest.example"]
    assert ann["Subject"] == "Hello Ann \u2014 The Shop"
    assert other["Subject"] == "Hello friend \u2014 The Shop"
    assert str(ann["From"]) == "Caf\u00e9 News <news@src.example>"
    assert str(ann["To"]) == "Ann <a@dest.example>"
    assert str(ann["Reply-To"]) == "help@src.example"
    assert ann["X-Mailer-Id"] == "42"
    assert ann["Message-ID"] and ann["Date"]
    assert ann.get_content_type() == "multipart/mixed"
    alternative, attachment = ann.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == "Dear Ann,\nyour code is A1.\n.\nBye\n"
    assert html.get_content().replace("\r\n", "\n") == "<p>Dear Ann, A1</p>\n"
    assert attachment.get_filename() == "r\u00e9sum\u00e9.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf
    # HTML values are escaped in {{...}}; text ones are not.
    o_plain, o_html = next(other.iter_parts()).iter_parts()
    assert "your code is <B2>." in o_plain.get_content()
    assert "&lt;B2&gt;" in o_html.get_content()
    recs = {e["id"]: e for e in s.events() if e["type"] == "Reception"}
    assert set(recs) == set(ids) and all(r["tenant"] == "acme" for r in recs.values())


def test_an_idempotent_retry_sends_once(sluiced):
    key = make_key(sluiced, "acme")["key"]
    other = make_key(sluiced, "beta")["key"]
    req = {"from": "a@src.example", "recipients": ["b@d.example"], "content": RAW}
    headers = {"Idempotency-Key": "order-4711"}
    status, first, r1 = call(sluiced, "POST", "/api/v1/messages", req, key=key, headers=headers)
    assert status == 202, first
    status, again, r2 = call(sluiced, "POST", "/api/v1/messages", req, key=key, headers=headers)
    assert (status, again) == (202, first)
    assert r2.getheader("Idempotent-Replayed") == "true"
    assert sluiced.spool_count() == 1  # sent once
    # The same key with another body is a mistake, not a retry.
    changed = dict(req, recipients=["c@d.example"])
    status, body, _ = call(sluiced, "POST", "/api/v1/messages", changed, key=key, headers=headers)
    assert (status, body["error"]["code"]) == (422, "idempotency_key_reused")
    # Keys are per API key: another tenant's same key is its own request.
    assert call(sluiced, "POST", "/api/v1/messages", req, key=other, headers=headers)[0] == 202
    assert sluiced.spool_count() == 2
    # Kept over a crash: the retry after kill -9 and restart still sends nothing.
    sluiced.stop(sig=signal.SIGKILL)
    sluiced.restart()
    status, after, r3 = call(sluiced, "POST", "/api/v1/messages", req, key=key, headers=headers)
    assert (status, after) == (202, first)
    assert r3.getheader("Idempotent-Replayed") == "true"
    assert sluiced.spool_count() == 2


def test_a_tenant_key_sends_from_its_tenants_domains_only(sluiced_factory):
    s = sluiced_factory(config={"tenant": {"acme": {"domains": ["src.example"]}}})
    key = make_key(s, "acme")["key"]
    assert inject(s, key, ["a@dest.example"])[0] == 202  # RAW is from news@src.example
    status, body, _ = call(s, "POST", "/api/v1/messages",
                           {"from": "news@elsewhere.example", "recipients": ["a@dest.example"],
                            "content": RAW}, key=key)
    assert (status, body["error"]["code"]) == (403, "forbidden"), body
    status, body, _ = call(s, "POST", "/api/v1/messages",
                           {"from": "news@src.example", "recipients": ["a@dest.example"],
                            "text": "hi", "subject": "s"}, key=key)
    assert status == 202, body
    status, body, _ = call(s, "POST", "/api/v1/messages",
                           {"from": {"email": "n@other.example"}, "recipients": ["a@dest.example"],
                            "text": "hi"}, key=key)
    assert status == 403, body
    assert s.spool_count() == 2


def test_quotas_refuse_with_429_and_452_then_recover(sluiced_factory):
    """[tenant.NAME] intake_rate with a burst: past it, HTTP 429 with
    Retry-After (RFC 6585 §4) and SMTP 452 4.7.1, one QuotaExceeded event,
    and mail is taken again once the rate allows."""
    s = sluiced_factory(
        config={"tenant": {"acme": {"users": ["alice"], "intake_rate": "12/min", "intake_burst": 2}}},
        listener_opts={"submission": {"allow_plaintext_auth": True}},
        users={"alice": "a long password"})
    key = make_key(s, "acme")["key"]
    assert inject(s, key, ["a@dest.example"])[0] == 202
    assert inject(s, key, ["a@dest.example"])[0] == 202
    status, body, r = inject(s, key, ["a@dest.example"])
    assert (status, body["error"]["code"]) == (429, "over_quota"), body
    assert 1 <= int(r.getheader("Retry-After")) <= 5  # one message every 5 s
    # The same tenant over SMTP.
    from smtp_client import connect, plain_response
    with connect(s.port("submission")) as c:
        c.ehlo()
        c.expect("AUTH PLAIN " + plain_response("alice", "a long password"), 235)
        c.expect("MAIL FROM:<news@src.example>", 250)
        c.expect("RCPT TO:<a@dest.example>", 250)
        c.expect("DATA", 354)
        c.send("From: <news@src.example>\r\nSubject: q\r\n\r\nx\r\n.\r\n")
        reply = c.reply()
        assert (reply.code, reply.text[:5]) == (452, "4.7.1"), reply
        c.cmd("QUIT")
    events = [e for e in s.events() if e["type"] == "QuotaExceeded"]
    assert len(events) == 1, events
    assert events[0]["tenant"] == "acme" and events[0]["quota"] == "rate"
    # It recovers by itself.
    wait_until(lambda: inject(s, key, ["a@dest.example"])[0] == 202, 15, interval=0.5,
               what="the rate allows mail again")
    assert s.spool_count() == 3


def test_an_https_listener_serves_the_same_api(sluiced_factory):
    import ssl
    s = sluiced_factory(config={"http": [{"name": "api", "address": "127.0.0.1", "port": 0,
                                          "tls": "self-signed"}]})
    key = make_key(s, "acme")["key"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", s.ports["api"], timeout=10, context=ctx)
    status, body, _ = call(s, "POST", "/api/v1/messages",
                           {"from": "a@src.example", "recipients": ["b@d.example"],
                            "content": RAW}, key=key, conn=c)
    assert status == 202, body
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    c.close()
    [rec] = [e for e in s.events() if e["type"] == "Reception"]
    assert rec["protocol"] == "HTTPS"
    # Plain HTTP on the TLS port gets nowhere.
    raw = socket.create_connection(("127.0.0.1", s.ports["api"]), timeout=10)
    raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not raw.recv(4096).startswith(b"HTTP/1.1 200")
    raw.close()
