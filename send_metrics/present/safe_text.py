"""One way to show untrusted text: every string that comes from data (area, measure, service and
file names, notes, quarantine reasons and values) is passed through the function for the place it
is shown, so it is always shown as the characters it holds and never becomes markup.

* ``for_markdown``: Streamlit Markdown (st.markdown/header/info/caption/metric labels...). Every
  Markdown and HTML-significant character is backslash-escaped, so no link, image, emphasis,
  heading, colour directive (``:red[...]``), icon or emoji shortcode, LaTeX or autolinked URL can
  come from data; line breaks become spaces (a second line could start a block).
* ``for_html``: HTML element text and quoted attribute values.
* ``for_css_string``: the inside of a double-quoted CSS string in a ``<style>`` element (the board
  pack's print footer). Everything but letters, digits and a few plain punctuation marks is
  written as a 6-digit CSS escape, so neither the string, the rule nor the ``<style>`` element can
  be closed from data.
* ``for_plotly``: plotly titles, axis and tick labels, legend and hover text, which plotly reads
  as a small HTML subset (``<a href>``, ``<b>``, ``<br>``, ``<span style>``); ``&``, ``<``, ``>``
  become entities plotly shows as those characters.

Invariant: the functions are total (any value, None included), idempotent in effect (escaped
text shows as the original characters) and never raise.
"""
from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_BREAKS = re.compile(r"[\r\n\t\v\f]+")
# Everything Markdown (CommonMark + GFM + Streamlit's directives) or HTML gives a meaning to.
_MD_SPECIAL = set("\\`*_{}[]()#+-.!<>|~$:@&=^\"'%")
_CSS_PLAIN = set(" ,.-·")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    return str(value)


def plain(value) -> str:
    """The text on one line with control characters removed (a common first step)."""
    return _BREAKS.sub(" ", _CONTROL.sub("", _text(value)))


# Autolinked URLs and e-mail addresses (remark-gfm) and Streamlit's emoji and icon shortcodes are
# found in the text *after* backslash escapes are resolved, so escaping alone does not stop them: an
# invisible word joiner after every ':' and '@' and after a 'www' before '.' breaks each pattern.
_JOIN = "\u2060"
_WWW = re.compile(r"(?i)(www)(?=\.)")


def for_markdown(value) -> str:
    """Text shown inside Streamlit Markdown, as literal characters (no link, image, tag,
    emphasis, directive, shortcode or autolinked URL can come from it)."""
    text = _WWW.sub(lambda m: m.group(1) + _JOIN, plain(value)).replace(":", ":" + _JOIN).replace("@", "@" + _JOIN)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def for_html(value) -> str:
    """Text for HTML element content or a quoted attribute value."""
    return html.escape(_CONTROL.sub("", _text(value)), quote=True)


def for_css_string(value) -> str:
    """Text for the inside of a double-quoted CSS string (e.g. ``content: "..."``)."""
    return "".join(ch if (ch.isalnum() and ch.isprintable()) or ch in _CSS_PLAIN else f"\\{ord(ch):06X}"
                   for ch in plain(value))


def for_plotly(value) -> str:
    """Text for a plotly title, label, category or hover text (plotly's HTML subset neutralised)."""
    return plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Tags plotly would draw that carry no attribute (no link, no style): kept when code adds them.
_PLOTLY_KEPT_TAG = re.compile(r"<(/?(?:br|b|i|em|sub|sup|extra)\s*/?)>", re.IGNORECASE)


def _plotly_markup(text: str) -> str:
    """Neutralise every tag except attribute-free formatting tags (``<br>``, ``<b>``, ``<extra>``...).

    Plotly splits text on tags first and decodes entities only inside text, so ``&lt;`` is shown as
    ``<`` and can never become a tag; ``&`` itself is left alone (an entity from data shows as its
    character, as text)."""
    if "<" not in text and ">" not in text:
        return text
    parts = _PLOTLY_KEPT_TAG.split(text)
    # split with one group: even indices are text, odd indices are the kept tag bodies
    return "".join(f"<{p}>" if i % 2 else p.replace("<", "&lt;").replace(">", "&gt;")
                   for i, p in enumerate(parts))


def _walk_plotly(value):
    import numpy as np
    if isinstance(value, str):
        return _plotly_markup(value)
    if isinstance(value, dict):
        return {k: _walk_plotly(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_walk_plotly(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        out = np.empty(value.shape, dtype=object)
        flat_in, flat_out = value.ravel(), out.ravel()
        for i, v in enumerate(flat_in):
            flat_out[i] = _walk_plotly(v) if not isinstance(v, bytes) else v
        return out
    return value


def safe_figure(fig):
    """Neutralise, in place, every text of a plotly figure (trace names, categories, text, hover
    text, custom data, titles, annotations, tick labels) so none can carry a link, a style or any
    tag but plain formatting; returns the figure. Applied wherever a figure is shown (dashboard and
    board pack), so every label built from data is covered whatever function built the chart.
    Only properties that change are re-assigned (a clean figure costs one ``to_dict``, ~5 ms), and a
    second call changes nothing."""
    d = fig.to_dict()
    for i, trace in enumerate(d.get("data", [])):
        for key, value in trace.items():
            safe = _walk_plotly(value)
            if not _same(safe, value):
                fig.data[i][key] = safe
    for key, value in (d.get("layout") or {}).items():
        if key == "template":
            continue
        safe = _walk_plotly(value)
        if not _same(safe, value):
            fig.layout[key] = safe
    return fig


def _same(a, b) -> bool:
    import numpy as np
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and all(_same(x, y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist())))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b) or (a != a and b != b)  # NaN equals NaN here
    except Exception:  # noqa: BLE001 - incomparable values: treat as changed
        return False
