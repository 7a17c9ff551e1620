"""A private certificate authority for the TLS scenarios (openssl's CLI).

TestCa(tmp) makes a CA; .leaf(name, dns_names, ...) issues a server
certificate: good, expired (dates in the past), for another name, or
self-signed (no CA at all). .tlsa_*() give TLSA association data (RFC 6698
§2.1) for a certificate, as hex, for DANE zones.
"""

import hashlib
import subprocess
from pathlib import Path

_CA_CONFIG = """\
[ ca ]
default_ca = test_ca
[ test_ca ]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[ any_name ]
commonName = supplied
"""


def _openssl(*args, cwd=None, stdin=None):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30,
                          cwd=cwd, input=stdin).stdout


def _new_key_and_csr(key, csr, cn, dns_names):
    san = ",".join(f"DNS:{n}" for n in dns_names)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}",
             "-addext", f"subjectAltName={san}")


class Leaf:
    def __init__(self, cert, key, chain):
        self.cert = cert    # the leaf alone
        self.key = key
        self.chain = chain  # leaf then issuer: what a server presents

    def der(self):
        return _openssl("x509", "-in", str(self.cert), "-outform", "DER")

    def spki_der(self):
        pub = _openssl("x509", "-in", str(self.cert), "-noout", "-pubkey")
        return _openssl("pkey", "-pubin", "-outform", "DER", stdin=pub)


class TestCa:
    __test__ = False  # not a pytest class

    def __init__(self, tmp, name="Sluice Test CA"):
        self.dir = Path(tmp) / "pki"
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        self.config = self.dir / "ca.cnf"
        self.config.write_text(_CA_CONFIG.format(dir=self.dir))
        self.key = self.dir / "ca.key"
        self.cert = self.dir / "ca.crt"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", str(self.key), "-out", str(self.cert), "-days", "30",
                 "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, dns_names=None, expired=False):
        """A certificate for `dns_names` (default: [name]) signed by this CA;
        `expired`: valid only in 2020."""
        dns_names = dns_names or [name]
        key, csr = self.dir / f"{name}.key", self.dir / f"{name}.csr"
        cert, chain = self.dir / f"{name}.crt", self.dir / f"{name}.chain.pem"
        _new_key_and_csr(key, csr, dns_names[0], dns_names)
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if expired
                 else ["-days", "2"])
        _openssl("ca", "-batch", "-notext", "-config", str(self.config), "-cert", str(self.cert),
                 "-keyfile", str(self.key), "-in", str(csr), "-out", str(cert), *dates)
        chain.write_bytes(cert.read_bytes() + self.cert.read_bytes())
        return Leaf(cert, key, chain)

    def der(self):
        return _openssl("x509", "-in", str(self.cert), "-outform", "DER")


def self_signed(tmp, name, dns_names=None):
    """A self-signed certificate (no CA anyone trusts)."""
    dns_names = dns_names or [name]
    d = Path(tmp) / "pki"
    d.mkdir(parents=True, exist_ok=True)
    key, cert = d / f"{name}.self.key", d / f"{name}.self.crt"
    san = ",".join(f"DNS:{n}" for n in dns_names)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={dns_names[0]}",
             "-addext", f"subjectAltName={san}")
    return Leaf(cert, key, cert)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def sha512_hex(data):
    return hashlib.sha512(data).hexdigest()
