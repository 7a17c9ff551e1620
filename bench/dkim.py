"""DKIM signatures per second: Sluice's signing path (bench/dkim_bench.cc) beside
`openssl speed`, the same private-key operation with nothing around it, on the
same machine with every core busy (-multi N / N threads). Runs alternate and
the median counts, as neighbours and frequency scaling move both."""

import json
import re
import statistics
import subprocess


def openssl_speed(threads, seconds):
    args = ["openssl", "speed", "-seconds", str(max(1, round(seconds))), "-multi", str(threads),
            "rsa2048", "ed25519"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rsa = re.search(r"^rsa 2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", out, re.M)
    ed = re.search(r"EdDSA \(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)", out)
    if not rsa or not ed:
        raise RuntimeError("cannot read openssl speed output:\n" + out[-2000:])
    return {"rsa2048": float(rsa.group(1)), "ed25519": float(ed.group(1))}


def sluice_speed(binary, threads, seconds):
    args = [binary, str(threads), str(max(1, round(seconds)))]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def measure(binary, threads, seconds=5, repeat=3):
    runs = []
    for _ in range(repeat):
        o = openssl_speed(threads, seconds)
        s = sluice_speed(binary, threads, seconds)
        runs.append({"openssl": o, "sluice": {"rsa2048": s["rsa2048"], "ed25519": s["ed25519"]}})
    out = {"threads": threads, "seconds": seconds, "runs": runs}
    for alg in ("rsa2048", "ed25519"):
        o = statistics.median(r["openssl"][alg] for r in runs)
        s = statistics.median(r["sluice"][alg] for r in runs)
        out[alg] = {"openssl_per_s": round(o, 1), "sluice_per_s": round(s, 1),
                    "of_openssl": round(s / o, 3)}
    return out
