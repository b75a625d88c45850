from .camvid import CamVidDataset
from .transforms import ColorJitter

__all__ = ['CamVidDataset', 'ColorJitter']
