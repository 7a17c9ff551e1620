"""Inbound TLS hygiene.

RFC 8996: TLS 1.0 and 1.1 are refused (TLS 1.2 is the floor, 1.3 on
request); RFC 9325 §4.2: by default only forward-secret AEAD ciphers for TLS
1.2. A renewed certificate written over the old files is served within
seconds, no SIGHUP needed; bad protocol settings are a configuration error.
"""

import socket
import ssl
import subprocess
import warnings

import pytest

from conftest import SLUICED
from mx import wait_until
from test_sighup_reload import der_fingerprint, served_fingerprint


def handshake(port, min_v, max_v, ciphers=None):
    """The negotiated version, or None if the server refused."""
    warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/TLSv1_1: on purpose
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version, ctx.maximum_version = min_v, max_v
    ctx.set_ciphers(ciphers or "DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw) as s:
                return s.version()
        except (ssl.SSLError, ConnectionResetError):
            return None


def test_old_protocols_and_weak_ciphers_are_refused(sluiced_factory):
    s = sluiced_factory(listener_opts={"smtps": {"tls_min_version": "1.2"}})
    port = s.port("smtps")
    v = ssl.TLSVersion
    assert handshake(port, v.TLSv1, v.TLSv1_1) is None
    assert handshake(port, v.TLSv1_2, v.TLSv1_2) == "TLSv1.2"
    assert handshake(port, v.TLSv1_2, v.TLSv1_2, "AES128-SHA:@SECLEVEL=0") is None  # no PFS
    assert handshake(port, v.TLSv1_2, v.TLSv1_2, "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA"
                     ":@SECLEVEL=0") is None  # CBC, not AEAD
    assert handshake(port, v.TLSv1_2, v.TLSv1_3) == "TLSv1.3"


def test_tls_1_3_only(sluiced_factory):
    s = sluiced_factory(listener_opts={"smtps": {"tls_min_version": "1.3"}})
    v = ssl.TLSVersion
    assert handshake(s.port("smtps"), v.TLSv1_2, v.TLSv1_2) is None
    assert handshake(s.port("smtps"), v.TLSv1_2, v.TLSv1_3) == "TLSv1.3"


def test_a_renewed_certificate_is_served_without_a_signal(sluiced_factory, make_cert, tmp_path):
    cert_a, key_a = make_cert("a")
    cert_b, key_b = make_cert("b")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    live_cert.write_bytes(cert_a.read_bytes())
    live_key.write_bytes(key_a.read_bytes())
    s = sluiced_factory(listener_opts={"smtps": {"tls": "files", "tls_cert": str(live_cert),
                                                 "tls_key": str(live_key)}})
    port = s.port("smtps")
    assert served_fingerprint(port) == der_fingerprint(cert_a)

    # A renewal as certbot-style tools do it: new files renamed into place.
    (tmp_path / "new.key").write_bytes(key_b.read_bytes())
    (tmp_path / "new.key").rename(live_key)
    (tmp_path / "new.crt").write_bytes(cert_b.read_bytes())
    (tmp_path / "new.crt").rename(live_cert)

    wait_until(lambda: served_fingerprint(port) == der_fingerprint(cert_b), 15,
               interval=0.2, what="the renewed certificate")
    assert s.running()


@pytest.mark.parametrize("key,value,message", [
    ("tls_min_version", "1.1", "must be"),
    ("tls_ciphers", "NO-SUCH-CIPHER", "no usable cipher"),
    ("tls_ciphersuites", "TLS_NOPE", "no usable suite"),
])
def test_bad_protocol_settings_are_config_errors(tmp_path, key, value, message):
    path = tmp_path / "bad.toml"
    path.write_text('[[listener]]\nname = "relay"\nkind = "relay"\naddress = "127.0.0.1"\n'
                    f'port = 0\ntls = "self-signed"\n{key} = "{value}"\n')
    p = subprocess.run([SLUICED, "--check-config", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert f"bad.toml:7: listener[0].{key}: {message}" in p.stderr, p.stderr
