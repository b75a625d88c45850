"""Registration of mmdla modules in the registries of the installed OpenMMLab libraries.

mmdla serves two downstream libraries: MMPretrain (classification) and MMSegmentation
(segmentation). A backbone is registered in both ``MODELS`` registries; each registration
is attempted on its own so mmdla works with only one of the two installed.
"""
import importlib
from typing import Iterable, List

from mmengine.registry import Registry

#: downstream library -> its registry module
LIBRARIES = {'mmpretrain': 'mmpretrain.registry', 'mmseg': 'mmseg.registry'}


def installed_registries(name: str, libraries: Iterable[str] = tuple(LIBRARIES)
                         ) -> List[Registry]:
    """The registries called ``name`` (e.g. 'MODELS') of those ``libraries`` installed."""
    registries = []
    for library in libraries:
        try:
            module = importlib.import_module(LIBRARIES[library])
        except ImportError:
            continue
        registries.append(getattr(module, name))
    return registries


def register(cls, registry: str = 'MODELS', libraries: Iterable[str] = tuple(LIBRARIES)):
    """Register ``cls`` in the ``registry`` (MODELS, DATASETS, TRANSFORMS ...) of every
    installed library in ``libraries``; returns ``cls``."""
    for reg in installed_registries(registry, libraries):
        reg.register_module(module=cls)
    return cls
