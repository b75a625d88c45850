"""Packaging for OpenMMLab's ``mim``: setup.py puts configs/, tools/, demo/ and
model-index.yml under ``mmdla/.mim`` - symlinks for the editable install, copies in wheels
and sdists - and ``mim search / train / test mmdla`` use them.

mim 0.3.9 finds a package at ``<distribution location>/mmdla``. For a PEP 660 editable
install that location is site-packages (where mmdla is not), so with the editable
checkout mim is run with ``PYTHONPATH=<checkout>``: the distribution is then the
checkout's ``mmdla.egg-info`` and mim reads ``<checkout>/mmdla/.mim``. A wheel install needs
nothing (here: the wheel unpacked into a directory put on PYTHONPATH, the venv untouched).
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, data_root_options, run_tool_main

MIM = str(Path(sys.executable).parent / 'mim')
MIM_FILES = ('configs', 'tools', 'demo', 'model-index.yml')
#: a sample of what the wheel must hold under mmdla/.mim (configs, their bases, metafiles)
PACKAGED = ('configs/dla34_toy.py', 'configs/_base_/models/dla_up.py',
            'configs/metafile_classification.yml', 'configs/metafile_segmentation.yml',
            'tools/train.py', 'tools/test.py', 'tools/dist_train.sh',
            'tools/dataset_converters/cityscapes.py', 'demo/image_demo.py', 'model-index.yml')
#: checkout entries a build does not need
NOT_COPIED = {'.git', '.venv', 'build', 'dist', 'data', 'work_dirs', 'tests', '.pytest_cache'}


def run(cmd, cwd, pythonpath=None, timeout=600):
    env = dict(os.environ)
    if pythonpath:
        env['PYTHONPATH'] = str(pythonpath)
    proc = subprocess.run([str(c) for c in cmd],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def copy_checkout(dst: Path) -> Path:
    """The checkout's sources without build state (.mim, egg-info, caches, venv)."""

    def ignore(folder, names):
        top = NOT_COPIED if Path(folder) == ROOT else set()
        return [
            n for n in names if n in top or n in ('__pycache__', '.mim') or n.endswith('.egg-info')
        ]

    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)
    return dst


def load_setup(src: Path):
    spec = importlib.util.spec_from_file_location('mmdla_setup', src / 'setup.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # (setup() itself only runs as __main__)
    return module


def test_editable_install_links_mim_files():
    """tools/setup_env.sh's ``pip install -e .``: symlinks into the checkout."""
    mim_dir = ROOT / 'mmdla' / '.mim'
    assert mim_dir.is_dir(), 'no mmdla/.mim: re-run pip install --no-deps -e .'
    for name in MIM_FILES:
        assert (mim_dir / name).is_symlink(), name
        assert (mim_dir / name).resolve() == ROOT / name
    assert 'mmdla/.mim' in (ROOT / '.gitignore').read_text().split()


def test_install_mode():
    setup = load_setup(ROOT)
    argv = {
        'develop': ['setup.py', 'develop'],  # legacy pip install -e
        'pep660': ['setup.py', 'editable_wheel', '--dist-info-dir', 'OUT'],
        'wheel': ['setup.py', 'bdist_wheel', '--dist-dir', 'OUT'],
        'sdist': ['setup.py', 'sdist'],
        'metadata': ['setup.py', 'egg_info'],
        'dist_info': ['setup.py', 'dist_info']
    }
    assert {
        k: setup.mim_install_mode(v)
        for k, v in argv.items()
    } == {
        'develop': 'symlink',
        'pep660': 'symlink',
        'wheel': 'copy',
        'sdist': 'copy',
        'metadata': None,
        'dist_info': None
    }


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """A wheel and an sdist built from a copy of the checkout (the checkout's own
    mmdla/.mim is left alone), and a wheel built from that sdist."""
    tmp = tmp_path_factory.mktemp('packaging')
    src = copy_checkout(tmp / 'src')
    with load_setup(src).mim_extension(['develop']):  # as an editable install leaves it
        pass
    pip_wheel = [
        sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-cache-dir',
        '-q'
    ]
    run([*pip_wheel, src, '-w', tmp / 'wheel'], cwd=tmp)
    links_after_wheel = {n: os.readlink(src / 'mmdla/.mim' / n) for n in MIM_FILES}
    run([sys.executable, 'setup.py', '-q', 'sdist', '-d', tmp / 'sdist'], cwd=src)
    sdist = next((tmp / 'sdist').glob('mmdla-*.tar.gz'))
    run([*pip_wheel, sdist, '-w', tmp / 'from_sdist'], cwd=tmp)
    return dict(
        tmp=tmp,
        src=src,
        wheel=next((tmp / 'wheel').glob('mmdla-*.whl')),
        sdist=sdist,
        wheel_from_sdist=next((tmp / 'from_sdist').glob('*.whl')),
        links_after_wheel=links_after_wheel)


def test_wheel_and_sdist_hold_mim_files(built):
    src = built['src']  # (what was built: the checkout may change meanwhile)
    for wheel in (built['wheel'], built['wheel_from_sdist']):
        with zipfile.ZipFile(wheel) as z:
            names = set(z.namelist())
            for rel in PACKAGED:
                assert f'mmdla/.mim/{rel}' in names, (wheel.name, rel)
                assert z.read(f'mmdla/.mim/{rel}') == (src / rel).read_bytes(), rel
            n_configs = sum(n.startswith('mmdla/.mim/configs/') for n in names)
            assert n_configs == sum(1 for p in (src / 'configs').rglob('*')
                                    if p.suffix in ('.py', '.yml'))
            assert not any('__pycache__' in n or n.endswith('.pyc') for n in names)
    with tarfile.open(built['sdist']) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
    assert {f'mmdla/.mim/{rel}' for rel in PACKAGED} <= names
    assert 'requirements/runtime.txt' in names and 'MANIFEST.in' in names
    # the copies a build makes are put back to the editable install's symlinks
    assert built['links_after_wheel'] == {n: f'../../{n}' for n in MIM_FILES}
    for name in MIM_FILES:
        assert os.readlink(built['src'] / 'mmdla/.mim' / name) == f'../../{name}'


@pytest.mark.slow
def test_mim_on_the_wheel(built):
    """mim search / train resolve mmdla/.mim of an installed wheel (unpacked on PYTHONPATH);
    train hands its arguments to the packaged tool (``-- -h`` here)."""
    site = built['tmp'] / 'site'
    with zipfile.ZipFile(built['wheel']) as z:
        z.extractall(site)
    out = run([MIM, 'search', 'mmdla'], cwd=built['tmp'], pythonpath=site)
    assert 'config id: dla34_imagenet' in out and 'config id: dla34up_cityscapes' in out
    assert 'config id: centernet_dla34_coco_1x' in out and 'dla169up_cityscapes' in out

    mim_dir = site / 'mmdla' / '.mim'
    out = run([MIM, 'train', 'mmdla', 'dla34_toy.py', '--gpus', '0', '--', '-h'],
              cwd=built['tmp'],
              pythonpath=site)
    assert (f"{mim_dir / 'tools/train.py'} {mim_dir / 'configs/dla34_toy.py'} "
            '--launcher none -h') in out
    assert 'Train a DLA model' in out  # our tools/train.py's help
    # (mim test finds tools/test.py the same way: run for real in the editable test below)


@pytest.mark.slow
def test_mim_train_and_test_editable(tmp_path):
    """``mim train`` then ``mim test`` on the editable checkout (tiny toy run)."""
    assert (ROOT / 'mmdla.egg-info').is_dir(), 're-run pip install --no-deps -e .'
    data, work = tmp_path / 'toy', tmp_path / 'work'
    run_tool_main('tools/misc/make_toy_data.py', data, '--num-train', '2', '--num-val', '1')
    options = ['--cfg-options', *data_root_options(data)]
    out = run([
        MIM, 'train', 'mmdla', 'dla34_toy.py', '--gpus', '0', '--work-dir', work, *options,
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'
    ],
              cwd=tmp_path,
              pythonpath=ROOT)
    assert (f"{ROOT / 'mmdla/.mim/tools/train.py'} {ROOT / 'configs/dla34_toy.py'} "
            f'--launcher none --work-dir {work}') in out
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'iter_2.pth')
    assert (work / 'iter_2.pth').stat().st_size > 1e6

    out = run([
        MIM, 'test', 'mmdla', 'dla34_toy.py', '--checkpoint', work / 'iter_2.pth', '--work-dir',
        work / 'test', *options
    ],
              cwd=tmp_path,
              pythonpath=ROOT)
    assert f"{ROOT / 'mmdla/.mim/tools/test.py'}" in out and 'mIoU' in out
    metrics = json.loads((work / 'test' / 'metrics.json').read_text())
    assert 0 <= metrics['mIoU'] <= 100 and 0 < metrics['aAcc'] <= 100
