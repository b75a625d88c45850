import importlib.util

from .transforms import ColorJitter, PCALighting

__all__ = ['ColorJitter', 'PCALighting']

if importlib.util.find_spec('mmseg') is not None:  # segmentation data: mmseg modules
    from .camvid import CamVidDataset  # noqa: F401
    from .seg_loading import LoadSegAnnotations  # noqa: F401
    __all__ += ['CamVidDataset', 'LoadSegAnnotations']
