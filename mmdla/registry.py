"""Registries of mmdla: each registers a class into the registry of the same name of every
installed downstream library (MMPretrain, MMSegmentation, MMDetection), used as a decorator::

    @MODELS.register_module()                         # mmpretrain, mmseg and mmdet MODELS
    class DLA(BaseModule): ...

    @MODELS.register_module(libraries=('mmseg', ))    # an mmseg-only module
    class DLAUpHead(BaseDecodeHead): ...

A library that is not installed is skipped, so mmdla works with either one alone.
"""
import importlib
from typing import Iterable, List, Optional

from mmengine.registry import Registry

__all__ = ['LIBRARIES', 'EXTRAS', 'DownstreamRegistry', 'MODELS', 'DATASETS', 'TRANSFORMS']

#: downstream library -> its registry module
LIBRARIES = {'mmpretrain': 'mmpretrain.registry', 'mmseg': 'mmseg.registry',
             'mmdet': 'mmdet.registry'}
#: downstream library -> the pip extra of mmdla that installs it (setup.py)
EXTRAS = {'mmseg': 'seg', 'mmpretrain': 'cls', 'mmdet': 'det'}


def installed_registries(name: str, libraries: Iterable[str]) -> List[Registry]:
    """The registries called ``name`` of those ``libraries`` that are installed."""
    registries = []
    for library in libraries:
        try:
            module = importlib.import_module(LIBRARIES[library])
        except ImportError:
            continue
        registries.append(getattr(module, name))
    return registries


class DownstreamRegistry:
    """The registry ``name`` (MODELS, DATASETS, TRANSFORMS) of every installed library."""

    def __init__(self, name: str):
        self.name = name

    def register_module(self, libraries: Optional[Iterable[str]] = None):
        """A class decorator registering the class in ``libraries`` (default: all)."""
        libraries = tuple(LIBRARIES) if libraries is None else tuple(libraries)
        unknown = set(libraries) - set(LIBRARIES)
        if unknown:
            raise ValueError(f'unknown libraries {sorted(unknown)}; known: {list(LIBRARIES)}')

        def decorator(cls):
            for registry in installed_registries(self.name, libraries):
                registry.register_module(module=cls)
            return cls
        return decorator

    def __repr__(self):
        return f'DownstreamRegistry({self.name!r}, libraries={list(LIBRARIES)})'


MODELS = DownstreamRegistry('MODELS')
DATASETS = DownstreamRegistry('DATASETS')
TRANSFORMS = DownstreamRegistry('TRANSFORMS')
