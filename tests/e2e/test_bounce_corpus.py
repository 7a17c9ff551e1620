"""The inbound report parser (bounce/report.h) against the shared corpora of
real bounces and feedback reports: every standard DSN (RFC 3464) must give
its recipient and status, every ARF report (RFC 5965) its feedback type, and
no auto-reply (RFC 3834) may pass for a bounce. A report whose MIME structure
was lost still counts when its delivery-status fields are there; of the
free-text bounces, at least 80% must name their labelled recipient.
"""

import json
import subprocess
from pathlib import Path

from conftest import SLUICE_CLI

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "corpora"


def parse(files):
    p = subprocess.run([SLUICE_CLI, "bounce", "parse", *map(str, files)], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return {Path(r["file"]).name: r for r in map(json.loads, p.stdout.splitlines())}


def test_labelled_feedback_corpus():
    labels = [json.loads(line) for line in (SHARED / "feedback" / "labels.jsonl").open()]
    got = parse(SHARED / "feedback" / label["file"] for label in labels)
    misses = []
    text_found, text_missed = [], []
    for label in labels:
        r = got[label["file"]]
        kind, fmt = label["kind"], label["format"]
        if kind in ("dsn-failure", "dsn-delay") and fmt == "rfc3464":
            # The label's recipient is the one the sender used: the final or,
            # where the mail was forwarded, the original recipient.
            finals = {x["final_recipient"].lower(): x for x in r["recipients"]}
            finals.update({x["original_recipient"].lower(): x for x in r["recipients"]
                           if x["original_recipient"]})
            want = (label["recipient"] or "").lower()
            ok = r["kind"] == "dsn" and (not want or want in finals)
            if ok and want and label["status"]:
                ok = finals[want]["status"] == label["status"]
            if not ok:
                misses.append((label["file"], kind, want, label["status"], r["kind"],
                               [(x["final_recipient"], x["status"]) for x in r["recipients"]]))
        elif kind == "nonstandard-bounce":
            # Free text: the labelled recipient among those the notice names.
            named = [x["final_recipient"].lower() for x in r["recipients"]]
            want = (label["recipient"] or "").lower()
            if r["kind"] == "dsn" and (not want or want in named):
                text_found.append(label["file"])
            else:
                text_missed.append((label["file"], want, r["kind"], named[:3]))
        elif kind == "arf-complaint" and fmt == "arf":
            if r["kind"] != "feedback" or r["feedback_type"] != (label["feedback_type"] or "abuse"):
                misses.append((label["file"], kind, r["kind"], r["feedback_type"]))
        elif kind == "auto-reply":
            if r["kind"] == "dsn" and any(x["action"] == "failed" for x in r["recipients"]):
                misses.append((label["file"], kind, r["kind"]))
    assert not misses, "\n".join(map(str, misses))
    # Most free-text bounces give their recipient; the rest are listed.
    print(f"\nnon-standard bounces: {len(text_found)} of {len(text_found) + len(text_missed)} "
          f"give the labelled recipient; missed:\n" + "\n".join(map(str, text_missed)))
    assert len(text_found) >= 0.8 * (len(text_found) + len(text_missed)), text_missed


def test_standard_reports_in_the_sisimai_corpus():
    files = sorted((SHARED / "bounces").glob("*.eml"))
    got = parse(files)
    misses = []
    text_only = []
    for name, r in got.items():
        text = (SHARED / "bounces" / name).read_text(errors="replace").lower()
        # Every report with delivery-status fields (some rfc3464-NN files are
        # free text only: counted below, not required yet).
        if name.startswith("rfc3464-") and "final-recipient:" not in text:
            text_only.append(name)
        elif name.startswith("rfc3464-") and (r["kind"] != "dsn" or not r["recipients"] or
                                              not all(x["status"] for x in r["recipients"])):
            misses.append((name, r["kind"], r["recipients"]))
        arf = "report-type=feedback-report" in text.replace('"', "").replace(" ", "")
        if name.startswith("arf-") and arf and r["kind"] != "feedback":
            misses.append((name, r["kind"]))
        if name.startswith("rfc3834-") and r["kind"] == "dsn":
            misses.append((name, r["kind"]))
    assert not misses, "\n".join(map(str, misses))
    # What the rest gives, for the record.
    fields = sum(1 for r in got.values() if r["kind"] == "dsn" and not r["from_text"])
    text = sum(1 for r in got.values() if r["kind"] == "dsn" and r["from_text"])
    print(f"\nof {len(got)} corpus messages, {fields} give delivery-status fields and {text} "
          f"a failed recipient from their text; text-only rfc3464 files: "
          f"{[(n, got[n]['kind']) for n in text_only]}")
