"""flowno_core.io tests run on the wall clock unless they ask for ``virtual_clock``: they talk to
real sockets and to server threads, and a virtual clock would jump over a timeout while a thread is
still answering. No test asserts a duration; timeouts either must fire (the peer never answers) or
are generous."""

from __future__ import annotations

import ssl

import pytest
import trustme


@pytest.fixture(autouse=True)
def _io_tests_use_the_real_clock(request):  # type: ignore[no-untyped-def]
    if "virtual_clock" not in request.fixturenames:
        request.getfixturevalue("real_clock")


@pytest.fixture(scope="module")
def tls_pair():  # type: ignore[no-untyped-def]
    """A test CA's server context (certificate for 127.0.0.1 and localhost) and a client context trusting it."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx
