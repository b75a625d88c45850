"""Shared test set-up: mmdla first (its compat fixes must precede torchvision)."""
import os

import mmdla  # noqa: F401
import pytest
import torch
from mmengine.logging import MMLogger

# Create MMEngine's global logger now, bound to the session's stdout: created inside a test
# that captures output (capsys) it would keep writing to that test's closed stream.
MMLogger.get_instance('mmengine')

# Two cores: keep torch from oversubscribing when pytest-xdist is not used.
torch.set_num_threads(int(os.environ.get('MMDLA_TEST_THREADS', '2')))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes more than ~20 s (still run in CI)')


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _rebind_closed_log_streams():
    """Runners built inside a test (e.g. by calling a tool's main() under capsys) create
    MMEngine loggers bound to that test's captured stream; once the test ends the stream is
    closed and later 'current'-logger messages would fail. Rebind those handlers."""
    yield
    import logging
    import sys
    for logger in MMLogger._instance_dict.values():
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(
                    handler.stream, 'closed', False):
                handler.stream = sys.stdout  # (setStream would flush the closed one)


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """``init_model`` (like mmseg's and mmdet's) sets MMEngine's global default scope, e.g.
    to mmdet; drop the scopes a test created so that tests do not depend on their order."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in [n for n in DefaultScope._instance_dict if n not in before]:
        DefaultScope._instance_dict.pop(name)
