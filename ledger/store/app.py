"""The event-sourced application: every ledger entry is one event of a `LoggedStatement` aggregate."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import Environment

STATEMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://disclosure-ledger/statement")


class LoggedStatement(Aggregate):
    """A statement in the log; its id is derived from the statement's own id."""

    @staticmethod
    def create_id(statement_id: str, statement: str) -> UUID:
        return uuid5(STATEMENT_NAMESPACE, statement_id)

    @event("Recorded")
    def __init__(self, statement_id: str, statement: str) -> None:
        self.statement_id = statement_id
        self.statement = statement


class LedgerApp(Application[UUID]):
    """eventsourcing application whose recorder chains every stored event into the ledger."""

    name = "ledger"

    def __init__(self, env: dict[str, Any]) -> None:
        super().__init__(env=env)

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """Only the ledger's settings configure the event store: the process environment is not
        merged in, so no stray variable can redirect the database, replace the chaining
        recorder or enable the library's lock-free insert functions."""
        return Environment(name, dict(env or {}))
