"""The configuration example in README.md is valid as written: `sluiced
--check-config` accepts it, once the DKIM keys it names exist (made here with
`sluice dkim keygen`, as the README says)."""

import re
import subprocess
from pathlib import Path

from conftest import SLUICE_CLI, SLUICED

ROOT = Path(__file__).resolve().parents[2]


def test_readme_config_example_checks_out(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configure it", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    for key_file in re.findall(r'key_file = "([^"]+)"\s*#\s*(\w+)', example):
        path, algorithm = key_file
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        selector = Path(path).stem.split(".")[-1]
        subprocess.run([SLUICE_CLI, "dkim", "keygen", "--domain", "example.com", "--selector",
                        selector, "--algorithm", algorithm, "--out", path],
                       cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "etc").mkdir(exist_ok=True)
    (tmp_path / "etc" / "shaping.toml").write_text((ROOT / "etc" / "shaping.toml").read_text())
    conf = tmp_path / "sluice.toml"
    conf.write_text(example)
    r = subprocess.run([SLUICED, "--check-config", str(conf)], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{conf}: ok"
