"""Sign-in for the analyst pages (Data explorer, Upload, person-level data), with Streamlit's
``st.login`` when the secrets file asks for it.

Sign-in fails closed: "off" only when nothing asks for it (no secrets file, or one without an
[auth] section) or SEND_AUTH=off says so explicitly. A secrets file that cannot be read or parsed,
or an [auth] section missing what st.login needs, keeps the analyst pages locked ("broken").
Apart from the page furniture (``dashboard.ui``) because only the analyst pages ask for it.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import streamlit as st

AUTH_REQUIRED_KEYS = ("redirect_uri", "cookie_secret")
AUTH_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
MISCONFIGURED_TEXT = ("Sign-in is misconfigured; the analyst pages are locked. An administrator should "
                      "check the [auth] section of .streamlit/secrets.toml (details are in the app's log).")
_auth_log = logging.getLogger("send_metrics.auth")
_AUTH_LOGGED: set[str] = set()


def _secrets_files_present() -> list[str]:
    """Configured secrets locations that exist (a file that exists but does not parse is an error,
    not an absence)."""
    try:
        from streamlit import config as st_config
        paths = st_config.get_option("secrets.files") or []
    except Exception:  # pragma: no cover - option always exists in supported Streamlit
        paths = []
    return [p for p in paths if os.path.lexists(p)]


def _auth_problem(section) -> str | None:
    """Why an [auth] section cannot work (None when st.login has what it needs)."""
    if not isinstance(section, Mapping):
        return "[auth] is not a table"
    missing = [k for k in AUTH_REQUIRED_KEYS if not _filled(section.get(k))]
    if missing:
        return "[auth] lacks " + ", ".join(missing)
    providers = [section] if any(k in section for k in AUTH_PROVIDER_KEYS) else []
    providers += [v for v in section.values() if isinstance(v, Mapping)]
    if not providers:
        return "[auth] names no identity provider (client_id, client_secret, server_metadata_url)"
    for prov in providers:
        lacking = [k for k in AUTH_PROVIDER_KEYS if not _filled(prov.get(k))]
        if lacking:
            return "an [auth] identity provider lacks " + ", ".join(lacking)
    return None


def _filled(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def auth_state() -> tuple[str, str]:
    """("off" | "on" | "broken", reason). Only "off" opens the analyst pages without sign-in."""
    if os.environ.get("SEND_AUTH", "auto").strip().lower() == "off":
        return "off", "SEND_AUTH=off"
    try:
        present = "auth" in st.secrets
        section = st.secrets["auth"] if present else None
    except Exception as exc:  # no secrets file, or one that does not parse
        if not _secrets_files_present():
            return "off", "no secrets file"
        # The parse error names the file, line and column, never a secret value.
        return "broken", f"secrets could not be read: {type(exc).__name__}: {str(exc)[:300]}"
    if not present:
        return "off", "no [auth] section in secrets"
    problem = _auth_problem(section)
    return ("broken", problem) if problem else ("on", "[auth] configured")


def auth_configured() -> bool:
    """Sign-in is asked for (configured, or misconfigured and so locked)."""
    return auth_state()[0] != "off"


def require_sign_in(what: str) -> bool:
    """Analyst-only views (data explorer, upload, person-level data) need a signed-in user when
    sign-in is configured, and stay locked when it is misconfigured; True when the view may be shown."""
    state, reason = auth_state()
    if state == "off":
        return True
    if state == "broken":
        if reason not in _AUTH_LOGGED:  # once per process and reason, not on every rerun
            _AUTH_LOGGED.add(reason)
            _auth_log.error("Sign-in is misconfigured (%s); the analyst pages are locked.", reason)
        st.error(MISCONFIGURED_TEXT, icon=":material/lock:")
        return False
    if getattr(st.user, "is_logged_in", False):
        return True
    st.info(f"{what} is only for signed-in analysts. Sign in with your organisation account.",
            icon=":material/lock:")
    if st.button("Sign in", key="sign_in"):
        st.login()
    return False
