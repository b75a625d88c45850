"""mmdla: Deep Layer Aggregation for OpenMMLab.

Importing this package (directly or via ``custom_imports=dict(imports=['mmdla'])`` in a
config) applies the small compatibility fixes in :mod:`mmdla.compat` and registers every
mmdla module in the mmpretrain and mmseg registries that are installed.
``mmdla.apis.init_model`` gives any config's model ready (and optimised) for inference.
"""
from . import compat  # noqa: F401  (must run before torchvision is first imported)

# isort: split
from . import datasets, engine, models  # noqa: F401  (registers everything)
from .version import __version__

__all__ = ['__version__']
