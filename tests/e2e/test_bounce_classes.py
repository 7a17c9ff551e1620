"""Failed attempts carry a bounce class from rules kept as data; the rules
can be a file of one's own, reloaded on SIGHUP; the CLI says which rule a
reply takes.

RFC 3463 (enhanced codes the rules key on); RFC 5321 §4.2.1 (5yz permanent,
4yz transient).
"""

import signal
import subprocess

from conftest import SLUICE_CLI
from mx import body, inject, wait_outcomes, wait_until

RULES = """\
[[rule]]
name = "site-says-gone"
class = "inactive-mailbox"
text = 'has left the building'
example = "550 5.1.1 Elvis has left the building"
"""


def test_cli_classifies_a_reply_with_the_built_in_rules():
    p = subprocess.run([SLUICE_CLI, "bounce", "classify",
                        "550-5.1.1 The email account that you tried to reach does not exist."],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "class    bad-mailbox" in p.stdout and "bounce   hard" in p.stdout
    assert "rule     gmail-no-such-account" in p.stdout and "provider gmail" in p.stdout
    p = subprocess.run([SLUICE_CLI, "bounce", "classify", "not a reply"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2


def test_own_rules_classify_and_reload_on_sighup(mx_lab, delivering_sluiced, tmp_path):
    sink = mx_lab.sink("mx1", reject_rcpts=True,
                       reject_reply="550 5.1.1 <{addr}>: Elvis has left the building")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    rules = tmp_path / "bounce.toml"
    rules.write_text(RULES)
    check = subprocess.run([SLUICE_CLI, "bounce", "check", str(rules)], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0 and "ok (1 rules)" in check.stdout, check.stderr
    s = delivering_sluiced(config={"bounce": {"rules": str(rules)}})

    first = inject(s, "sender@src.example", ["a@dest.example"], body("b-1"))
    [ev] = wait_outcomes(s, lambda evs: evs, 15, mid=first)
    assert ev["bounce"] == {"class": "inactive-mailbox", "hard": True, "rule": "site-says-gone"}

    # A broken file on SIGHUP: the old rules stay.
    rules.write_text('[[rule]]\nname = "x"\nclass = "nope"\n')
    s.signal(signal.SIGHUP)
    wait_until(lambda: "bounce rules not reloaded" in s.output(), 10, what="the refusal")
    second = inject(s, "sender@src.example", ["b@dest.example"], body("b-2"))
    [ev] = wait_outcomes(s, lambda evs: evs, 15, mid=second)
    assert ev["bounce"]["rule"] == "site-says-gone", ev

    # A good one replaces them.
    rules.write_text(RULES.replace('"inactive-mailbox"', '"bad-mailbox"')
                     .replace("site-says-gone", "elvis"))
    s.signal(signal.SIGHUP)
    wait_until(lambda: "bounce rules reloaded" in s.output(), 10, what="the reload")
    third = inject(s, "sender@src.example", ["c@dest.example"], body("b-3"))
    [ev] = wait_outcomes(s, lambda evs: evs, 15, mid=third)
    assert ev["bounce"] == {"class": "bad-mailbox", "hard": True, "rule": "elvis"}, ev
