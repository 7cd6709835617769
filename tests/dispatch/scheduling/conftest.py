"""The scheduling tests run jobs inline (in the request's thread, right after the commit):
the test's sessions share one connection, which threads must not use at the same time.
tests/dispatch/scheduling/test_runner_threads.py runs them on real threads."""

from __future__ import annotations

import pytest

from dispatch.scheduling.runs import JobRunner


@pytest.fixture
def app(app, sessions, clock, settings):
    app.state.runner = JobRunner(sessions, clock, settings, workers=0, heartbeat_s=0.2,
                                 events=app.state.events)
    return app
