"""Client facts: the address behind trusted proxies only, the country from the trusted header."""

from ipaddress import IPv4Address, IPv6Address

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from identity import clients
from identity.clients import client_country, client_ip, parse_ip


def _request(remote="198.51.100.7", forwarded=None, **meta):
    extra = {"REMOTE_ADDR": remote, **meta}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


# --- address ------------------------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.ACCESS_TRUSTED_PROXIES = []

    assert client_ip(_request(forwarded="203.0.113.1")) == IPv4Address("198.51.100.7")


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(_request(forwarded="203.0.113.1")) == IPv4Address("198.51.100.7")


def test_forwarded_for_from_a_trusted_proxy_names_the_client(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(_request("10.0.0.2", "203.0.113.1")) == IPv4Address("203.0.113.1")


def test_spoofed_hops_left_of_the_first_untrusted_address_are_ignored(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = _request("10.0.0.2", "1.1.1.1, 203.0.113.1, 10.0.0.3")

    assert client_ip(request) == IPv4Address("203.0.113.1")


def test_chain_made_only_of_trusted_proxies_ends_at_the_leftmost(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(_request("10.0.0.2", "10.0.0.9, 10.0.0.3")) == IPv4Address("10.0.0.9")


def test_malformed_hop_stops_the_walk(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(_request("10.0.0.2", "203.0.113.1, not-an-ip")) == IPv4Address("10.0.0.2")


def test_trusted_proxies_accept_a_comma_separated_string(settings):
    settings.ACCESS_TRUSTED_PROXIES = "10.0.0.0/8, 192.168.0.0/16"

    assert client_ip(_request("192.168.1.1", "203.0.113.1")) == IPv4Address("203.0.113.1")


def test_ipv6_proxies_and_clients(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["fd00::/8"]

    assert client_ip(_request("fd00::1", "2001:db8::5")) == IPv6Address("2001:db8::5")


def test_ipv4_mapped_peer_is_an_ipv4_client(settings):
    settings.ACCESS_TRUSTED_PROXIES = []

    assert client_ip(_request("::ffff:198.51.100.7")) == IPv4Address("198.51.100.7")


def test_missing_or_garbage_remote_addr_gives_no_address(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(_request("")) is None
    assert client_ip(_request("garbage", "203.0.113.1")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.1", IPv4Address("203.0.113.1")),
        (" 203.0.113.1 ", IPv4Address("203.0.113.1")),
        ("203.0.113.1:8080", IPv4Address("203.0.113.1")),
        ("[2001:db8::1]:443", IPv6Address("2001:db8::1")),
        ("[2001:db8::1]", IPv6Address("2001:db8::1")),
        ("2001:db8::1", IPv6Address("2001:db8::1")),
        ("unknown", None),
        ("", None),
        ("999.1.1.1", None),
    ],
)
def test_parse_ip(text, expected):
    assert parse_ip(text) == expected


# --- country ------------------------------------------------------------------------------------


def test_no_country_header_configured_means_no_country(settings):
    settings.ACCESS_COUNTRY_HEADER = ""

    assert client_country(_request(HTTP_CF_IPCOUNTRY="PT")) == ""


def test_country_comes_from_the_configured_header(settings):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = []

    assert client_country(_request(HTTP_CF_IPCOUNTRY="pt")) == "PT"


def test_other_headers_are_not_believed(settings):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = []

    assert client_country(_request(HTTP_X_COUNTRY="PT")) == ""


def test_country_header_from_an_untrusted_peer_is_ignored(settings):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_country(_request("198.51.100.7", HTTP_CF_IPCOUNTRY="PT")) == ""


def test_country_header_from_a_trusted_proxy_is_believed(settings):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_country(_request("10.0.0.2", HTTP_CF_IPCOUNTRY="PT")) == "PT"


@pytest.mark.parametrize("value", ["XX", "", "PRT", "P", "P1!", "ü1", "P T"])
def test_unknown_or_malformed_countries_are_empty(settings, value):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = []

    assert client_country(_request(HTTP_CF_IPCOUNTRY=value)) == ""


def test_tor_country_code_is_kept(settings):
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    settings.ACCESS_TRUSTED_PROXIES = []

    assert client_country(_request(HTTP_CF_IPCOUNTRY="T1")) == "T1"


def test_invalid_trusted_proxy_is_a_configuration_error(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/33"]

    with pytest.raises(ImproperlyConfigured, match="ACCESS_TRUSTED_PROXIES"):
        client_ip(_request("10.0.0.2"))


def test_a_remembered_address_is_the_same_answer_and_memory_stays_bounded(monkeypatch):
    monkeypatch.setattr(clients, "_parsed", {})
    monkeypatch.setattr(clients, "_PARSED_LIMIT", 3)

    assert parse_ip("10.0.0.1") == IPv4Address("10.0.0.1")
    assert parse_ip("10.0.0.1") == IPv4Address("10.0.0.1")  # from memory now
    assert parse_ip("garbage") is None
    assert parse_ip("garbage") is None  # an unreadable value is remembered as unreadable
    assert parse_ip("[::1]:443") == IPv6Address("::1")
    assert len(clients._parsed) == 3
    assert parse_ip(" 10.0.0.2 ") == IPv4Address("10.0.0.2")  # the limit: memory starts over
    assert clients._parsed == {" 10.0.0.2 ": IPv4Address("10.0.0.2")}
