"""Evaluate an exported model (ONNX file or OpenVINO IR) with the config's own test loop.

:class:`DeployedModel` stands in for the PyTorch model in MMEngine's ``Runner``: the
config's data preprocessor (normalisation, padding) runs in PyTorch, the network in the
deployment runtime, and the outputs go through the PyTorch model's own post-processing:

============== ==========================================================================
segmentation   ``decode_head.predict_by_feat`` + ``postprocess_result`` (padding cropped,
               logits resized to the original image): whole-image inference
classification ``head._get_predictions`` (softmax scores, labels)
detection      ``bbox_head.predict_by_feat`` (CenterNet's top-k decoding, boxes rescaled
               to the original image) + ``add_pred_to_datasample``
============== ==========================================================================

so the metrics (mIoU, top-1, COCO mAP) are those of ``tools/test.py`` for the same weights,
up to what the runtime changes. Test-time augmentation is not exported.
"""
import os.path as osp
from typing import List

import numpy as np
import torch
import torch.nn as nn

from mmdla.errors import ConfigInputError

RUNTIMES = {'.onnx': 'onnxruntime', '.xml': 'openvino'}


def load_runner(path: str, precision=None):
    """A runner for ``path`` (``runner(x)`` -> list of arrays): onnxruntime for .onnx,
    OpenVINO for an .xml IR or its directory (``precision`` overrides the saved one)."""
    from mmdla.apis.export import OnnxRunner, require_libraries
    from mmdla.apis.openvino import MODEL_FILE, OpenVinoRunner
    if osp.isdir(path) and osp.isfile(osp.join(path, MODEL_FILE)):
        path = osp.join(path, MODEL_FILE)
    if not osp.isfile(path):
        raise ConfigInputError(f"deployed model '{path}' does not exist: give the .onnx of "
                               'pytorch2onnx.py or the directory / .xml of pytorch2openvino.py')
    suffix = osp.splitext(path)[1]
    if suffix == '.onnx':
        require_libraries('onnx')
        return OnnxRunner(path)
    if suffix == '.xml':
        return OpenVinoRunner(path, precision)
    raise ConfigInputError(f"cannot run '{path}': the deployed formats are "
                           f'{", ".join(RUNTIMES)} ({", ".join(RUNTIMES.values())})')


class DeployedModel(nn.Module):
    """``model``'s pre- and post-processing around ``runner``'s network (see the module
    docstring); ``test_step`` / ``val_step`` as MMEngine's Runner calls them.

    Args:
        model: the config's PyTorch model (from :func:`~mmdla.apis.init_model`; its weights
            are not used, only its data preprocessor and heads' post-processing).
        runner: ``runner(x)`` -> list of arrays, e.g. :func:`load_runner`'s.
        task: 'classification', 'segmentation' or 'detection'.
    """

    def __init__(self, model: nn.Module, runner, task: str):
        super().__init__()
        self.model, self.runner, self.task = model, runner, task
        self.data_preprocessor = model.data_preprocessor

    def outputs(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        return [torch.from_numpy(np.asarray(o)) for o in self.runner(inputs.float().contiguous())]

    def test_step(self, data) -> list:
        data = self.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        outputs = self.outputs(inputs)
        model = self.model
        if self.task == 'classification':
            return model.head._get_predictions(outputs[0], samples)
        metas = [sample.metainfo for sample in samples]
        if self.task == 'segmentation':
            logits = model.decode_head.predict_by_feat(outputs[0], metas)
            return model.postprocess_result(logits, samples)
        heatmap, wh, offset = outputs
        results = model.bbox_head.predict_by_feat([heatmap], [wh], [offset],
                                                  batch_img_metas=metas,
                                                  rescale=True)
        return model.add_pred_to_datasample(samples, results)

    val_step = test_step
