from datetime import datetime, timezone

import pytest

from wenku.importer import import_document
from wenku.store import Store

from .fixtures import (
    RURAL_BODY,
    RURAL_TITLE,
    SAFETY_BODY,
    SAFETY_TITLE,
    UNION_BODY,
    UNION_TITLE,
    distributed,
)

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def store():
    # Like sqlite-utils' own fresh_db fixture: a new in-memory database per test.
    database = Store.memory()
    yield database
    database.close()


@pytest.fixture
def library(store):
    """Three documents: 1 工会 (title and body), 2 乡村振兴, 3 安全生产 (工会 in the body only)."""
    for name, title, body in [
        ("union.txt", UNION_TITLE, UNION_BODY),
        ("rural.txt", RURAL_TITLE, RURAL_BODY),
        ("safety.txt", SAFETY_TITLE, SAFETY_BODY),
    ]:
        outcome = import_document(store, name, distributed(title, body).encode(), now=NOW)
        assert outcome.status == "imported", outcome
    return store
