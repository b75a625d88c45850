"""mmdla: Deep Layer Aggregation for OpenMMLab.

Importing this package (directly or via ``custom_imports=dict(imports=['mmdla'])`` in a
config) applies the small compatibility fixes in :mod:`mmdla.compat` and registers every
mmdla module in the mmpretrain and mmseg registries that are installed.
"""
import importlib.util

from . import compat  # noqa: F401  (must run before torchvision is first imported)
from . import engine, models  # noqa: F401  (registers the models and wrappers)
from .version import __version__

if importlib.util.find_spec('mmseg') is not None:
    from . import datasets  # noqa: F401  (CamVid, ColorJitter: mmseg registries)

__all__ = ['__version__']
