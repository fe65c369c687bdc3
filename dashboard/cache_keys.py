"""Cached functions' keys worked out once per code object, not on every rerun of a page.

This patches a private function of Streamlit (``cache_utils._make_function_key``): the keys stay
exactly Streamlit's own (tests/pages/test_cache_keys.py), and with another Streamlit, where that
function is not found, nothing is changed. ``dashboard.ui`` installs it on import, before any
cached function of the pages is defined.
"""
from __future__ import annotations


def memoize_function_keys() -> None:
    """Streamlit names each cached function's store by hashing its source (``inspect.getsource``,
    which tokenizes the function) whenever the decorator runs, and a page file runs, decorators
    and all, on every rerun: for the Equity page's 14 cached functions that was about a third of
    the server's time per selector change (py-spy, demo). The page's compiled code is kept by
    Streamlit between reruns (its script cache), so a function defined again on a rerun has the
    very same code object; its key is worked out once per code object and reused. A changed file
    is compiled again, gets new code objects and so new keys, exactly as before."""
    try:
        from streamlit.runtime.caching import cache_utils
        original = cache_utils._make_function_key
    except (ImportError, AttributeError):  # another Streamlit: keys are worked out as it does
        return
    if getattr(original, "memoized_by_send_dashboard", False):
        return
    known: dict = {}

    def function_key(cache_type, func) -> str:
        code = getattr(func, "__code__", None)
        if code is None:
            return original(cache_type, func)
        memo = (cache_type, getattr(func, "__module__", None), getattr(func, "__qualname__", None),
                code.co_filename, id(code))
        hit = known.get(memo)
        if hit is not None and hit[0] is code:  # the same code object (kept alive here), not a reused id
            return hit[1]
        key = original(cache_type, func)
        known[memo] = (code, key)
        return key

    function_key.memoized_by_send_dashboard = True
    cache_utils._make_function_key = function_key
