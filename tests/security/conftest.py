"""The worlds (tests/security/matrix.py), built once per test session and state."""

import pytest

from tests.security.matrix import World, build_world


@pytest.fixture(scope="session")
def worlds(template_database, tmp_path_factory):
    """state → World, built on first use."""
    template, _ = template_database
    built = {}

    def get(state: str) -> World:
        if state not in built:
            built[state] = build_world(template, tmp_path_factory.mktemp(f"world-{state}"), state)
        return built[state]

    return get
