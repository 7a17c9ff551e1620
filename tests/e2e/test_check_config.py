"""sluiced --check-config: every configuration error names file, line and key.

Not an RFC behaviour: checks the operator interface ("file:line: key: message",
exit 1 on errors, "FILE: ok" and exit 0 otherwise). TOML v1.0 syntax.
"""

import subprocess

from conftest import SLUICED, to_toml, default_config

BAD = """\
[server]
hostname = "mx.test"
threads = "two"
colour = "blue"

[spool]
path = "spool"
min_free_disk = "lots"

[auth]
max_failures = 0

[relay]
networks = ["10.0.0.0/33"]

[[listener]]
name = "in"
kind = "mailbox"
address = "127.0.0.1"
port = 0
tls = "maybe"
command_timeout = "5 minutes"
max_recipients = 0

[[listener]]
name = "in"
kind = "smtps"
port = 70000
tls = "none"
"""


def check(path):
    return subprocess.run([SLUICED, "--check-config", str(path)], capture_output=True,
                          text=True, timeout=60)


def test_bad_config_reports_file_line_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    p = check(path)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "ok" not in p.stdout
    lines = p.stderr.splitlines()
    expected = [
        (3, "server.threads", "expected an integer"),
        (4, "server.colour", "unknown key"),
        (8, "spool.min_free_disk", "expected a size"),
        (11, "auth.max_failures", "out of range"),
        (14, "relay.networks", "10.0.0.0/33"),
        (18, "listener[0].kind", "must be"),
        (21, "listener[0].tls", "must be"),
        (22, "listener[0].command_timeout", "expected a duration"),
        (23, "listener[0].max_recipients", "out of range"),
        (26, "listener[1].name", "duplicate"),
        (28, "listener[1].port", "out of range"),
        # An smtps listener without TLS.
        (29, "listener[1].tls", "smtps listener needs TLS"),
    ]
    for line_no, key, what in expected:
        prefix = f"{path}:{line_no}: {key}: "
        match = [line for line in lines if line.startswith(prefix)]
        assert match, f"no error line starting {prefix!r} in:\n{p.stderr}"
        assert what in match[0], (match, what)
    # Every stderr line has the file:line: key: message shape.
    for line in lines:
        assert line.startswith(f"{path}:"), line
        rest = line[len(str(path)) + 1:]
        num, key, msg = rest.split(": ", 2)
        assert num.isdigit() and key and msg, line


def test_syntax_error_has_line(tmp_path):
    path = tmp_path / "syntax.toml"
    path.write_text('[server]\nhostname = "mx.test"\nthreads = = 2\n')
    p = check(path)
    assert p.returncode == 1
    assert p.stderr.startswith(f"{path}:3: "), p.stderr


def test_good_config_is_ok(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(to_toml(default_config(tmp_path)))
    p = check(path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{path}: ok\n"
    assert p.stderr == ""


def test_embedded_default_config_is_ok(tmp_path):
    p = subprocess.run([SLUICED, "--print-default-config"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0
    path = tmp_path / "default.toml"
    path.write_text(p.stdout)
    p = check(path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{path}: ok\n"


def test_a_bad_bounce_rules_file_is_named_with_its_line(tmp_path):
    rules = tmp_path / "bounce.toml"
    rules.write_text('[[rule]]\nname = "x"\nclass = "bad-mood"\n')
    cfg = default_config(tmp_path)
    cfg["bounce"] = {"rules": str(rules)}
    path = tmp_path / "cfg.toml"
    path.write_text(to_toml(cfg))
    p = check(path)
    assert p.returncode == 1, p.stderr
    [line] = p.stderr.splitlines()
    assert line.startswith(f"{path}:"), line
    assert f": bounce.rules: {rules}:3: rule[0].class: must be one of" in line, line


def test_bad_monitoring_settings_are_named(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text("\n".join([
        "[health]",                                   # 1
        'interval = "0s"',                            # 2
        'domains = ["not a domain"]',                 # 3
        "",                                           # 4
        "[blocklists]",                               # 5
        'lists = ["spamhaus-zen", "nosuchlist"]',     # 6
        "",                                           # 7
        "[[blocklists.custom]]",                      # 8
        'name = "mine"',                              # 9
        'zone = "bl.example.net"',                    # 10
        'kind = "domain"',                            # 11
        "take_out_of_pools = true",                   # 12
        "",                                           # 13
        "[dmarc]",                                    # 14
        'addresses = ["no-at-sign"]',                 # 15
    ]) + "\n")
    p = check(path)
    assert p.returncode == 1, (p.stdout, p.stderr)
    for line_no, key, what in [(2, "health.interval", "1s to 7d"),
                               (3, "health.domains", "not a domain name"),
                               (6, "blocklists.lists", "no built-in list \"nosuchlist\""),
                               (12, "blocklists.custom[0].take_out_of_pools", "only an \"ip\""),
                               (15, "dmarc.addresses", "not a mailbox")]:
        prefix = f"{path}:{line_no}: {key}: "
        assert any(l.startswith(prefix) and what in l for l in p.stderr.splitlines()), \
            (prefix, what, p.stderr)
