"""A small JSON client for the HTTP API tests (`requests`, unmodified, against 127.0.0.1)."""

from __future__ import annotations

from typing import Any

import requests


class ApiClient:
    def __init__(self, base: str, key: str | None) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def call(
        self, method: str, path: str, body: Any = None, **headers: str
    ) -> tuple[int, dict[str, Any], requests.Response]:
        r = self.session.request(
            method, self.base + path, json=body, headers=headers or None, timeout=120
        )
        try:
            data = r.json()
        except ValueError:
            data = {}
        return r.status_code, data, r

    def ask(self, question: str, conversation: str | None = None, **extra: Any):
        body: dict[str, Any] = {"question": question, **extra}
        if conversation is not None:
            body["conversation_id"] = conversation
        idem = body.pop("idempotency_key", None)
        return self.call("POST", "/v1/ask", body, **({"Idempotency-Key": idem} if idem else {}))

    def vote(self, answer_id: int, **body: Any):
        return self.call("POST", f"/v1/answers/{answer_id}/vote", body)
