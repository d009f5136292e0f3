"""client_ip: REMOTE_ADDR, or the address the trusted proxies saw; never what the client wrote itself."""
from django.test import RequestFactory

from medialib.clients import client_ip


def _request(**meta):
    return RequestFactory().get("/", **meta)


def test_without_proxies_x_forwarded_for_is_ignored(settings):
    settings.MEDIALIB_PROXY_COUNT = 0
    assert client_ip(_request(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "203.0.113.7"


def test_behind_one_proxy_the_last_forwarded_address_is_the_client(settings):
    settings.MEDIALIB_PROXY_COUNT = 1
    # The client wrote "1.2.3.4" itself; nginx appended the address it really came from.
    request = _request(REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"


def test_behind_a_proxy_without_the_header_the_peer_is_used(settings):
    settings.MEDIALIB_PROXY_COUNT = 1
    assert client_ip(_request(REMOTE_ADDR="172.18.0.5")) == "172.18.0.5"
