"""Shared test set-up: mmdla first (its compat fixes must precede torchvision)."""
import os

# No test reaches the network: checkpoints named on the Hugging Face Hub come from a cache a
# test builds (tests/fake_hub.py); a test of the download path sets HF_HUB_OFFLINE=0 itself.
os.environ['HF_HUB_OFFLINE'] = '1'

import mmdla  # noqa: E402,F401

# isort: split
import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from tests.helpers import managed_classes  # noqa: E402

# Create MMEngine's global logger now, bound to the session's stdout: created inside a test
# that captures output (capsys) it would keep writing to that test's closed stream.
MMLogger.get_instance('mmengine')

# The README runs the suite in two pytest-xdist workers (`-n 2 --dist loadfile`: each test
# module in one worker, so its module fixtures run once). Keep torch from oversubscribing the
# cores: each worker, and the tools it starts in subprocesses, get cores / workers threads.
WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
THREADS = int(os.environ.get('MMDLA_TEST_THREADS', max(1, (os.cpu_count() or 1) // WORKERS)))
torch.set_num_threads(THREADS)
if WORKERS > 1:
    os.environ.setdefault('OMP_NUM_THREADS', str(THREADS))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes more than ~20 s (still run in CI)')


#: the longest modules, longest first (measured: pytest --durations=0 summed per module, 60-170
#: s each in a worker); the others follow in file order
LONGEST_MODULES = ('test_toy_segmentation', 'test_toy_detection', 'test_toy_two_stage',
                   'test_smoke', 'test_deployment', 'test_tool_matrix', 'test_fast_defaults',
                   'test_resume_dist', 'test_model_zoo', 'test_packaging', 'test_converter',
                   'test_toy_classification')


def pytest_collection_modifyitems(config, items):
    """pytest-xdist (--dist loadfile) hands the modules to the workers in this order: the
    longest first, so that no worker is left alone with a long one at the end."""

    def rank(item):
        name = item.module.__name__.rsplit('.', 1)[-1]
        return LONGEST_MODULES.index(name) if name in LONGEST_MODULES else len(LONGEST_MODULES)

    items.sort(key=rank)  # (stable: within a rank, file order)


@pytest.fixture(scope='session')
def toy_det_data(tmp_path_factory):
    """The toy scenes with boxes (tools/misc/make_toy_data.py --task det --seed 0), made
    once per session for the detection modules (test_toy_detection, test_toy_two_stage;
    ~12 s): under pytest-xdist in the workers' shared temporary directory, by the first
    worker to ask (a file lock), else in this session's. Read-only for the tests."""
    from filelock import FileLock

    from tests.helpers import run_tool_main
    base = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        base = base.parent  # (pytest-N/popen-gwK: pytest-N is this session's, shared)
    data = base / 'toy_det_seed0'
    with FileLock(str(data) + '.lock'):
        if not (data / 'done').is_file():
            run_tool_main('tools/misc/make_toy_data.py', data, '--task', 'det', '--seed', '0')
            (data / 'done').write_text('')
    return data


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
            if isinstance(handler, logging.StreamHandler) and getattr(handler.stream, 'closed',
                                                                      False):
                handler.stream = sys.stdout  # (setStream would flush the closed one)


@pytest.fixture(autouse=True)
def _drop_new_global_instances():
    """MMEngine keeps global instances by name: ``init_model`` (like mmseg's and mmdet's)
    sets the default scope (e.g. to mmdet), and a tool run in-process leaves its visualizer
    ('visualizer'), which a later Runner in this process would reuse with that test's
    directories. Drop the ones a test created so that tests do not depend on their order.
    (Module fixtures run before this; tools they run go through run_tool_main.)"""
    before = {cls: set(cls._instance_dict) for cls in managed_classes()}
    yield
    for cls in managed_classes():
        for name in set(cls._instance_dict) - before.get(cls, set()):
            cls._instance_dict.pop(name)
