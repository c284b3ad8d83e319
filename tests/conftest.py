"""Fixtures shared by the tests: servers of every engine on 127.0.0.1 port 0, and clients.

Every test that opens a socket gives it a timeout, so a failure cannot hang
the suite (pytest-timeout is the last line of defence, in pyproject.toml).
"""

from __future__ import annotations

import pytest

from chatlab import ChatClient
from chatlab.engines import ENGINES, make_server


@pytest.fixture(params=sorted(ENGINES))
def engine(request) -> str:
    """The name of each server engine in turn: tests that take it run once per engine."""
    return request.param


@pytest.fixture
def server(engine):
    """A running server of each engine on a free port, stopped after the test."""
    with make_server(engine, "127.0.0.1", 0, handshake_timeout=2.0) as server:
        yield server


@pytest.fixture
def join(server):
    """``join(alias)`` connects a client to ``server``; all are closed after the test."""
    clients = []

    def join(alias: str, **kwargs) -> ChatClient:
        client = ChatClient.connect(*server.address, alias, timeout=5, **kwargs)
        clients.append(client)
        return client

    yield join
    for client in clients:
        client.close()
