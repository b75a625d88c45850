"""Registries of mmdla: each registers a class into the registry of the same name of every
installed downstream library (MMPretrain, MMSegmentation, MMDetection, MMDetection3D), used as
a decorator::

    @MODELS.register_module()                         # every library's MODELS
    class DLA(BaseModule): ...

    @MODELS.register_module(libraries=('mmseg', ))    # an mmseg-only module
    class DLAUpHead(BaseDecodeHead): ...

A library that is not installed is skipped, so mmdla works with any one alone. The
libraries are the rows of :data:`mmdla.libraries.LIBRARIES`.
"""
import importlib
from typing import Iterable, List, Optional

from mmengine.registry import Registry

from mmdla.libraries import LIBRARIES

__all__ = ['DownstreamRegistry', 'MODELS', 'DATASETS', 'TRANSFORMS']


def installed_registries(name: str, libraries: Iterable[str]) -> List[Registry]:
    """The registries called ``name`` of those ``libraries`` that are installed."""
    registries = []
    for library in libraries:
        try:
            module = importlib.import_module(LIBRARIES[library].registry)
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
