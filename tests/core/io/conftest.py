"""flowno_core.io tests run on the wall clock unless they ask for ``virtual_clock``: they talk to
real sockets and to server threads, and a virtual clock would jump over a timeout while a thread is
still answering. No test asserts a duration; timeouts either must fire (the peer never answers) or
are generous."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _io_tests_use_the_real_clock(request):  # type: ignore[no-untyped-def]
    if "virtual_clock" not in request.fixturenames:
        request.getfixturevalue("real_clock")
