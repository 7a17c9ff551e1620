"""The shipped Prometheus alerting rules (etc/prometheus/alerts.yml): valid
for Prometheus's own rule checker, and each alert fires on series that should
fire it and stays quiet on series that should not (promtool test rules,
tests/prometheus/alerts_test.yml); every metric they use is one Sluice
exports (docs/metrics.md)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "etc" / "prometheus" / "alerts.yml"
CASES = ROOT / "tests" / "prometheus" / "alerts_test.yml"


def promtool(*args, cwd=None):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_rules_pass_promtools_check():
    r = promtool("check", "rules", str(RULES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_alerts_fire_on_recorded_series_and_only_then():
    r = promtool("test", "rules", CASES.name, cwd=CASES.parent)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_alert_is_tested_and_uses_documented_metrics():
    rules = RULES.read_text()
    cases = CASES.read_text()
    alerts = re.findall(r"- alert: (\w+)", rules)
    assert len(alerts) >= 10
    for a in alerts:
        assert f"alertname: {a}" in cases, f"{a} has no promtool case"
    docs = (ROOT / "docs" / "metrics.md").read_text()
    for name in set(re.findall(r"\b(sluice_[a-z_]+)\b", rules)):
        assert f"`{name}`" in docs, f"{name} is not in docs/metrics.md"
