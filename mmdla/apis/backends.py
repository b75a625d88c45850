"""One model on several inference backends, for measuring them side by side.

``tools/analysis_tools/benchmark.py CONFIG --backends ...`` runs these on the same input:

============= =========== ========= =====================================================
name          runtime     precision what runs
============= =========== ========= =====================================================
torch         PyTorch     fp32      :func:`~mmdla.apis.init_model`'s model (BN folded,
                                    channels_last): the default every tool uses
torch-bf16    PyTorch     bf16      the same model under ``torch.autocast('cpu',
                                    torch.bfloat16)`` (DCNv2 as plain ops: mmcv's
                                    kernel has no bf16)
onnxruntime   onnxruntime fp32      the ONNX export at the benchmark's input shape
openvino      OpenVINO    fp32      the OpenVINO IR (:mod:`mmdla.apis.openvino`)
openvino-bf16 OpenVINO    bf16      the same IR with ``INFERENCE_PRECISION_HINT=bf16``
openvino-int8 OpenVINO    int8      the IR quantised by NNCF (calibration inputs given)
============= =========== ========= =====================================================

Every backend is a runner: ``runner(x)`` -> list of float32 arrays, the outputs of
:class:`~mmdla.apis.export.TensorOutputs` (logits / seg_logits / CenterNet's heatmap, wh,
offset). :func:`write_backend_files` exports what the runtimes read (once per file: the
bf16 IR is the fp32 one); :func:`load_backend` loads a runner.

Example:
    >>> from mmdla.apis.backends import parse_backends
    >>> [b.name for b in parse_backends('openvino-int8,torch-bf16')]
    ['torch', 'openvino-int8', 'torch-bf16']
"""
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from mmdla.apis import export as ex
from mmdla.errors import ConfigInputError
from mmdla.models.layers import portable_deform_convs

__all__ = [
    'Backend', 'BACKENDS', 'REFERENCE', 'parse_backends', 'torch_runner', 'write_backend_files',
    'load_backend'
]


@dataclass(frozen=True)
class Backend:
    name: str
    runtime: str  #: 'torch', 'onnxruntime' or 'openvino'
    precision: str  #: 'fp32', 'bf16' or 'int8'

    @property
    def file(self) -> Optional[str]:
        """The file it runs, relative to the export directory (None: the PyTorch model).
        bf16 runs the fp32 IR (a compile-time setting)."""
        if self.runtime == 'onnxruntime':
            return 'model.onnx'
        if self.runtime == 'openvino':
            return osp.join('openvino-int8' if self.precision == 'int8' else 'openvino',
                            'model.xml')
        return None


BACKENDS: Dict[str, Backend] = {
    b.name: b
    for b in (Backend('torch', 'torch', 'fp32'), Backend('torch-bf16', 'torch', 'bf16'),
              Backend('onnxruntime', 'onnxruntime', 'fp32'),
              Backend('openvino', 'openvino', 'fp32'), Backend('openvino-bf16', 'openvino', 'bf16'),
              Backend('openvino-int8', 'openvino', 'int8'))
}
#: what the others are timed and compared against
REFERENCE = 'torch'


def parse_backends(names: str) -> List[Backend]:
    """The backends of a comma-separated list, :data:`REFERENCE` first (added if missing),
    each once; an unknown name is a :class:`~mmdla.errors.ConfigInputError`."""
    wanted = [n.strip() for n in names.split(',') if n.strip()]
    unknown = [n for n in wanted if n not in BACKENDS]
    if unknown:
        raise ConfigInputError(f'unknown backend(s) {", ".join(unknown)}: the backends are '
                               f'{", ".join(BACKENDS)}')
    ordered = dict.fromkeys([REFERENCE] + wanted)
    return [BACKENDS[n] for n in ordered]


def torch_runner(wrapper: ex.TensorOutputs, bf16: bool = False) -> Callable:
    """``runner(x)`` of a PyTorch model wrapped by :class:`~mmdla.apis.export.TensorOutputs`,
    without autograd, optionally under bf16 autocast (outputs returned as float32)."""

    def run(x: torch.Tensor) -> List[np.ndarray]:
        with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=bf16):
            return [t.float().numpy() for t in wrapper(x)]

    return run


def write_backend_files(backends: List[Backend],
                        model: nn.Module,
                        directory: str,
                        batch: int,
                        shape: Tuple[int, int],
                        calibration: Optional[List[np.ndarray]] = None) -> Dict[str, str]:
    """Export ``model`` (from :func:`~mmdla.apis.init_model`) to the files the
    ``backends`` run, under ``directory``: ONNX static at (batch, 3, *shape) (onnxruntime's
    fastest case), OpenVINO IRs with free sizes (compiled per shape when run); int8
    quantised with ``calibration``. Returns {backend name: path} (PyTorch ones: none)."""
    from mmdla.apis import openvino as ov
    paths, exportable = {}, None
    for backend in backends:
        if backend.file is None:
            continue
        path = paths[backend.name] = osp.join(directory, backend.file)
        if osp.isfile(path):  # (openvino-bf16 runs openvino's IR)
            continue
        if backend.runtime == 'onnxruntime':
            ex.require_libraries('onnx')
            exportable = exportable or ex.prepare_export(model)
            ex.export_onnx(
                exportable.wrapper,
                ex.random_input(batch, shape, seed=1),
                path,
                props=ex.metadata(model, exportable.task, '', False))
        else:
            precision = 'int8' if backend.precision == 'int8' else 'fp32'
            ov.export_openvino(model, osp.dirname(path), shape, precision, calibration, check=False)
    return paths


def load_backend(backend: Backend,
                 path: Optional[str] = None,
                 model: Optional[nn.Module] = None) -> Callable:
    """The runner of ``backend``: ``model`` (PyTorch backends) or the file ``path``
    (:func:`write_backend_files`)."""
    if backend.runtime == 'torch':
        if model is None:
            raise ConfigInputError(f'backend {backend.name} runs a PyTorch model: give model=')
        bf16 = backend.precision == 'bf16'
        if bf16:  # NOTE: mmcv's DCNv2 CPU kernel has no bf16; the plain-op one runs in it
            model = portable_deform_convs(model)[0]
        return torch_runner(ex.TensorOutputs(model, ex.task_of(model)).eval(), bf16=bf16)
    if path is None or not osp.isfile(path):
        raise ConfigInputError(f"backend {backend.name} runs the file '{path}', which does not "
                               'exist: write it with write_backend_files')
    if backend.runtime == 'onnxruntime':
        return ex.OnnxRunner(path)
    from mmdla.apis.openvino import OpenVinoRunner
    return OpenVinoRunner(path, backend.precision if backend.precision == 'bf16' else None)
