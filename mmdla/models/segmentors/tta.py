"""The DLA paper's multi-scale test as an MMEngine TTA model.

Paper / official ``segment.py``: for each scale (0.5, 0.75, 1, 1.25, 1.5) the network's
log-softmax output is resized to the image size and the maps are SUMMED; the prediction is
the argmax of the sum; no flipping. mmseg's ``SegTTAModel`` instead averages softmax
probabilities of logits that were first resized, so it is not used.

Use with ``tools/test.py CONFIG CKPT --tta``: the config's ``tta_pipeline`` produces one
view per scale (and per flip, with ``--tta-flip``); for each view this model runs the
segmentor once, takes the log-softmax at the view's resolution, lets the segmentor undo
padding / flip and resize it to the original image size (bilinear), and sums.
"""
from typing import List

import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.utils import SampleList

from mmdla.registry import MODELS


def log_softmax_channels(logits: torch.Tensor) -> torch.Tensor:
    """``torch.log_softmax(logits, dim=1)`` in the layout of ``logits``: for channels_last
    logits it runs over the contiguous last dim of the NHWC view, so the result stays
    channels_last and the resize and argmax after it stay in that layout (PyTorch's own
    kernel returns NCHW, whose channel argmax strides across memory)."""
    if logits.dim() == 4 and not logits.is_contiguous():
        return logits.permute(0, 2, 3, 1).log_softmax(-1).permute(0, 3, 1, 2)
    return torch.log_softmax(logits, dim=1)


@MODELS.register_module(libraries=('mmseg', ))
class DLASegTTAModel(BaseTTAModel):
    """Sum of per-view log-softmax maps at image resolution, then argmax."""

    def test_step(self, data):
        if isinstance(data, dict):
            views = [dict(zip(data, values)) for values in zip(*data.values())]
        else:
            views = list(data)
        predictions = []
        for view in views:
            predictions.append(self._view_log_softmax(view))
        return self.merge_preds(list(zip(*predictions)))

    def _view_log_softmax(self, view) -> SampleList:
        segmentor = self.module
        view = segmentor.data_preprocessor(view, False)
        samples = view['data_samples']
        logits = segmentor.inference(view['inputs'], [s.metainfo for s in samples])
        # postprocess_result removes padding, un-flips and resizes to the original size
        return segmentor.postprocess_result(log_softmax_channels(logits), samples)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        merged = []
        for views in data_samples_list:
            total = views[0].seg_logits.data  # this model's own buffer: summed in place
            for sample in views[1:]:
                total += sample.seg_logits.data
            result = views[0]  # keeps gt_sem_seg and the image's metainfo
            result.set_data({
                'seg_logits': PixelData(data=total),
                'pred_sem_seg': PixelData(data=total.argmax(0, keepdim=True))
            })
            merged.append(result)
        return merged
