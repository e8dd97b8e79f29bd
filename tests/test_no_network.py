"""The suite's own guard (tests/conftest.py): only loopback may be resolved or connected to.
Checked without ever attempting a real outside connection, even if the guard were broken."""
import socket

import pytest

from tests import conftest


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1", True), ("127.5.6.7", True), ("::1", True), ("localhost", True), (None, True),
    ("fapi.binance.com", False), ("1.1.1.1", False), ("10.0.0.1", False), ("192.168.1.1", False),
    ("api.telegram.org", False),
])
def test_only_loopback_is_allowed(host, allowed):
    assert conftest._loopback(host) is allowed


def test_the_guard_is_installed_for_every_test():
    assert socket.getaddrinfo is conftest._guarded_getaddrinfo
    assert socket.socket.connect is conftest._guarded_connect
    assert socket.socket.connect_ex is conftest._guarded_connect_ex


def test_outside_addresses_are_refused_before_any_packet():
    with pytest.raises(OSError, match="no network in tests"):
        conftest._check_address(("1.1.1.1", 443))
    with pytest.raises(OSError, match="no network in tests"):
        conftest._guarded_getaddrinfo("fapi.binance.com", 443)
