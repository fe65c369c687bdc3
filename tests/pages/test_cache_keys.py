"""dashboard.cache_keys (installed by dashboard.ui on import) works out a cached function's key once
per code object (Streamlit would tokenize the function's source on every rerun of the page that
defines it). The key must be exactly Streamlit's own, the same for a function defined again from the
same code, and new for changed code."""
import textwrap

from streamlit.runtime.caching import cache_utils
from streamlit.runtime.caching.cache_type import CacheType

from dashboard import cache_keys, ui  # noqa: F401 - ui installs the memo on import


def _define(source: str, path: str, namespace_name: str = "__main__"):
    """Run a page-like module body (as Streamlit does on each rerun) and return its function."""
    code = compile(textwrap.dedent(source), path, "exec")
    return code, _run(code, namespace_name)


def _run(code, namespace_name: str = "__main__"):
    namespace = {"__name__": namespace_name}
    exec(code, namespace)
    return namespace["figures"]


def test_memo_installed_once():
    key = cache_utils._make_function_key
    assert getattr(key, "memoized_by_send_dashboard", False)
    cache_keys.memoize_function_keys()  # a second call leaves the first memo in place
    assert cache_utils._make_function_key is key


def test_same_code_same_key_as_streamlit(tmp_path):
    page = tmp_path / "page.py"
    source = "def figures(load_id):\n    return load_id * 2\n"
    page.write_text(source)
    code, first = _define(source, str(page))
    again = _run(code)  # a rerun: a new function object from the same compiled code
    assert first is not again and first.__code__ is again.__code__
    memo = cache_utils._make_function_key
    key = memo(CacheType.RESOURCE, first)
    assert memo(CacheType.RESOURCE, again) == key
    # Streamlit's own function, which the memo wraps (found in its closure)
    streamlit_key = next(c.cell_contents for c in memo.__closure__
                         if getattr(c.cell_contents, "__name__", "") == "_make_function_key")
    assert streamlit_key(CacheType.RESOURCE, first) == key


def test_changed_code_new_key(tmp_path):
    page = tmp_path / "page.py"
    before = "def figures(load_id):\n    return load_id * 2\n"
    after = "def figures(load_id):\n    return load_id * 30\n"
    memo = cache_utils._make_function_key
    page.write_text(before)
    _, old = _define(before, str(page))
    old_key = memo(CacheType.RESOURCE, old)
    page.write_text(after)  # the file changed: Streamlit compiles it again
    _, new = _define(after, str(page))
    assert memo(CacheType.RESOURCE, new) != old_key
