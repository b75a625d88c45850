import importlib.util

from .transforms import ColorJitter, PCALighting

__all__ = ['ColorJitter', 'PCALighting']

if importlib.util.find_spec('mmseg') is not None:
    from .camvid import CamVidDataset  # noqa: F401
    __all__ += ['CamVidDataset']
