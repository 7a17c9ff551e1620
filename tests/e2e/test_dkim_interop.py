"""DKIM against an independent implementation (Debian's python3-dkim, dkimpy).

Messages signed by `sluice dkim sign` verify with dkimpy, and messages signed by
dkimpy verify with `sluice dkim verify`, for rsa-sha256 and ed25519-sha256
(RFC 6376, RFC 8463) under every canonicalisation, over a corpus with folded
headers, trailing whitespace, empty bodies, 8-bit bodies and long lines.
"""

import base64
import subprocess

import pytest

from conftest import SLUICE_CLI

dkim = pytest.importorskip("dkim")

CORPUS = {
    "plain": b"From: Alice <alice@sign.example>\r\nTo: bob@dest.example\r\n"
             b"Subject: hello\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
             b"Message-ID: <1@sign.example>\r\n\r\nHello Bob.\r\n",
    "folded": b"From: Alice <alice@sign.example>\r\nTo: bob@dest.example,\r\n"
              b"\tcarol@dest.example,\r\n  dave@dest.example\r\n"
              b"Subject: a  subject\r\n   folded   over\r\n\t three lines\r\n\r\nbody\r\n",
    "trailing-ws": b"From: alice@sign.example \r\nSubject: spaces\t \r\n\r\n"
                   b"line with trailing spaces   \r\n\ttabbed\t\r\n  \r\n\r\n\r\n",
    "empty-body": b"From: alice@sign.example\r\nSubject: nothing\r\n\r\n",
    "no-body-separator": b"From: alice@sign.example\r\nSubject: headers only\r\n",
    "8bit": "From: Ren\u00e9e <renee@sign.example>\r\nSubject: caf\u00e9\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u00e7a va?\r\n".encode(),
    "long-lines": b"From: alice@sign.example\r\nSubject: long\r\n\r\n"
                  + b"x" * 990 + b"\r\n" + b"word " * 400 + b"\r\n",
    "dots-and-blank-tail": b"From: alice@sign.example\r\nSubject: dots\r\n\r\n"
                           b".\r\n..leading dots\r\n\r\n\r\n\r\n",
}

CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("dkimkeys")
    out = {}
    for alg, sel in (("rsa2048", "r1"), ("ed25519", "e1")):
        pem = d / f"{sel}.pem"
        subprocess.run([SLUICE_CLI, "dkim", "keygen", "--domain", "sign.example",
                        "--selector", sel, "--algorithm", alg, "--out", str(pem)],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        if alg == "ed25519":
            record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:])
            priv_der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-outform", "DER"],
                                      check=True, capture_output=True).stdout
            dkimpy_key = base64.b64encode(priv_der[-32:])  # dkimpy takes the raw seed
            algo = b"ed25519-sha256"
        else:
            record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
            dkimpy_key = pem.read_bytes()
            algo = b"rsa-sha256"
        out[alg] = dict(pem=pem, selector=sel, record=record, dkimpy_key=dkimpy_key, algo=algo)
    return out


def dns_for(keys):
    records = {f"{k['selector']}._domainkey.sign.example.": k["record"] for k in keys.values()}

    def dnsfunc(name, timeout=5):
        return records.get(name.decode())
    return dnsfunc


@pytest.mark.parametrize("alg", ["rsa2048", "ed25519"])
@pytest.mark.parametrize("canon", CANONS)
def test_sluice_signs_dkimpy_verifies(keys, alg, canon):
    k = keys[alg]
    for name, msg in CORPUS.items():
        r = subprocess.run([SLUICE_CLI, "dkim", "sign", "--key", str(k["pem"]), "--domain",
                            "sign.example", "--selector", k["selector"],
                            "--canonicalization", canon],
                           input=msg, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        signed = r.stdout
        assert signed.endswith(msg)
        assert dkim.verify(signed, dnsfunc=dns_for(keys)), (name, signed[:600])
        # And a change the signature covers is caught by dkimpy.
        tampered = signed.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1)
        assert tampered != signed
        assert not dkim.verify(tampered, dnsfunc=dns_for(keys)), name


@pytest.mark.parametrize("alg", ["rsa2048", "ed25519"])
@pytest.mark.parametrize("canon", CANONS)
def test_dkimpy_signs_sluice_verifies(keys, alg, canon):
    k = keys[alg]
    h, b = canon.encode().split(b"/")
    record_flag = f"{k['selector']}._domainkey.sign.example={k['record'].decode()}"
    for name, msg in CORPUS.items():
        sig = dkim.sign(msg, k["selector"].encode(), b"sign.example", k["dkimpy_key"],
                        canonicalize=(h, b), signature_algorithm=k["algo"],
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        r = subprocess.run([SLUICE_CLI, "dkim", "verify", "--key-record", record_flag],
                           input=sig + msg, capture_output=True, timeout=30)
        assert r.returncode == 0, (name, r.stdout, r.stderr, sig)
        assert r.stdout.startswith(b"pass d=sign.example"), r.stdout
        # A changed body fails with our verifier too.
        more = b"one more line\r\n" if b"\r\n\r\n" in msg else b"\r\na body now\r\n"
        bad = subprocess.run([SLUICE_CLI, "dkim", "verify", "--key-record", record_flag],
                             input=sig + msg + more, capture_output=True, timeout=30)
        assert bad.returncode == 1 and bad.stdout.startswith(b"fail"), (name, bad.stdout)
