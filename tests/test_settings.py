"""Every setting is documented in the README (as datasette does), and send_metrics never imports Streamlit."""
import re
import subprocess
import sys

from conftest import ROOT
from send_metrics.config import SETTINGS


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, (default, meaning) in SETTINGS.items():
        assert re.search(rf"\| `{name}` \| `{re.escape(default)}` \| {re.escape(meaning)} \|", readme), name


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- test-command -->")[1].split("<!-- /test-command -->")[0]
    assert "python -m pytest" in block


def test_send_metrics_does_not_import_streamlit():
    code = ("import sys, pkgutil, importlib, send_metrics\n"
            "for m in pkgutil.walk_packages(send_metrics.__path__, 'send_metrics.'):\n"
            "    if m.name.endswith('__main__'): continue\n"
            "    importlib.import_module(m.name)\n"
            "assert 'streamlit' not in sys.modules, 'streamlit imported'\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
