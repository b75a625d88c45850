"""The repository's structure: self-contained, cycle-free, one error hierarchy, tools that
import the installed package, registration by decorator, optional downstream libraries."""
import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mmdla
from mmdla import errors
from tests.helpers import ROOT

PACKAGE = ROOT / 'mmdla'


def tracked_files():
    out = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return [ROOT / f for f in out if not f.startswith('.ci/') and (ROOT / f).is_file()]


def test_no_file_refers_outside_the_repository():
    # the same patterns as the check (written split so this file does not match)
    patterns = ['../' + 'shared', 'shared/' + 'spec', 'see ' + 'NOTES']
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        offenders += [f'{path.relative_to(ROOT)}: {p}' for p in patterns if p in text]
    assert not offenders, offenders


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path, modules: set) -> set:
    """mmdla modules ``path`` imports anywhere (function-local imports included)."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')
                anchor = anchor[:len(anchor) - node.level + 1]
                base = '.'.join(anchor + ([base] if base else []))
            # 'from pkg import sub' imports the submodule pkg.sub when there is one
            targets = [
                f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base for a in node.names
            ]
        else:
            continue
        found |= {t for t in targets if t in modules}
    return found - {name}


def test_no_import_cycles_in_the_package():
    files = sorted(PACKAGE.rglob('*.py'))
    modules = {module_name(f) for f in files}
    graph = {module_name(f): imported_modules(f, modules) for f in files}
    assert graph['mmdla.models.converters'] >= {'mmdla.models.backbones.dla'}
    assert not any(m.startswith('mmdla.models') for m in graph['mmdla.utils.state_dict'])

    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 'active'
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 'active':
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, '\n'.join(' -> '.join(c) for c in cycles)


def test_tools_and_demo_import_the_installed_package():
    scripts = list((ROOT / 'tools').rglob('*.py')) + list((ROOT / 'demo').rglob('*.py'))
    assert len(scripts) >= 12
    for script in scripts:
        text = script.read_text()
        assert 'sys.path' not in text and 'E402' not in text, script


def test_the_package_is_a_library_and_the_cli_layer_is_apart():
    """Argument parsing, printing and exit codes live in the tools and mmdla/cli.py only;
    no library module imports mmdla.cli (so the library never depends on a command line)."""
    files = sorted(PACKAGE.rglob('*.py'))
    modules = {module_name(f) for f in files}
    for path in files:
        if path.name == 'cli.py':
            continue
        text = path.read_text()
        calls = {
            node.func.id
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert 'print' not in calls, path
        assert 'import argparse' not in text and 'sys.exit' not in text, path
        assert 'mmdla.cli' not in imported_modules(path, modules), path


def test_test_modules_stand_alone():
    """No test module imports another one (shared code lives in tests/helpers.py), and no
    module-level name other than a test function or class starts with ``test``."""
    for path in sorted((ROOT / 'tests').glob('test_*.py')):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith('tests.test_'), (path, node.module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith('tests.test_') for a in node.names), path
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            assert not any(n.startswith('test') for n in names), (path, names)


def test_every_error_class_of_the_package_is_an_input_error_or_none():
    """mmdla defines exceptions only in mmdla/errors.py, all under InputError."""
    for path in PACKAGE.rglob('*.py'):
        tree = ast.parse(path.read_text())
        classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        errors_here = [
            c.name for c in classes if any(
                getattr(b, 'id', getattr(b, 'attr', '')).endswith(('Error', 'Exception'))
                for b in c.bases)
        ]
        if path.name != 'errors.py':
            assert not errors_here, (path, errors_here)
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.InputError), name


def test_classes_are_registered_by_decorator_in_every_library():
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmpretrain.registry import TRANSFORMS as CLS_TRANSFORMS
    from mmseg.registry import DATASETS, MODELS, TRANSFORMS

    from mmdla.datasets import CamVidDataset, ColorJitter, LoadSegAnnotations, PCALighting
    from mmdla.models import DLA, DLASegTTAModel, DLAUpHead
    assert MODELS.get('DLA') is DLA and CLS_MODELS.get('DLA') is DLA
    assert MODELS.get('DLAUpHead') is DLAUpHead and MODELS.get('DLASegTTAModel') is DLASegTTAModel
    assert DATASETS.get('CamVidDataset') is CamVidDataset
    assert TRANSFORMS.get('LoadSegAnnotations') is LoadSegAnnotations
    assert TRANSFORMS.get('ColorJitter') is ColorJitter
    assert TRANSFORMS.get('PCALighting') is PCALighting
    assert CLS_TRANSFORMS.get('PCALighting') is PCALighting
    from mmdet.registry import MODELS as DET_MODELS

    from mmdla.models import CenterNetDLANeck
    assert DET_MODELS.get('DLA') is DLA and DET_MODELS.get('CenterNetDLANeck') is CenterNetDLANeck
    sources = '\n'.join(p.read_text() for p in PACKAGE.rglob('*.py'))
    assert 'register(' not in sources.replace('.register_module(', '')


def run_without(libraries, code):
    """Run ``code`` in a fresh interpreter where ``libraries`` cannot be imported."""
    blocker = ''.join(f'sys.modules[{lib!r}] = None\n' for lib in libraries)
    script = 'import sys\n' + blocker + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, '-c', script],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_works_without_mmsegmentation():
    out = run_without(['mmseg'], """
        import mmdla, torch
        import mmdla.models, mmdla.datasets
        from mmpretrain.registry import MODELS, TRANSFORMS
        assert MODELS.get('DLA') is mmdla.models.DLA
        assert TRANSFORMS.get('PCALighting') is mmdla.datasets.PCALighting
        assert not hasattr(mmdla.models, 'DLAUpHead')
        from mmdla.engine import load_config
        from mmdla.errors import MissingPackageError
        try:
            load_config('configs/dla34_toy.py')
        except MissingPackageError as exc:
            print(exc)
        model = MODELS.build(dict(type='DLA', arch='dla34', out_indices=(5, )))
        print(tuple(model(torch.zeros(1, 3, 64, 64))[0].shape))
    """)
    assert "mmsegmentation is not installed: pip install 'mmdla[seg]'" in out
    assert '(1, 512, 2, 2)' in out


@pytest.mark.slow
def test_works_without_mmpretrain():
    out = run_without(['mmpretrain'], """
        import mmdla, torch
        from mmdla.models import DLA, DLAUpHead
        from mmseg.registry import MODELS
        assert MODELS.get('DLA') is DLA and MODELS.get('DLAUpHead') is DLAUpHead
        from mmdla.engine import load_config
        from mmdla.errors import MissingPackageError
        try:
            load_config('configs/dla34_imagenet.py')
        except MissingPackageError as exc:
            print(exc)
    """)
    assert "mmpretrain is not installed: pip install 'mmdla[cls]'" in out


@pytest.mark.slow
def test_works_without_mmdet():
    out = run_without(['mmdet'], """
        import mmdla
        import mmdla.models
        assert not hasattr(mmdla.models, 'CenterNetDLANeck')
        from mmseg.registry import MODELS
        assert MODELS.get('DLA') is mmdla.models.DLA
        from mmdla.engine import load_config
        from mmdla.errors import MissingPackageError
        try:
            load_config('configs/centernet_dla34_toy.py')
        except MissingPackageError as exc:
            print(exc)
    """)
    assert "mmdet is not installed: pip install 'mmdla[det]'" in out


@pytest.mark.slow
def test_works_without_mmdet3d():
    out = run_without(['mmdet3d'], """
        import mmdla
        import mmdla.models
        from mmdet.registry import MODELS
        assert MODELS.get('CenterNetDLANeck') is mmdla.models.CenterNetDLANeck
        from mmdla.engine import load_config
        from mmdla.errors import MissingPackageError
        try:
            load_config('configs/smoke_dla34_kitti-mono3d.py')
        except MissingPackageError as exc:
            print(exc)
    """)
    assert "mmdet3d is not installed: pip install 'mmdla[det3d]' && pip install --no-deps" in out


@pytest.mark.slow
def test_backbone_works_without_either_library():
    out = run_without(['mmseg', 'mmpretrain'], """
        import torch
        import mmdla
        from mmdla.models import DLA
        print(tuple(DLA('dla46_c').eval()(torch.zeros(1, 3, 32, 32))[-1].shape))
    """)
    assert '(1, 256, 1, 1)' in out


def test_version_and_license():
    assert mmdla.__version__
    setup = (ROOT / 'setup.py').read_text()
    assert "license='Apache License 2.0'" in setup
    assert (ROOT / 'LICENSE').read_text().lstrip().startswith('Apache License')


@pytest.mark.parametrize('module', [
    'mmdla.models.backbones.dla', 'mmdla.models.necks.centernet_dla_neck',
    'mmdla.models.decode_heads.dla_up_head'
])
def test_docstring_examples_run(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0
