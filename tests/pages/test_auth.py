"""Optional sign-in: with OIDC configured in secrets, analyst pages need a signed-in user."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import ROOT

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-secret",
        "client_id": "dashboard", "client_secret": "x",
        "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}


@pytest.fixture
def app(demo_store, monkeypatch):
    monkeypatch.setenv("SEND_STORE_DIR", str(demo_store))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    return at


@pytest.mark.parametrize("page,locked_text", [("pages/explorer.py", "data explorer"),
                                               ("pages/upload.py", "Uploading extracts")])
def test_analyst_pages_need_sign_in_when_configured(app, page, locked_text):
    app.secrets["auth"] = AUTH
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    assert any(locked_text.lower() in i.value.lower() for i in app.info), [i.value for i in app.info]
    assert [b.label for b in app.button] == ["Sign in"]


@pytest.mark.parametrize("page", ["pages/explorer.py", "pages/upload.py"])
def test_signed_in_analysts_see_the_page(app, page):
    app.secrets["auth"] = AUTH
    app.user["is_logged_in"] = True
    app.user["email"] = "analyst@example.org"
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    assert not any("signed-in analysts" in i.value for i in app.info)


def test_without_configuration_no_sign_in_is_asked(app):
    app.run()
    app.switch_page("pages/explorer.py").run()
    assert not app.exception
    assert not any("signed-in analysts" in i.value for i in app.info)


def test_board_is_open_to_everyone_when_configured(app):
    app.secrets["auth"] = AUTH
    app.run()
    assert not app.exception
    assert not any("signed-in analysts" in i.value for i in app.info)


# -- fail closed: a secrets.toml that does not parse, or a partial [auth], locks the analyst pages --
GOOD_AUTH_TOML = """[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "test-secret"
client_id = "dashboard"
client_secret = "x"
server_metadata_url = "https://login.example.org/.well-known/openid-configuration"
"""
BROKEN_SECRETS = {
    "duplicated key": GOOD_AUTH_TOML + 'client_id = "again"\n',
    "duplicated table": GOOD_AUTH_TOML + "[auth]\nclient_id = \"b\"\n",
    "unclosed string": '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback\n',
    "not utf-8": "[auth]\nclient_id = \"caf\xe9\"\n",
    "only a client id": '[auth]\nclient_id = "dashboard"\n',
    "no cookie secret": GOOD_AUTH_TOML.replace('cookie_secret = "test-secret"\n', ""),
    "empty redirect": GOOD_AUTH_TOML.replace('"http://localhost:8501/oauth2callback"', '""'),
    "provider lacks metadata": '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
                               'cookie_secret = "s"\n[auth.google]\nclient_id = "a"\nclient_secret = "b"\n',
    "auth is not a table": 'auth = "on"\n',
    "empty auth table": "[auth]\n",
}
LOCKED = "sign-in is misconfigured; the analyst pages are locked"


@pytest.fixture
def secrets_file(tmp_path, monkeypatch):
    """Point Streamlit at one secrets.toml (written by the test) instead of the default locations."""
    from streamlit import config as st_config

    from dashboard import sign_in
    path = tmp_path / ".streamlit" / "secrets.toml"
    path.parent.mkdir()
    old = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(path)])
    st.secrets._reset()
    sign_in._AUTH_LOGGED.clear()
    monkeypatch.delenv("SEND_AUTH", raising=False)
    yield path
    st_config.set_option("secrets.files", old)
    st.secrets._reset()


def _write_secrets(path, text):
    path.write_bytes(text.encode("latin-1") if "not utf-8" in text or "\xe9" in text else text.encode())


@pytest.mark.parametrize("case", sorted(BROKEN_SECRETS))
@pytest.mark.parametrize("page", ["pages/explorer.py", "pages/upload.py"])
def test_broken_secrets_keep_analyst_pages_locked(app, secrets_file, caplog, case, page):
    _write_secrets(secrets_file, BROKEN_SECRETS[case])
    caplog.set_level("ERROR", logger="send_metrics.auth")
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    assert any(LOCKED in e.value.lower() for e in app.error), [e.value for e in app.error]
    # Nothing of the page itself is drawn: no view selector, no uploader, no sign-in button.
    assert not app.radio and not app.get("file_uploader") and not app.button
    logged = [r.getMessage() for r in caplog.records if r.name == "send_metrics.auth"]
    assert logged and "misconfigured" in logged[0]
    # The log says why, and never a secret value.
    assert "test-secret" not in " ".join(logged) and "dashboard" not in " ".join(logged)


def test_broken_secrets_keep_the_board_open(app, secrets_file):
    _write_secrets(secrets_file, BROKEN_SECRETS["duplicated key"])
    app.run()
    assert not app.exception
    assert not any(LOCKED in e.value.lower() for e in app.error)


def test_send_auth_off_still_disables_sign_in_explicitly(app, secrets_file, monkeypatch):
    _write_secrets(secrets_file, BROKEN_SECRETS["duplicated key"])
    monkeypatch.setenv("SEND_AUTH", "off")
    app.run()
    app.switch_page("pages/explorer.py").run()
    assert not app.exception
    assert not any(LOCKED in e.value.lower() for e in app.error)
    assert app.radio  # the explorer itself is shown


def test_a_good_secrets_file_asks_for_sign_in(app, secrets_file):
    _write_secrets(secrets_file, GOOD_AUTH_TOML)
    app.run()
    app.switch_page("pages/explorer.py").run()
    assert not app.exception
    assert [b.label for b in app.button] == ["Sign in"]
    assert not any(LOCKED in e.value.lower() for e in app.error)


def test_no_secrets_file_is_not_configured(app, secrets_file):
    assert not secrets_file.exists()
    app.run()
    app.switch_page("pages/explorer.py").run()
    assert not app.exception
    assert app.radio and not app.error
