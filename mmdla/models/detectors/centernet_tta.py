"""CenterNet's own test-time augmentation (ctdet ``--flip_test --test_scales``) for mmdet.

For each view (one per test scale, from the config's ``tta_pipeline``) the image and its
horizontal mirror run as one batch; the heatmaps (after sigmoid) and the box sizes are
averaged with the mirrored view flipped back, the offsets are the unflipped view's
(CenterNet's ``ctdet`` detector). Each scale's top-k detections are mapped back to the
original image; with several scales they are merged per class by Gaussian soft-NMS
(sigma 0.5, scores above 0.001) and the best ``max_per_img`` are kept (CenterNet's
``merge_outputs``). mmdet's own CenterNet TTA instead flips in the pipeline and merges
boxes by NMS.
"""
from typing import List

import torch
from mmengine.model import BaseTTAModel

from mmdla.registry import MODELS


@MODELS.register_module(libraries=('mmdet', ))
class CenterNetTTAModel(BaseTTAModel):
    """Flip-averaged heatmaps per scale, scales merged by soft-NMS (see module docstring).

    Args:
        module: the CenterNet detector (config dict or built model).
        flip (bool): also run the mirrored image and average (CenterNet's flip test).
        soft_nms (dict): mmcv ``soft_nms`` arguments for merging several scales.
        max_per_img (int): detections kept per image (100, as CenterNet).
    """

    def __init__(self,
                 module,
                 flip: bool = True,
                 soft_nms: dict = dict(
                     iou_threshold=0.5, sigma=0.5, min_score=1e-3, method='gaussian'),
                 max_per_img: int = 100,
                 data_preprocessor=None):
        super().__init__(module, data_preprocessor)
        self.flip = flip
        self.soft_nms = dict(soft_nms, type='soft_nms')
        self.max_per_img = max_per_img

    def test_step(self, data):
        views = ([dict(zip(data, values))
                  for values in zip(*data.values())] if isinstance(data, dict) else list(data))
        predictions = [self._view_detections(view) for view in views]
        return self.merge_preds(list(zip(*predictions)))

    def _view_detections(self, view) -> list:
        detector = self.module
        view = detector.data_preprocessor(view, False)
        inputs, samples = view['inputs'], view['data_samples']
        n = inputs.shape[0]
        if self.flip:
            inputs = torch.cat([inputs, inputs.flip(3)])
        heatmap, wh, offset = (out[0] for out in detector.bbox_head(detector.extract_feat(inputs)))
        if self.flip:
            heatmap = (heatmap[:n] + heatmap[n:].flip(3)) / 2
            wh = (wh[:n] + wh[n:].flip(3)) / 2
            offset = offset[:n]
        results = detector.bbox_head.predict_by_feat([heatmap], [wh], [offset],
                                                     [s.metainfo for s in samples],
                                                     rescale=True)
        for sample, result in zip(samples, results):
            sample.pred_instances = result
        return samples

    def merge_preds(self, data_samples_list: List[list]) -> list:
        from mmcv.ops import batched_nms
        merged = []
        for views in data_samples_list:
            instances = [v.pred_instances for v in views]
            bboxes = torch.cat([i.bboxes for i in instances])
            scores = torch.cat([i.scores for i in instances])
            labels = torch.cat([i.labels for i in instances])
            if len(views) > 1 and len(bboxes):
                dets, keep = batched_nms(bboxes, scores, labels, self.soft_nms)
                bboxes, scores, labels = dets[:, :4], dets[:, 4], labels[keep]
            order = scores.argsort(descending=True)[:self.max_per_img]
            result = views[0]  # keeps the image's metainfo and ground truth
            result.pred_instances = instances[0].new(
                bboxes=bboxes[order], scores=scores[order], labels=labels[order])
            merged.append(result)
        return merged
