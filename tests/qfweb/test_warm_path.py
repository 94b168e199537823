"""The warm gateway path runs no SQL but its usage rows (issue 8; DESIGN.md: "a warm request
resolves with no SQL query"): once a key and the configuration are loaded, a generation,
whole or streamed, on either API, reads everything from memory and the shared cache."""

from __future__ import annotations

import re
import threading

import pytest
from django.db.backends.utils import CursorWrapper

from routing.recording import drain
from tests.asgi_client import asgi_client
from tests.fault import ok

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Say hello"}]
USAGE_ROWS_AND_TRANSACTIONS = re.compile(
    r'INSERT INTO "routing_(generation|attempt)" |((RELEASE |ROLLBACK TO )?SAVEPOINT|BEGIN|COMMIT)\b',
    re.IGNORECASE,
)


def record_statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(thread name, SQL) of every statement run from now on, on any connection and thread."""
    ran: list[tuple[str, str]] = []
    execute, executemany = CursorWrapper._execute, CursorWrapper._executemany

    def recorded_execute(self, sql, *args):
        ran.append((threading.current_thread().name, sql))
        return execute(self, sql, *args)

    def recorded_executemany(self, sql, *args):
        ran.append((threading.current_thread().name, sql))
        return executemany(self, sql, *args)

    monkeypatch.setattr(CursorWrapper, "_execute", recorded_execute)
    monkeypatch.setattr(CursorWrapper, "_executemany", recorded_executemany)
    return ran


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "persona:writer", "messages": MESSAGES}),
        ("/v1/chat/completions", {"model": "persona:writer", "messages": MESSAGES, "stream": True}),
        ("/api/personas/writer/generate", {"prompt": "Say hello"}),
        ("/api/personas/writer/generate", {"prompt": "Say hello", "stream": True}),
    ],
    ids=["chat", "chat-stream", "generate", "generate-stream"],
)
async def test_a_warm_generation_runs_no_sql_but_its_usage_rows(gateway, fault, monkeypatch, path, body):
    fault.program("gpt-a", ok(text="Hello there"))
    headers = {"Authorization": f"Bearer {gateway.key}"}  # a key without a budget
    async with asgi_client() as client:
        warm_up = await client.post(path, json=body, headers=headers)
        assert warm_up.status_code == 200, warm_up.text
        ran = record_statements(monkeypatch)
        response = await client.post(path, json=body, headers=headers)
        await drain()
    assert response.status_code == 200, response.text
    assert "Hello" in response.text
    assert any(sql.startswith('INSERT INTO "routing_generation"') for _, sql in ran)
    assert [(thread, sql) for thread, sql in ran if not USAGE_ROWS_AND_TRANSACTIONS.match(sql)] == []
