"""Export mmdla models to ONNX and TorchScript and check the files against PyTorch.

What ``tools/deployment/pytorch2onnx.py`` and ``pytorch2torchscript.py`` share. The model
is the one :func:`~mmdla.apis.init_model` returns (BN folded into the convs, the inference
path of every mmdla tool) unless ``optimize=False``; it is exported through
:class:`TensorOutputs`, which turns ``model(x, mode='tensor')`` into plain tensors:

============== ========================================================================
task           outputs for an input ``(N, 3, H, W)`` (normalised as the config's
               data preprocessor does: mean / std, RGB)
============== ========================================================================
classification ``logits`` (N, num_classes) (no softmax)
segmentation   ``seg_logits`` (N, num_classes, H, W): the decode head's logits cropped to
               the input size (DLA-Up predicts at 2 * ceil(H / 2) x 2 * ceil(W / 2))
detection      CenterNet's head outputs at stride 4, each (N, C, ceil(H / 4), ceil(W / 4)):
               ``heatmap`` (C = num_classes, after the sigmoid), ``wh`` (C = 2),
               ``offset`` (C = 2); box decoding (top-k, NMS-free) stays outside the graph
============== ========================================================================

The check runs the saved file (onnxruntime's CPU provider, or ``torch.jit.load``) and the
PyTorch model on the same random input and reports per output the max absolute
difference, the relative difference ``max|a - b| / max|b|`` and, for the first output,
the agreement of the argmax over the channels (per image, per pixel, per heatmap
location). It passes at relative difference <= :data:`RTOL` and agreement >=
:data:`MIN_AGREEMENT` %.

Input sizes: any H, W >= 32. A dynamic export (ONNX ``dynamic=True``; a TorchScript trace
always is) takes any batch and size: the only size-dependent Python in the models, the
crop of up-sampled maps (:func:`mmdla.models.layers.crop_to`), is traced as a slice.
"""
import contextlib
import io
import json
import os
import os.path as osp
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from mmdla.errors import ConfigInputError, MissingPackageError, ShapeError
from mmdla.libraries import IMAGE_TASKS, library_of
from mmdla.models.layers import is_mmcv_deform_conv, portable_deform_convs
from mmdla.version import __version__

#: output names of each task, in the order :class:`TensorOutputs` returns them
OUTPUT_NAMES = {
    'classification': ('logits', ),
    'segmentation': ('seg_logits', ),
    'detection': ('heatmap', 'wh', 'offset')
}
INPUT_NAME = 'input'
#: the check passes at relative difference <= RTOL and argmax agreement >= MIN_AGREEMENT %
RTOL = 1e-4
MIN_AGREEMENT = 99.9
#: smallest input side the DLA models take (five stride-2 stages)
MIN_SIZE = 32
DEPLOY_HINT = "pip install 'mmdla[deploy]'"
FORMATS = ('onnx', 'torchscript')
#: the ONNX exporters: torch.onnx.export(dynamo=False) (the TorchScript-based tracer,
#: default, the same trace as the TorchScript export) or dynamo=True (torch.export +
#: onnxscript, torch's own default, several times slower to export; opset >= 18; its
#: dynamic dims are Dim.DYNAMIC, which torch.export may specialise silently - the check at
#: a second size would show it)
EXPORTERS = ('torchscript', 'dynamo')
DEFAULT_OPSETS = {'torchscript': 17, 'dynamo': 18}


class TensorOutputs(nn.Module):
    """``model(x, mode='tensor')`` as a tuple of tensors (see the module docstring), the
    module that is traced. (N, 3, H, W) -> 1 output (classification, segmentation) or 3
    (detection)."""

    def __init__(self, model: nn.Module, task: str):
        super().__init__()
        if task not in OUTPUT_NAMES:
            raise ConfigInputError(f'cannot export a {task!r} model: the tasks are '
                                   f'{sorted(OUTPUT_NAMES)}')
        self.model, self.task = model, task

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.model(x, mode='tensor')
        if self.task == 'segmentation':  # a slice: traced with the input's size
            return (out[..., :x.shape[2], :x.shape[3]], )
        if self.task == 'detection':  # ([heatmap], [wh], [offset]): one level
            return tuple(level[0] for level in out)
        return (out, )


def task_of(model: nn.Module) -> str:
    """The task of a model built by :func:`~mmdla.apis.init_model` (from its config)."""
    return library_of(model.cfg, 'the exporters', IMAGE_TASKS).task


def check_exportable(model: nn.Module) -> None:
    """No mmcv custom op that the exporters cannot replace: neither ONNX Runtime nor
    TorchScript can run one. (mmcv's DCNv2 is replaced by plain ops:
    :func:`~mmdla.models.layers.portable_deform_convs`.)"""
    for name, module in model.named_modules():
        if type(module).__module__.startswith('mmcv.ops') and not is_mmcv_deform_conv(module):
            raise ConfigInputError(
                f"the model uses mmcv's {type(module).__name__} ({name}), a custom op "
                'that ONNX Runtime and TorchScript cannot run: export a config without it')


def require_libraries(fmt: str, exporter: str = 'torchscript') -> None:
    """The libraries an export to ``fmt`` needs, else a :class:`MissingPackageError`."""
    if fmt != 'onnx':
        return
    names = ['onnx', 'onnxruntime'] + (['onnxscript'] if exporter == 'dynamo' else [])
    for name in names:
        try:
            __import__(name)
        except ImportError:
            raise MissingPackageError(f'ONNX export and check need {", ".join(names)}; '
                                      f'{name} is not installed: {DEPLOY_HINT}') from None


def check_shape(shape: Sequence[int], option: str = 'shape') -> Tuple[int, int]:
    """(H, W) from ``[H, W]`` (or ``[S]`` for S x S), each >= :data:`MIN_SIZE`, else a
    :class:`ShapeError` naming ``option``."""
    shape = list(shape)
    if len(shape) == 1:
        shape *= 2
    if len(shape) != 2 or not all(isinstance(s, int) and s >= MIN_SIZE for s in shape):
        raise ShapeError(f'{option} must be H W (or one size for both), each >= {MIN_SIZE} '
                         f'(the DLA models halve the input five times), got '
                         f'{" ".join(str(s) for s in shape)}')
    return int(shape[0]), int(shape[1])


def metadata(model: nn.Module, task: str, config: str, dynamic: bool) -> Dict[str, str]:
    """What a user of the exported file needs: task, input normalisation, outputs, classes
    (string values: ONNX ``metadata_props``, a JSON file inside a TorchScript archive)."""
    pre = dict(model.cfg.model.get('data_preprocessor') or {})
    rgb = pre.get('bgr_to_rgb', pre.get('to_rgb', False))
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    return {
        'mmdla_version':
        __version__,
        'config':
        osp.basename(config),
        'task':
        task,
        'input':
        f'{INPUT_NAME}: float32 (N, 3, H, W), H, W >= {MIN_SIZE}, '
        f'(image - mean) / std' + (', RGB from BGR' if rgb else ''),
        'mean':
        json.dumps([float(v) for v in pre.get('mean', [])]),
        'std':
        json.dumps([float(v) for v in pre.get('std', [])]),
        'bgr_to_rgb':
        json.dumps(bool(rgb)),
        'outputs':
        json.dumps(list(OUTPUT_NAMES[task])),
        'classes':
        json.dumps(list(classes) if classes else []),
        'dynamic':
        json.dumps(bool(dynamic)),
    }


def _dynamic_axes(task: str) -> Dict[str, Dict[int, str]]:
    axes = {INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'}}
    for name in OUTPUT_NAMES[task]:
        axes[name] = ({
            0: 'batch'
        } if task == 'classification' else {
            0: 'batch',
            2: f'{name}_height',
            3: f'{name}_width'
        })
    return axes


@contextlib.contextmanager
def _quiet_tracing():
    """Silence what tracing warns about: a TracerWarning at every Python check of a traced
    size (in the DLA models channel checks, fixed by the weights; crop_to slices when
    traced) and torch 2.13's deprecation of the tracer-based exporters."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=FutureWarning)
        yield


def export_onnx(wrapper: TensorOutputs,
                example: torch.Tensor,
                path: str,
                dynamic: bool = False,
                opset: int = 17,
                exporter: str = 'torchscript',
                props: Optional[Dict[str, str]] = None) -> None:
    """Write ``wrapper`` traced on ``example`` to the ONNX file ``path``; ``dynamic``: batch,
    height and width are free (else fixed to ``example``'s); ``props`` -> metadata_props.

    ``exporter``: 'torchscript' (``torch.onnx.export(dynamo=False)``, the tracer) or
    'dynamo' (``torch.export``; needs onnxscript)."""
    names = dict(input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES[wrapper.task]))
    with _quiet_tracing():
        if exporter == 'torchscript':
            buffer = io.BytesIO()
            torch.onnx.export(
                wrapper, (example, ),
                buffer,
                dynamo=False,
                opset_version=opset,
                do_constant_folding=True,
                dynamic_axes=_dynamic_axes(wrapper.task) if dynamic else None,
                **names)
            proto = _onnx().load_from_string(buffer.getvalue())
        elif exporter == 'dynamo':
            from torch.export import Dim
            shapes = ({'x': {0: Dim.DYNAMIC, 2: Dim.DYNAMIC, 3: Dim.DYNAMIC}} if dynamic else None)
            with contextlib.redirect_stdout(io.StringIO()):  # its progress lines
                program = torch.onnx.export(
                    wrapper, (example, ),
                    dynamo=True,
                    opset_version=opset,
                    dynamic_shapes=shapes,
                    **names)
            proto = program.model_proto
        else:
            raise ConfigInputError(f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    onnx = _onnx()
    if props:
        onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    onnx.save(proto, path)


def export_torchscript(wrapper: TensorOutputs,
                       example: torch.Tensor,
                       path: str,
                       props: Optional[Dict[str, str]] = None) -> None:
    """``torch.jit.trace`` ``wrapper`` on ``example`` and save it to ``path`` (``props`` as
    ``mmdla_meta.json`` inside the archive: ``torch.jit.load(path, _extra_files=...)``)."""
    with _quiet_tracing(), torch.no_grad():
        traced = torch.jit.trace(wrapper, (example, ), check_trace=False)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.jit.save(traced, path, _extra_files={'mmdla_meta.json': json.dumps(props or {})})


def _onnx():
    import onnx
    return onnx


class OnnxRunner:
    """An ONNX file in onnxruntime's CPU provider: ``runner(x)`` -> list of arrays."""

    def __init__(self, path: str):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        # no busy-waiting of its threads after a run: it would slow PyTorch down next to it
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])

    def __call__(self, x: torch.Tensor) -> List[np.ndarray]:
        return self.session.run(None, {INPUT_NAME: x.numpy()})


class TorchScriptRunner:
    """A saved TorchScript module: ``runner(x)`` -> list of arrays."""

    def __init__(self, path: str):
        self.module = torch.jit.load(path, map_location='cpu')

    def __call__(self, x: torch.Tensor) -> List[np.ndarray]:
        with torch.no_grad():
            return [t.numpy() for t in self.module(x)]


@dataclass
class OutputDiff:
    """How one exported output differs from PyTorch's."""
    name: str
    shape: Tuple[int, ...]
    max_abs: float
    rel: float  #: max|a - b| / max|b|
    agreement: Optional[float] = None  #: % of argmax over channels that agree (1st output)

    @property
    def ok(self) -> bool:
        return self.rel <= RTOL and (self.agreement is None or self.agreement >= MIN_AGREEMENT)


@dataclass
class Check:
    """The exported file against PyTorch on one random input."""
    batch: int
    shape: Tuple[int, int]
    outputs: List[OutputDiff]
    torch_ms: float
    runtime_ms: float

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outputs)


@dataclass
class ExportResult:
    path: str
    fmt: str
    task: str
    dynamic: bool
    export_s: float
    #: mmcv DCNv2 layers exported as plain ops (the checks compare with mmcv's kernels)
    portable_deform_convs: int = 0
    load_s: float = 0.0
    checks: List[Check] = field(default_factory=list)
    #: 'fp32', or (OpenVINO) 'bf16' / 'int8': differences reported, not held to RTOL
    precision: str = 'fp32'

    @property
    def size_mb(self) -> float:
        weights = osp.splitext(self.path)[0] + '.bin'  # (an OpenVINO IR's tensors)
        extra = osp.getsize(weights) if self.fmt == 'openvino' and osp.isfile(weights) else 0
        return (osp.getsize(self.path) + extra) / 2**20

    @property
    def ok(self) -> bool:
        if not self.checks:
            return False
        if self.precision == 'fp32':
            return all(c.ok for c in self.checks)
        return all(np.isfinite(o.rel) for c in self.checks for o in c.outputs)


def compare_outputs(reference: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                    names: Sequence[str]) -> List[OutputDiff]:
    """Per output: max |a - b|, max |a - b| / max |b| (b the reference) and, for the first,
    the % of argmax over dim 1 (classes) that agree. A shape mismatch is an infinite
    difference."""
    diffs = []
    for i, (name, ref, out) in enumerate(zip(names, reference, outputs)):
        ref, out = np.asarray(ref, dtype=np.float64), np.asarray(out, dtype=np.float64)
        if ref.shape != out.shape:
            diffs.append(
                OutputDiff(name, tuple(out.shape), float('inf'), float('inf'),
                           0.0 if i == 0 else None))
            continue
        max_abs = float(np.abs(ref - out).max())
        scale = float(np.abs(ref).max())
        rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float('inf'))
        agreement = (float((ref.argmax(1) == out.argmax(1)).mean() * 100) if i == 0 else None)
        diffs.append(OutputDiff(name, tuple(ref.shape), max_abs, rel, agreement))
    return diffs


def random_input(batch: int, shape: Tuple[int, int], seed: int = 0) -> torch.Tensor:
    """A normalised-image-like input: N(0, 1), (batch, 3, H, W)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, *shape, generator=g)


def _warm_ms(fn, x: torch.Tensor) -> float:
    """Time of one call of ``fn(x)`` (called before: caches and kernels are warm), ms."""
    start = time.perf_counter()
    with torch.no_grad():
        fn(x)
    return (time.perf_counter() - start) * 1000


def check_runtime(wrapper: TensorOutputs,
                  runner,
                  batch: int,
                  shape: Tuple[int, int],
                  seed: int = 0) -> Check:
    """Run PyTorch and the exported file on one random input and compare; the times are
    of a second run of each."""
    x = random_input(batch, shape, seed)
    with torch.no_grad():
        reference = [t.numpy() for t in wrapper(x)]
    diffs = compare_outputs(reference, runner(x), OUTPUT_NAMES[wrapper.task])
    return Check(batch, tuple(shape), diffs, _warm_ms(wrapper, x), _warm_ms(runner, x))


def second_shape(shape: Tuple[int, int]) -> Tuple[int, int]:
    """The other size a dynamic export is checked at: other remainders mod 2, 4, ..., 32
    than ``shape`` (every crop of the decoders changes)."""
    return shape[0] + 5, shape[1] + 3


def check_batch(batch: int, option: str = 'batch') -> int:
    """``batch`` if >= 1, else a :class:`ShapeError` naming ``option``."""
    if not isinstance(batch, int) or batch < 1:
        raise ShapeError(f'{option} must be >= 1, got {batch}')
    return batch


@dataclass
class Exportable:
    """A model ready to export: the module that is traced and the one it is checked
    against (they differ only where mmcv's DCNv2 is replaced by plain ops)."""
    task: str
    reference: TensorOutputs  #: the model as it is (mmcv's DCN kernels, if any)
    wrapper: TensorOutputs  #: what is traced: a copy with portable deformable convs
    portable_deform_convs: int  #: how many DCNs the copy replaced


def prepare_export(model: nn.Module) -> Exportable:
    """Check ``model`` (from :func:`~mmdla.apis.init_model`) can be exported and wrap it
    (:class:`TensorOutputs`) for tracing and for the checks."""
    check_exportable(model)
    task = task_of(model)
    portable, replaced = portable_deform_convs(model)
    return Exportable(task,
                      TensorOutputs(model, task).eval(),
                      TensorOutputs(portable, task).eval(), replaced)


def check_file(result: ExportResult,
               reference: TensorOutputs,
               load: Callable[[str], Callable],
               batch: int,
               shape: Tuple[int, int],
               other_shape: Optional[Tuple[int, int]] = None) -> ExportResult:
    """Load ``result.path`` with ``load`` (-> ``runner(x)``) and compare it with
    ``reference`` at (batch, 3, *shape) and, for a dynamic file, at batch + 1 x
    ``other_shape`` (default :func:`second_shape`); the checks are added to ``result``."""
    start = time.perf_counter()
    runner = load(result.path)
    result.load_s = time.perf_counter() - start
    result.checks.append(check_runtime(reference, runner, batch, shape))
    if result.dynamic:
        result.checks.append(
            check_runtime(reference, runner, batch + 1, other_shape or second_shape(shape), seed=2))
    return result


def load_config_model(config,
                      checkpoint: Optional[str],
                      optimize: bool = True,
                      cfg_options: Optional[dict] = None):
    """(cfg, model, config name): ``config`` (a path or a Config) loaded and its model
    built by :func:`~mmdla.apis.init_model` on the CPU, the exporters' model."""
    from mmdla.apis.inference import init_model
    from mmdla.engine import load_config
    cfg = load_config(config, cfg_options) if isinstance(config, str) else config
    library_of(cfg, 'the exporters', IMAGE_TASKS)
    model = init_model(cfg, checkpoint, device='cpu', optimize=optimize)
    return cfg, model, config if isinstance(config, str) else (cfg.filename or '')


def export_and_check(model: nn.Module,
                     fmt: str,
                     path: str,
                     shape: Tuple[int, int],
                     config: str = '',
                     batch: int = 1,
                     dynamic: bool = False,
                     other_shape: Optional[Tuple[int, int]] = None,
                     opset: Optional[int] = None,
                     exporter: str = 'torchscript',
                     check: bool = True) -> ExportResult:
    """Export ``model`` (from :func:`~mmdla.apis.init_model`) to ``path`` in ``fmt``
    ('onnx' / 'torchscript') traced at (batch, 3, *shape), then check the file against
    PyTorch at that input and, for a dynamic file (ONNX ``dynamic``, TorchScript always),
    at batch + 1 and ``other_shape`` (default :func:`second_shape`). ``opset``: default
    :data:`DEFAULT_OPSETS` of the exporter."""
    if fmt not in FORMATS:
        raise ConfigInputError(f'format must be one of {FORMATS}, got {fmt!r}')
    require_libraries(fmt, exporter)
    check_shape(shape)
    if other_shape is not None:
        check_shape(other_shape, 'other_shape')
    check_batch(batch)
    if exporter not in EXPORTERS:
        raise ConfigInputError(f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    exportable = prepare_export(model)
    task, wrapper = exportable.task, exportable.wrapper
    dynamic = dynamic or fmt == 'torchscript'
    props = metadata(model, task, config, dynamic)
    example = random_input(max(batch, 2) if dynamic else batch, shape, seed=1)
    start = time.perf_counter()
    if fmt == 'onnx':
        export_onnx(wrapper, example, path, dynamic, opset or DEFAULT_OPSETS[exporter], exporter,
                    props)
    else:
        export_torchscript(wrapper, example, path, props)
    result = ExportResult(path, fmt, task, dynamic,
                          time.perf_counter() - start, exportable.portable_deform_convs)
    if not check:
        return result
    return check_file(result, exportable.reference,
                      OnnxRunner if fmt == 'onnx' else TorchScriptRunner, batch, shape, other_shape)


def export_model(config,
                 checkpoint: Optional[str],
                 fmt: str,
                 path: str,
                 shape: Optional[Sequence[int]] = None,
                 batch: int = 1,
                 dynamic: bool = False,
                 other_shape: Optional[Sequence[int]] = None,
                 opset: Optional[int] = None,
                 exporter: str = 'torchscript',
                 optimize: bool = True,
                 cfg_options: Optional[dict] = None) -> ExportResult:
    """Build ``config``'s model with :func:`~mmdla.apis.init_model` (``checkpoint`` loaded
    strictly; None keeps the initial weights), export it to ``path`` and check the file
    (:func:`export_and_check`). ``shape`` (H, W) defaults to the task's export size in
    :data:`mmdla.libraries.LIBRARIES`; a TorchScript file is always dynamic. (OpenVINO:
    :func:`mmdla.apis.openvino.convert_config_model`.)

    Bad input (sizes, missing libraries, a custom op, a checkpoint of another model,
    ``path`` a directory) raises an :class:`~mmdla.errors.InputError` before anything is
    written."""
    dynamic = dynamic or fmt == 'torchscript'
    if shape is not None:
        shape = check_shape(shape)
    if other_shape is not None:
        if not dynamic:
            raise ConfigInputError('a second check size (other_shape) checks a dynamic file: '
                                   'export with dynamic=True')
        other_shape = check_shape(other_shape, 'other_shape')
    check_batch(batch)
    if osp.isdir(path) or path.endswith(os.sep):
        raise ConfigInputError(f"output '{path}' is a directory: give the output file, e.g. " +
                               osp.join(path, 'model.onnx' if fmt == 'onnx' else 'model.pt'))
    require_libraries(fmt, exporter)
    cfg, model, name = load_config_model(config, checkpoint, optimize, cfg_options)
    return export_and_check(
        model,
        fmt,
        path,
        shape or library_of(cfg).shapes['export'],
        config=name,
        batch=batch,
        dynamic=dynamic,
        other_shape=other_shape,
        opset=opset,
        exporter=exporter)
