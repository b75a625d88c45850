"""Small helpers shared by the tests."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool(relative_path: str):
    """Import a script under tools/ (not a package) as a module, e.g. to call its main()."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_root_options(root, loaders=('train_dataloader', 'val_dataloader',
                                      'test_dataloader')):
    """``--cfg-options`` items pointing the given dataloaders at ``root``."""
    return [f'{loader}.dataset.data_root={root}' for loader in loaders]


def run_and_expect_error(tool, argv, capsys):
    """Run a tool's main(argv); it must exit with code 2 and end stderr with one
    'error: ...' line and no traceback. Returns that line."""
    with pytest.raises(SystemExit) as info:
        tool.main(argv)
    assert info.value.code == 2
    stderr = capsys.readouterr().err
    assert 'Traceback' not in stderr, stderr
    err = stderr.strip().splitlines()[-1]  # (library warnings may come before it)
    assert err.startswith('error: '), stderr
    return err
