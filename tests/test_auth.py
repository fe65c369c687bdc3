"""Optional sign-in: with OIDC configured in secrets, analyst pages need a signed-in user."""
import os

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
