"""The OpenAPI description (src/api/openapi.json) against the real server:
served as built in, and every operation it lists answers with a status it
declares and a body its schema accepts, for requests its schemas accept."""

import base64
import http.client
import json
from pathlib import Path

import jsonschema

from test_http_api import RAW, call, make_key

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "src" / "api" / "openapi.json").read_text())


def validator(schema):
    return jsonschema.Draft202012Validator(
        schema, resolver=jsonschema.RefResolver.from_schema(SPEC))


def resolve(node):
    while "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def check(path, method, status, body, request=None, valid=True):
    op = SPEC["paths"][path][method]
    if request is not None and valid:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        validator(schema).validate(request)  # the example is what the spec allows
    assert str(status) in op["responses"], f"{method.upper()} {path}: {status} undeclared: {body}"
    response = resolve(op["responses"][str(status)])
    schema = response["content"]["application/json"]["schema"]
    validator(schema).validate(body)


def test_the_description_is_served_as_built(sluiced):
    status, body, r = call(sluiced, "GET", "/api/v1/openapi.json")
    assert status == 200 and body == SPEC
    assert body["openapi"].startswith("3.")
    jsonschema.Draft202012Validator.check_schema(
        SPEC["components"]["schemas"]["InjectParts"])


def test_every_operation_answers_as_described(mx_lab, delivering_sluiced):
    s = delivering_sluiced(config={"health": {"domains": ["dest.example"]},
                                   "blocklists": {"lists": ["spamhaus-dbl"]},
                                   "dmarc": {"addresses": ["rua@fb.dest.example"]}})
    op = make_key(s)["key"]
    tenant = make_key(s, "acme")["key"]
    walked = set()

    def run(path, method, url=None, request=None, key=op, expect=None, valid=True):
        status, body, _ = call(s, method.upper(), url or path, request, key=key)
        check(path, method, status, body, request, valid)
        if expect is not None:
            assert status == expect, (path, method, status, body)
        walked.add((path, method))
        return body

    run("/healthz", "get", expect=200)
    run("/readyz", "get", expect=200)
    run("/api/v1/openapi.json", "get", key=None, expect=200)
    raw = {"from": "news@src.example", "recipients": ["a@dest.example"], "content": RAW}
    parts = {"from": {"email": "news@src.example", "name": "News"}, "subject": "Hi {{n}}",
             "text": "t", "html": "<p>h</p>", "headers": {"X-Id": "1"},
             "attachments": [{"filename": "a.txt", "content_type": "text/plain",
                              "content": base64.b64encode(b"abc").decode()}],
             "substitutions": {"n": "1"},
             "recipients": [{"email": "b@dest.example", "name": "B", "substitutions": {"n": "2"}}]}
    taken = run("/api/v1/messages", "post", request=dict(raw, metadata={"order": "7"}), key=tenant,
                expect=202)
    mid = taken["messages"][0]["id"]
    run("/api/v1/messages/{id}", "get", f"/api/v1/messages/{mid}", key=tenant, expect=200)
    run("/api/v1/messages/{id}", "get", f"/api/v1/messages/{'0' * 32}", key=tenant, expect=404)
    run("/api/v1/messages", "post", request=parts, key=tenant, expect=202)
    run("/api/v1/messages", "post", request={"from": "x"}, key=tenant, expect=400, valid=False)
    run("/api/v1/messages", "post", request=raw, key=None, expect=401)
    run("/api/v1/messages", "post", request=dict(raw, tenant="other"), key=tenant, expect=403)
    run("/api/v1/queues", "get", expect=200)
    run("/api/v1/queues", "get", key=tenant, expect=403)
    for action in SPEC["paths"]["/api/v1/queues/{action}"]["post"]["parameters"][0]["schema"]["enum"]:
        request = {"target": "dest.example"}
        if action == "suspend":
            request["duration"] = "1h"
        run("/api/v1/queues/{action}", "post", f"/api/v1/queues/{action}", request, expect=200)
    run("/api/v1/keys", "get", expect=200)
    made = run("/api/v1/keys", "post", request={"tenant": "beta"}, expect=201)
    run("/api/v1/keys/{id}", "delete", f"/api/v1/keys/{made['id']}", expect=200)
    run("/api/v1/keys/{id}", "delete", f"/api/v1/keys/{made['id']}", expect=404)
    run("/api/v1/warmup", "get", expect=200)
    run("/api/v1/health/domains", "get", expect=200)
    run("/api/v1/health/domains", "get", key=tenant, expect=403)
    run("/api/v1/health/blocklists", "get", expect=200)
    run("/api/v1/dmarc", "get", "/api/v1/dmarc?domain=dest.example", expect=200)
    run("/api/v1/dmarc", "get", "/api/v1/dmarc?from=soon", expect=400)
    run("/api/v1/stats", "get", "/api/v1/stats?group_by=tenant&metrics=received", key=tenant,
        expect=200)
    run("/api/v1/stats", "get", "/api/v1/stats?tenant=other", key=tenant, expect=403)
    run("/api/v1/stats", "get", "/api/v1/stats?step=7s", expect=400)
    run("/api/v1/me", "get", key=tenant, expect=200)
    run("/api/v1/events/recent", "get", "/api/v1/events/recent?kind=bounce", key=tenant,
        expect=200)
    run("/api/v1/events/recent", "get", "/api/v1/events/recent?kind=nope", expect=400)
    run("/api/v1/doctor", "get", expect=200)
    run("/api/v1/doctor", "get", "/api/v1/doctor?domain=dest.example", expect=200)
    run("/api/v1/doctor", "get", "/api/v1/doctor?domain=-bad-", expect=400)
    run("/api/v1/doctor", "get", key=tenant, expect=403)
    run("/api/v1/shaping/reload", "post", expect=400)  # no rules file in this configuration
    run("/api/v1/shaping/explain", "post", request={"domain": "dest.example"}, expect=200)
    run("/api/v1/shaping/explain", "post", request={"domain": "dest.example", "campaign": "c"},
        expect=400)
    run("/api/v1/shaping/explain", "post", request={"domain": "dest.example"}, key=tenant,
        expect=403)
    entry = {"entries": [{"address": "gone@dest.example", "reason": "complaint",
                          "expires": "30d", "detail": "x"}]}
    run("/api/v1/suppressions", "post", request=entry, key=tenant, expect=201)
    run("/api/v1/suppressions", "post", "/api/v1/suppressions?tenant=other", entry, key=tenant,
        expect=403)
    run("/api/v1/suppressions", "post", request={"entries": []}, expect=400, valid=False)
    run("/api/v1/suppressions/{address}", "get", "/api/v1/suppressions/gone@dest.example",
        key=tenant, expect=200)
    run("/api/v1/suppressions/{address}", "get", "/api/v1/suppressions/gone@dest.example",
        expect=404)  # not on the global list
    run("/api/v1/suppressions/{address}", "delete",
        "/api/v1/suppressions/gone@dest.example?tenant=acme", expect=200)
    run("/api/v1/suppressions/{address}", "delete",
        "/api/v1/suppressions/gone@dest.example?tenant=acme", expect=404)
    # CSV in or out: the status and content type the description gives.
    for path, method, url, data, expect in (
            ("/api/v1/suppressions/import", "post", "/api/v1/suppressions/import?tenant=acme",
             "address\na@dest.example\nnot-one\n", 200),
            ("/api/v1/suppressions/export", "get", "/api/v1/suppressions/export?tenant=acme",
             None, 200),
            ("/api/v1/suppressions/export", "get", "/api/v1/suppressions/export?limit=0",
             None, 400)):
        c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
        c.request(method.upper(), url, body=data,
                  headers={"Authorization": "Bearer " + op, "Content-Type": "text/csv"})
        r = c.getresponse()
        raw = r.read()
        c.close()
        assert r.status == expect, (url, r.status, raw)
        declared = resolve(SPEC["paths"][path][method]["responses"][str(r.status)])
        ctype = r.getheader("Content-Type").split(";")[0]
        assert ctype in declared["content"], (url, ctype)
        if ctype == "application/json":
            validator(declared["content"][ctype]["schema"]).validate(json.loads(raw))
        walked.add((path, method))

    # Webhooks (none configured here) and the metrics (text, no key).
    run("/api/v1/webhooks", "get", expect=200)
    run("/api/v1/webhooks", "get", key=tenant, expect=403)
    run("/api/v1/webhooks/{name}/test", "post", "/api/v1/webhooks/app/test", expect=400)
    run("/api/v1/webhooks/{name}/replay", "post", "/api/v1/webhooks/app/replay",
        request={"since": "2026-01-01T00:00:00Z"}, expect=400)
    run("/api/v1/webhooks/{name}/replay", "post", "/api/v1/webhooks/app/replay",
        request={}, expect=400, valid=False)
    c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/plain")
    assert "text/plain" in SPEC["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    walked.add(("/metrics", "get"))

    listed = {(p, m) for p, ops in SPEC["paths"].items() for m in ops}
    assert listed == walked, f"not walked: {listed - walked}"
