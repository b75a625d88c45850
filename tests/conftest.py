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
