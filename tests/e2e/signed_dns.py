"""A DNSSEC-signed test DNS: Debian's nsd serving zones signed by ldns-signzone.

SignedDns(tmp).zone("dane.test", signed=True) declares a zone; .record(zone,
"mx 300 IN A 127.0.0.20") adds records (names relative to the zone, or
absolute with a trailing dot). A signed zone gets its own key (ldns-keygen);
its DS record goes into the trust-anchor file sluiced is given ([dns]
trust_anchors), so answers from it validate as secure. Zones not signed are
insecure (the parent, .test, is unsigned and sluiced treats it so).

Faults: zone(..., expired=True) signs with signatures that expired in 2020
(every answer bogus); .corrupt(zone, owner, rtype, new_rdata) replaces a
record's data after signing, so its signature no longer matches (that RRset
bogus, the rest of the zone secure).

nsd runs in the foreground as our child on 127.0.0.1 and a free port, with
every file under tmp; stop() ends it by PID.
"""

import subprocess
import time
from pathlib import Path

from mx import dns_query, free_udp_port, stop_child

NSD = "/usr/sbin/nsd"


class _Zone:
    def __init__(self, name, signed, expired):
        self.name = name
        self.signed = signed
        self.expired = expired
        self.records = []
        self.corruptions = []  # (owner, rtype, new rdata)


class SignedDns:
    TYPE_SOA = 6

    def __init__(self, tmp):
        self.dir = Path(tmp) / "nsd"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zones = {}
        self.port = None
        self.proc = None
        self.trust_anchor_file = self.dir / "trust-anchors.ds"

    def zone(self, name, signed=True, expired=False):
        self.zones[name] = _Zone(name, signed, expired)
        return self

    def record(self, zone, line):
        self.zones[zone].records.append(line)
        return self

    def corrupt(self, zone, owner, rtype, rdata):
        self.zones[zone].corruptions.append((owner, rtype, rdata))
        return self

    def _ldns(self, *args):
        return subprocess.run(list(args), check=True, capture_output=True, text=True, timeout=30,
                              cwd=self.dir).stdout

    def _write_zone(self, z):
        path = self.dir / f"{z.name}.zone"
        lines = [f"$ORIGIN {z.name}.", "$TTL 300",
                 f"@ IN SOA ns.{z.name}. hostmaster.{z.name}. 1 3600 600 86400 300",
                 f"@ IN NS ns.{z.name}.", "ns IN A 127.0.0.1", *z.records]
        path.write_text("\n".join(lines) + "\n")
        if not z.signed:
            return path.name
        key = self._ldns("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", z.name).strip()
        dates = ["-i", "20190101000000", "-e", "20200101000000"] if z.expired else []
        self._ldns("ldns-signzone", *dates, path.name, key)
        signed = self.dir / f"{z.name}.zone.signed"
        if z.corruptions:
            text = signed.read_text().splitlines()
            for owner, rtype, rdata in z.corruptions:
                fqdn = f"{owner}.{z.name}." if not owner.endswith(".") else owner
                hits = 0
                for i, line in enumerate(text):
                    f = line.split()
                    if len(f) >= 5 and f[0] == fqdn and f[3] == rtype:
                        text[i] = "\t".join(f[:4]) + "\t" + rdata
                        hits += 1
                assert hits, f"no {rtype} record at {fqdn} to corrupt"
            signed.write_text("\n".join(text) + "\n")
        with open(self.trust_anchor_file, "a") as ta:
            ta.write((self.dir / f"{key}.ds").read_text())
        return signed.name

    def start(self):
        self.trust_anchor_file.write_text("")
        zone_conf = []
        for z in self.zones.values():
            zone_conf.append(f"zone:\n  name: {z.name}\n  zonefile: {self._write_zone(z)}\n")
        for _ in range(5):
            self.port = free_udp_port()
            conf = self.dir / "nsd.conf"
            conf.write_text(
                "server:\n"
                f"  ip-address: 127.0.0.1@{self.port}\n"
                '  username: ""\n  chroot: ""\n  database: ""\n'
                f'  zonesdir: "{self.dir}"\n'
                f'  pidfile: "{self.dir}/nsd.pid"\n'
                f'  xfrdfile: "{self.dir}/xfrd.state"\n'
                f'  zonelistfile: "{self.dir}/zone.list"\n'
                f'  logfile: "{self.dir}/nsd.log"\n'
                "  server-count: 1\n  verbosity: 1\n"
                "remote-control:\n  control-enable: no\n" + "".join(zone_conf))
            self.proc = subprocess.Popen([NSD, "-d", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            first = next(iter(self.zones))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    rcode, n = dns_query(self.port, first, self.TYPE_SOA, timeout=0.2)
                    if rcode == 0 and n >= 1:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)  # bounded poll for nsd to load its zones
            self.stop()  # most likely the port was taken: another one
        raise AssertionError("nsd would not start:\n" + self.log())

    @property
    def forwarder(self):
        return f"127.0.0.1@{self.port}"

    def log(self):
        p = self.dir / "nsd.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        stop_child(self.proc)
