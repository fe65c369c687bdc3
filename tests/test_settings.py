"""Every setting is documented in the README (as datasette does), and send_metrics never imports Streamlit."""
import ast
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


def test_no_streamlit_import_anywhere_in_send_metrics_source():
    """Imports inside functions, and code kept in strings for child processes, count too (the
    bench's AppTest runs live in dashboard/bench_pages.py)."""
    offenders = []
    for path in sorted((ROOT / "send_metrics").rglob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}:{node.lineno}" for n in names if n.split(".")[0] == "streamlit"]
        offenders += [f"{path.name} (in a string)" for _ in re.finditer(r"(from|import)\s+streamlit\b", source)
                      if not any(o.startswith(path.name + ":") for o in offenders)]
    assert offenders == []
