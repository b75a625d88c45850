"""The downstream OpenMMLab libraries mmdla works in: one row per library (= per task).

Everything mmdla and its tools know about a library is in :data:`LIBRARIES`: the
``default_scope`` of its configs, its registry module, the pip package and the mmdla extra
that installs it, the task, the visualizer its tools draw with and the default input size
of each measuring or exporting tool
(and the benchmark's default batch). A new task is one new row.

This module is a leaf (it imports only :mod:`mmdla.errors`): nothing here imports a
library, so the table can be read whatever is installed.

Example:
    >>> from mmdla.libraries import library_of
    >>> library_of('mmseg').task
    'segmentation'
    >>> library_of('mmdet').shapes['complexity']
    (512, 512)
"""
import importlib.util
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from mmdla.errors import ConfigInputError, MissingPackageError

__all__ = ['Library', 'LIBRARIES', 'IMAGE_TASKS', 'library_of', 'require_installed']

#: what each entry of :attr:`Library.shapes` is the default input (H, W) of
SHAPE_PURPOSES = ('complexity', 'benchmark', 'export')


@dataclass(frozen=True)
class Library:
    """One downstream library and the task its configs describe."""
    scope: str  #: ``default_scope`` of its configs and its Python package, e.g. 'mmseg'
    package: str  #: pip distribution, e.g. 'mmsegmentation'
    extra: str  #: mmdla's pip extra that installs it (setup.py), e.g. 'seg'
    task: str  #: 'classification', 'segmentation', 'detection' or 'mono3d'
    visualizer: str  #: the library's visualizer class (browse_dataset.py, the demo)
    #: default input (H, W) per tool purpose: ``complexity`` (get_flops.py, the model zoo:
    #: the size the papers' GMACs are given at), ``benchmark`` (benchmark.py) and ``export``
    #: (the deployment tools)
    shapes: Mapping[str, Tuple[int, int]]
    benchmark_batch: int  #: default batch of benchmark.py (at its ``benchmark`` shape)
    install: str = ''  #: how to install it where ``pip install 'mmdla[extra]'`` is not enough

    @property
    def registry(self) -> str:
        """The module holding the library's registries (``MODELS``, ``DATASETS`` ...)."""
        return f'{self.scope}.registry'

    @property
    def install_hint(self) -> str:
        return self.install or f"pip install 'mmdla[{self.extra}]'"

    def installed(self) -> bool:
        """Whether the library can be imported (without importing it)."""
        return importlib.util.find_spec(self.scope) is not None


def _same(shape: Tuple[int, int]) -> Dict[str, Tuple[int, int]]:
    return {purpose: shape for purpose in SHAPE_PURPOSES}


#: scope -> :class:`Library`, in the order mmdla registers into them
LIBRARIES: Dict[str, Library] = {
    lib.scope: lib
    for lib in (
        Library('mmpretrain', 'mmpretrain', 'cls', 'classification', 'UniversalVisualizer',
                _same((224, 224)), 8),
        Library('mmseg', 'mmsegmentation', 'seg', 'segmentation', 'SegLocalVisualizer',
                dict(complexity=(1024, 2048), benchmark=(512, 1024), export=(512, 1024)), 2),
        Library('mmdet', 'mmdet', 'det', 'detection', 'DetLocalVisualizer', _same((512, 512)), 2),
        # NOTE: mmdet3d 1.4.0 declares dependencies (open3d, an older numpy, ...) that its model
        # and data code never import and that do not install beside this stack: --no-deps.
        Library(
            'mmdet3d',
            'mmdet3d',
            'det3d',
            'mono3d',
            'Det3DLocalVisualizer',
            _same((384, 1280)),
            1,
            install="pip install 'mmdla[det3d]' && pip install --no-deps mmdet3d==1.4.0 "
            'lyft_dataset_sdk==0.0.8 nuscenes-devkit==1.2.0'),
    )
}

#: the tasks of the image tools (export, benchmark, complexity, demo, browse_dataset):
#: everything but monocular 3D detection, whose inputs carry camera calibration
IMAGE_TASKS = ('classification', 'segmentation', 'detection')


def library_of(config_or_scope: Union[str, Mapping],
               what: str = 'the mmdla tools',
               tasks: Optional[Sequence[str]] = None) -> Library:
    """The :class:`Library` of a scope name or of a config (its ``default_scope``); a
    :class:`~mmdla.errors.ConfigInputError` for any other scope, or for a library whose task
    is not one of ``tasks`` (when given: what ``what`` supports)."""
    scope = (
        config_or_scope
        if isinstance(config_or_scope, str) else config_or_scope.get('default_scope'))
    if scope not in LIBRARIES:
        raise ConfigInputError(f'default_scope is {scope!r}; {what} run configs of '
                               f'{", ".join(LIBRARIES)}')
    library = LIBRARIES[scope]
    if tasks is not None and library.task not in tasks:
        raise ConfigInputError(
            f'{what}: {library.task} ({scope}) configs are not supported, only '
            f'{", ".join(tasks)} ones (train and test {library.task} models with '
            'tools/train.py and tools/test.py)')
    return library


def require_installed(library: Library, what: str) -> Library:
    """``library`` if it is installed, else a :class:`~mmdla.errors.MissingPackageError`:
    "``what`` but <package> is not installed: pip install ..." (``what`` e.g.
    "configs/x.py is a mmdet config")."""
    if not library.installed():
        raise MissingPackageError(f'{what} but {library.package} is not installed: '
                                  f'{library.install_hint}')
    return library
