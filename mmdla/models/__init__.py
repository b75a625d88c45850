import importlib.util

from . import checkpoints  # noqa: F401  (registers the backbone's strict Pretrained init)
from . import checkpoint_io, hub  # noqa: F401  (MMEngine loaders: any layout, hub names)
from .backbones import DLA

__all__ = ['DLA']

if importlib.util.find_spec('mmseg') is not None:  # decode heads are mmseg modules
    from .decode_heads import DLAUp, DLAUpHead, IDAUp  # noqa: F401
    from .segmentors import DLASegTTAModel  # noqa: F401
    __all__ += ['DLAUp', 'DLAUpHead', 'IDAUp', 'DLASegTTAModel']

if importlib.util.find_spec('mmdet') is not None:  # the CenterNet neck is an mmdet module
    from .detectors import CenterNetTTAModel  # noqa: F401
    from .necks import CenterNetDLANeck  # noqa: F401
    __all__ += ['CenterNetDLANeck', 'CenterNetTTAModel']
