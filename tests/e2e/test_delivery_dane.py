"""DANE for SMTP (RFC 7672) against a DNSSEC-signed zone served by nsd.

The zones are signed with ldns-signzone and sluiced is given their DS records
as trust anchors ([dns] trust_anchors), so libunbound validates the answers.

* RFC 7672 §3.1.1: a DANE-EE(3) record authenticates the server's key itself;
  the certificate's names and dates do not matter (a self-signed certificate
  for another name is fine).
* RFC 7672 §3.1.2: a DANE-TA(2) record names a trust anchor the server sends
  in its chain; the leaf must name the MX host.
* RFC 7672 §2.2: a secure TLSA RRset makes TLS mandatory and authenticated: a
  certificate matching no record gets no mail (4.7.5, retried); a bogus TLSA
  answer makes the host unusable (deferred); TLSA records in an unsigned zone
  are not used (opportunistic TLS, any certificate).
"""

from mx import body, inject, server_tls_context, wait_outcomes
from pki import self_signed, sha256_hex, sha512_hex
from test_metrics import families, scrape, value

WRONG_HASH = "00" * 32


def sink_with(mx_lab, name, leaf):
    return mx_lab.sink(name, tls_context=server_tls_context(leaf.chain, leaf.key))


def zone_for(dns, zone, sink, port, tlsa=None, signed=True):
    """Zone `zone`: its MX is mx.<zone> at the sink, with TLSA `tlsa` (text) if given."""
    dns.zone(zone, signed=signed)
    dns.record(zone, "@ IN MX 10 mx").record(zone, f"mx IN A {sink.address}")
    if tlsa is not None:
        dns.record(zone, f"_{port}._tcp.mx IN TLSA {tlsa}")
    return dns


def start_sluiced(sluiced_factory, mx_lab, dns, **delivery):
    cfg = mx_lab.config(delivery, {"first_retry": "30s"}, forwarder=dns.forwarder)
    cfg["dns"]["trust_anchors"] = [str(dns.trust_anchor_file)]
    return sluiced_factory(config=cfg)


def test_dane_ee_and_ta_records_authenticate(mx_lab, signed_dns, sluiced_factory, test_ca,
                                             tmp_path):
    # DANE-EE: a self-signed certificate for some other name, pinned by key.
    ee_leaf = self_signed(tmp_path, "not-the-mx.example")
    ee = sink_with(mx_lab, "ee", ee_leaf)
    zone_for(signed_dns, "ee.test", ee, mx_lab.port, f"3 1 1 {sha256_hex(ee_leaf.spki_der())}")
    # DANE-EE with SHA-512 over the whole certificate.
    full_leaf = self_signed(tmp_path, "also-not-the-mx.example")
    full = sink_with(mx_lab, "ee512", full_leaf)
    zone_for(signed_dns, "ee512.test", full, mx_lab.port, f"3 0 2 {sha512_hex(full_leaf.der())}")
    # DANE-TA: our private CA, sent by the server in its chain.
    ta = sink_with(mx_lab, "ta", test_ca.leaf("mx.ta.test"))
    zone_for(signed_dns, "ta.test", ta, mx_lab.port, f"2 0 1 {sha256_hex(test_ca.der())}")
    signed_dns.start()
    s = start_sluiced(sluiced_factory, mx_lab, signed_dns)

    ids = {d: inject(s, "sender@src.example", [f"a@{d}"], body(f"dane-{d}"))
           for d in ("ee.test", "ee512.test", "ta.test")}

    for sink in (ee, full, ta):
        [msg] = sink.wait_messages(1, timeout=20)
        assert msg.tls
    for d, qid in ids.items():
        [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
        assert ev["type"] == "Delivery", (d, ev)
        assert ev["tls_policy"] == "dane", (d, ev)
        assert ev["tls"]["authenticated"] is True, (d, ev)


def test_dane_mismatch_is_deferred(mx_lab, signed_dns, sluiced_factory, test_ca, tmp_path):
    # The server's certificate matches neither record: an EE pin of another
    # key, a TA pin of another CA (its chain is from our CA, it names the MX).
    ee = sink_with(mx_lab, "ee", self_signed(tmp_path, "mx.ee.test"))
    zone_for(signed_dns, "ee.test", ee, mx_lab.port, f"3 1 1 {WRONG_HASH}")
    ta = sink_with(mx_lab, "ta", test_ca.leaf("mx.ta.test"))
    zone_for(signed_dns, "ta.test", ta, mx_lab.port, f"2 0 1 {WRONG_HASH}")
    signed_dns.start()
    s = start_sluiced(sluiced_factory, mx_lab, signed_dns)

    ids = [inject(s, "sender@src.example", [f"a@{d}"], body(f"mismatch-{d}"))
           for d in ("ee.test", "ta.test")]

    for qid in ids:
        [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=qid)
        assert ev["type"] == "TransientFailure", ev
        assert (ev["response"]["code"], ev["response"]["enhanced"]) == (451, "4.7.5"), ev
        assert ev["tls_policy"] == "dane", ev
    for sink in (ee, ta):
        snap = sink.snapshot()
        assert snap["connections"] >= 1 and snap["transactions"] == 0, snap
    assert sorted(m[0] for m in s.spool_ls()) == sorted(ids)
    fams = families(scrape(s)[2])
    assert value(fams, "sluice_outbound_tls_failures_total", policy="dane",
                 result="validation-failure") >= 2


def test_bogus_tlsa_defers_and_insecure_tlsa_falls_back(mx_lab, signed_dns, sluiced_factory,
                                                       tmp_path):
    # Bogus: the TLSA record was changed after signing; the rest of the zone
    # validates. The server would even match the altered record.
    leaf = self_signed(tmp_path, "mx.bogus.test")
    bogus = sink_with(mx_lab, "bogus", leaf)
    zone_for(signed_dns, "bogus.test", bogus, mx_lab.port, f"3 1 1 {WRONG_HASH}")
    signed_dns.corrupt("bogus.test", f"_{mx_lab.port}._tcp.mx", "TLSA",
                       f"3 1 1 {sha256_hex(leaf.spki_der())}")
    # Insecure: an unsigned zone's TLSA record (which the server does not
    # match) is not used: opportunistic TLS delivers.
    plain = sink_with(mx_lab, "plain", self_signed(tmp_path, "mx.plain.test"))
    zone_for(signed_dns, "plain.test", plain, mx_lab.port, f"3 1 1 {WRONG_HASH}", signed=False)
    signed_dns.start()
    s = start_sluiced(sluiced_factory, mx_lab, signed_dns)

    bogus_id = inject(s, "sender@src.example", ["a@bogus.test"], body("bogus"))
    plain_id = inject(s, "sender@src.example", ["a@plain.test"], body("plain"))

    [msg] = plain.wait_messages(1, timeout=20)
    assert msg.tls
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=plain_id)
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "opportunistic", ev
    assert ev["tls"]["authenticated"] is False, ev

    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=bogus_id)
    assert ev["type"] == "TransientFailure", ev
    assert (ev["response"]["code"], ev["response"]["enhanced"]) == (451, "4.7.5"), ev
    assert "TLSA" in ev["response"]["text"], ev
    assert bogus.snapshot()["connections"] == 0, "connected to a host whose TLSA is bogus"
    fams = families(scrape(s)[2])
    assert value(fams, "sluice_outbound_tls_failures_total", policy="dane",
                 result="dnssec-invalid") >= 1


def test_dane_required_defers_a_host_without_tlsa(mx_lab, signed_dns, sluiced_factory,
                                                  tmp_path):
    sink = sink_with(mx_lab, "none", self_signed(tmp_path, "mx.none.test"))
    zone_for(signed_dns, "none.test", sink, mx_lab.port)  # signed, no TLSA
    signed_dns.start()
    s = start_sluiced(sluiced_factory, mx_lab, signed_dns, tls="dane")

    qid = inject(s, "sender@src.example", ["a@none.test"], body("dane-required"))

    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=qid)
    assert ev["type"] == "TransientFailure", ev
    assert ev["response"]["enhanced"] == "4.7.5" and ev["tls_policy"] == "dane", ev
    assert sink.snapshot()["connections"] == 0
