"""CamVid (11 classes) for MMSegmentation, the split used by the DLA paper (SegNet's).

Layout written by ``tools/dataset_converters/camvid.py``::

    data/camvid/img_dir/{train,val,test}/*.png      RGB frames (960x720)
    data/camvid/ann_dir/{train,val,test}/*.png      labels 0..10, void = 255

367 train / 101 val / 233 test images. Class order and palette are SegNet's.
"""
from mmseg.datasets import BaseSegDataset

from mmdla.registry import DATASETS


@DATASETS.register_module(libraries=('mmseg', ))
class CamVidDataset(BaseSegDataset):
    """CamVid semantic segmentation: 11 classes, void (SegNet's label 11) mapped to 255."""

    METAINFO = dict(
        classes=('sky', 'building', 'pole', 'road', 'sidewalk', 'tree', 'sign', 'fence', 'car',
                 'pedestrian', 'bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [0, 0, 192],
                 [128, 128, 0], [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0],
                 [0, 128, 192]])

    def __init__(self, img_suffix='.png', seg_map_suffix='.png', **kwargs):
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)
