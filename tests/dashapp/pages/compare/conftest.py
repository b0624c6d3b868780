"""Fixtures of the Compare page's tests: the session's customer table, its tree and the
comparison at k = 5 (default data and settings)."""

from __future__ import annotations

import pytest

from core.pipeline import CustomerTable
from dashapp.pages.compare import view as cm
from dashapp.services import AppServices
from dashapp.shared.loading import session_table
from dashapp.state import SessionState


@pytest.fixture
def table(state: SessionState, services: AppServices) -> CustomerTable:
    return session_table(state, services)


@pytest.fixture
def tree(table: CustomerTable, state: SessionState, services: AppServices) -> cm.TreeFit:
    return cm.tree_fit(table, cm.compare_settings(state), services.cache)


@pytest.fixture
def cmp5(table: CustomerTable, state: SessionState, services: AppServices) -> cm.CutComparison:
    return cm.compare_at(table, cm.compare_settings(state), 5, services, state)
