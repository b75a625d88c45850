"""Label-map loading for mmseg that fails clearly on bad files."""
from typing import Optional

from mmseg.datasets.transforms import LoadAnnotations

from mmdla.errors import DataError
from mmdla.registry import TRANSFORMS
from mmdla.utils.labels import check_labels


@TRANSFORMS.register_module(libraries=('mmseg', ))
class LoadSegAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that fails clearly on bad label maps.

    Raises :class:`~mmdla.errors.DataError` naming the file for a label map that cannot be
    decoded, whose size differs from its image's, or (with ``num_classes``) that holds a
    value outside ``0 .. num_classes - 1`` other than ``ignore_index`` - which would
    otherwise crash deep in the loss or silently skew the metrics. Used by all mmdla
    segmentation configs in place of ``LoadAnnotations``; without a ``seg_map_path``
    (inference on a bare image) it does nothing.
    """

    def __init__(self, num_classes: Optional[int] = None, ignore_index: int = 255, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.ignore_index = num_classes, ignore_index

    def transform(self, results: dict) -> dict:
        if results.get('seg_map_path') is None:  # inference (demo, inferencer): no labels
            return results
        return super().transform(results)

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        try:
            super()._load_seg_map(results)
        except Exception as exc:
            raise DataError(f'cannot read label map {path} ({type(exc).__name__}): the file '
                            'is corrupt or not an image') from None
        seg = results['gt_seg_map']
        size = tuple(results.get('ori_shape') or results['img'].shape)[:2]
        if seg.shape[:2] != size:
            raise DataError(f'label map {path} is {seg.shape[0]}x{seg.shape[1]} but its image '
                            f"{results.get('img_path')} is {size[0]}x{size[1]}")
        if self.num_classes is not None:
            check_labels(seg, self.num_classes, self.ignore_index, f'label map {path}',
                         'convert the labels to training ids (tools/dataset_converters/)')

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
