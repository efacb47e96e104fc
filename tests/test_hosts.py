"""The host allow-list for addresses a visitor types: loopback by default, listed hosts, never a look-alike."""

from __future__ import annotations

import pytest

from reranklens.access.hosts import HostRefusedError, check_host, strip_credentials
from reranklens.config import Settings

SETTING = "RERANKLENS_ATTACH_HOSTS"


@pytest.mark.parametrize("url", ["http://localhost:8000", "http://127.0.0.5:1", "https://[::1]:8443/x"])
def test_loopback_is_allowed_without_a_list(url: str) -> None:
    assert check_host(url, (), SETTING)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.2:8000", "http://chroma.internal", "http://localhost.evil.com", "http://127.0.0.1.nip.io"]
)
def test_other_hosts_are_refused_and_the_message_names_the_setting(url: str) -> None:
    with pytest.raises(HostRefusedError, match=SETTING):
        check_host(url, (), SETTING)


def test_listed_hosts_and_the_wildcard() -> None:
    assert check_host("https://Chroma.Internal:8000", ("chroma.internal",), SETTING) == "chroma.internal"
    with pytest.raises(HostRefusedError):
        check_host("https://other.internal", ("chroma.internal",), SETTING)
    assert check_host("http://anything.example", ("*",), SETTING) == "anything.example"


@pytest.mark.parametrize("url", ["ftp://localhost/x", "file:///etc/hostname", "localhost:8000", "http://"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(HostRefusedError, match="http"):
        check_host(url, ("*",), SETTING)


def test_credentials_are_stripped_and_the_rest_is_kept() -> None:
    assert strip_credentials("https://me:secret@host:8000/p?q=1") == "https://host:8000/p?q=1"
    assert strip_credentials("http://tok@[::1]:9/") == "http://[::1]:9/"
    assert strip_credentials("http://host:8000") == "http://host:8000"


def test_settings_read_both_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_ATTACH_HOSTS", "Chroma.internal, 10.0.0.2")
    monkeypatch.setenv("RERANKLENS_CONNECT_HOSTS", "retriever.internal")
    settings = Settings.from_env()
    assert settings.attach_hosts == ("chroma.internal", "10.0.0.2")
    assert settings.connect_hosts == ("retriever.internal",)
