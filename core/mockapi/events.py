"""Webhook events, as OpenChoreo's event forwarder sends them on every CR change.

World listeners run in the mutating thread, so delivery is queued to one background
thread (fire-and-forget, in order); a failing webhook is logged and never blocks the world.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import httpx

from .world import ChangeEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Webhook:
    url: str
    token: str | None = None


class EventDispatcher:
    """POSTs ``{"kind","name","namespace","action"}`` to every registered webhook."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.webhooks: list[Webhook] = []
        self.delivered = 0
        self.failed = 0
        self._timeout = timeout
        self._queue: queue.Queue[ChangeEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0

    def add_webhook(self, url: str, token: str | None = None) -> None:
        self.webhooks.append(Webhook(url, token))
        self._ensure_thread()

    def clear(self) -> None:
        self.webhooks = []

    def __call__(self, event: ChangeEvent) -> None:
        """World listener: enqueue the event if anyone is listening."""
        if not self.webhooks:
            return
        with self._idle:
            self._pending += 1
        self._queue.put(event)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event has been attempted (bounded)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self._timeout + 1)
            self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mockapi-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while (event := self._queue.get()) is not None:
                for hook in list(self.webhooks):
                    headers = {"Authorization": f"Bearer {hook.token}"} if hook.token else {}
                    try:
                        client.post(hook.url, json=event.payload(), headers=headers).raise_for_status()
                        self.delivered += 1
                    except httpx.HTTPError as exc:
                        self.failed += 1
                        log.warning("webhook %s failed for %s: %s", hook.url, event.payload(), exc)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
