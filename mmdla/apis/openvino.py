"""OpenVINO as a deployment backend: fp32, bf16 and int8 (NNCF post-training quantisation).

:func:`export_openvino` converts the module the ONNX exporter traces
(:class:`~mmdla.apis.export.TensorOutputs`: same inputs and outputs, mmcv's deformable convs
replaced by plain ops) with ``openvino.convert_model`` straight from PyTorch and saves an IR
(``DIR/model.xml`` + ``model.bin``, float32 weights) whose batch, height and width are free.
The precision is a property of the saved model (its ``rt_info``):

========= ==============================================================================
fp32      float32 everywhere (``INFERENCE_PRECISION_HINT=f32``): PyTorch's outputs to
          float rounding
bf16      the same IR run with ``INFERENCE_PRECISION_HINT=bf16`` (bf16 matrix units of
          CPUs with avx512_bf16 / AMX; elsewhere OpenVINO emulates it slowly)
int8      NNCF's post-training quantisation (``nncf.quantize``, int8 weights and
          activations, scales from calibration images of the config's validation set)
========= ==============================================================================

:class:`OpenVinoRunner` runs a saved IR: ``runner(x)`` -> list of arrays, compiled once
per input shape (a static shape lets the CPU plugin pick its fastest kernels).
"""
import functools
import os
import os.path as osp
import time
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
import torch

from mmdla.apis import export as ex
from mmdla.errors import ConfigInputError, MissingPackageError
from mmdla.libraries import library_of

PRECISIONS = ('fp32', 'bf16', 'int8')
#: the OpenVINO inference precision of each saved precision (int8: the ops NNCF leaves
#: unquantised run in float32)
INFERENCE_PRECISION = {'fp32': 'f32', 'bf16': 'bf16', 'int8': 'f32'}
OPENVINO_HINT = "pip install 'mmdla[openvino]'"
MODEL_FILE = 'model.xml'
#: rt_info section of the saved IR holding mmdla's metadata (task, normalisation, ...)
RT_INFO = 'mmdla'


def require_openvino(int8: bool = False) -> None:
    """openvino (and nncf for int8), else a :class:`MissingPackageError`."""
    for name in ['openvino'] + (['nncf'] if int8 else []):
        try:
            __import__(name)
        except ImportError:
            raise MissingPackageError('the OpenVINO export needs openvino' +
                                      (' and nncf (int8)' if int8 else '') +
                                      f'; {name} is not installed: {OPENVINO_HINT}') from None


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigInputError(f'precision must be one of {PRECISIONS}, got {precision!r}')
    return precision


def check_calib_images(num: int) -> int:
    if not isinstance(num, int) or num < 1:
        raise ConfigInputError(f'the number of calibration images (--calib-images) must be '
                               f'>= 1, got {num}')
    return num


def model_path(out: str) -> str:
    """``out`` a directory (the IR is ``out/model.xml``) or an ``.xml`` file."""
    return out if out.endswith('.xml') else osp.join(out, MODEL_FILE)


def convert(wrapper: torch.nn.Module, example: torch.Tensor, output_names: Iterable[str]):
    """``openvino.convert_model`` of ``wrapper`` traced on ``example``, batch / height /
    width free, inputs and outputs named as in the ONNX export."""
    import openvino as ov
    with ex._quiet_tracing(), torch.no_grad():
        model = ov.convert_model(
            wrapper, example_input=example, input=[ov.PartialShape([-1, 3, -1, -1])])
    model.inputs[0].get_tensor().set_names({ex.INPUT_NAME})
    for output, name in zip(model.outputs, output_names):
        output.get_tensor().set_names({name})
    return model


def quantize(model, calibration: List[np.ndarray], subset_size: Optional[int] = None):
    """NNCF post-training int8 quantisation of the OpenVINO ``model`` with the calibration
    inputs (each (1, 3, H, W), normalised as the model's input); NNCF's progress bar shows
    the statistics collection."""
    import nncf
    if not calibration:
        raise ConfigInputError('int8 quantisation needs calibration images: the validation '
                               'dataset gave none')
    return nncf.quantize(
        model,
        nncf.Dataset(calibration),
        subset_size=subset_size or len(calibration),
        preset=nncf.QuantizationPreset.PERFORMANCE)


def save(model, out: str, precision: str, props: Dict[str, str]) -> str:
    """Write ``model`` with ``props`` + the precision in its rt_info; float32 weights (no
    fp16 compression). Returns the .xml path."""
    import openvino as ov
    path = model_path(out)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    for key, value in {**props, 'precision': precision}.items():
        model.set_rt_info(str(value), [RT_INFO, key])
    ov.save_model(model, path, compress_to_fp16=False)
    return path


@functools.lru_cache(maxsize=None)
def core():
    """The process' one ``openvino.Core`` (every runner shares it: two Cores in one
    process made a later fork - a DataLoader worker - crash)."""
    import openvino as ov
    return ov.Core()


def read_metadata(model) -> Dict[str, str]:
    """mmdla's metadata saved in an IR (``precision``, ``task``, ``mean`` ...)."""
    info = model.get_rt_info()
    if RT_INFO not in info:
        return {}
    section = info[RT_INFO]
    return {key: section[key].astype(str) for key in section}


class OpenVinoRunner:
    """A saved IR on OpenVINO's CPU plugin: ``runner(x)`` -> list of arrays (in the
    model's output order). ``precision`` overrides the saved one ('fp32' / 'bf16'); the
    threads default to ``torch.get_num_threads()``."""

    def __init__(self, path: str, precision: Optional[str] = None, threads: Optional[int] = None):
        require_openvino()
        path = model_path(path) if osp.isdir(path) else path
        if not osp.isfile(path):
            raise ConfigInputError(f"OpenVINO model '{path}' does not exist (give the .xml of "
                                   'tools/deployment/pytorch2openvino.py --out, or its directory)')
        self.core = core()
        self.model = self.core.read_model(path)
        self.metadata = read_metadata(self.model)
        self.precision = check_precision(precision or self.metadata.get('precision', 'fp32'))
        self.config = {
            'INFERENCE_PRECISION_HINT': INFERENCE_PRECISION[self.precision],
            'INFERENCE_NUM_THREADS': int(threads or torch.get_num_threads()),
            'PERFORMANCE_HINT': 'LATENCY',
        }
        self.compiled = {}

    def compiled_for(self, shape: Tuple[int, ...]):
        """The model compiled for one input shape (kept for the next call)."""
        if shape not in self.compiled:
            model = self.model.clone()
            model.reshape({model.inputs[0].get_any_name(): list(shape)})
            self.compiled[shape] = self.core.compile_model(model, 'CPU', self.config)
        return self.compiled[shape]

    def __call__(self, x: torch.Tensor) -> List[np.ndarray]:
        compiled = self.compiled_for(tuple(x.shape))
        result = compiled(np.ascontiguousarray(x.numpy(), dtype=np.float32))
        return [np.asarray(result[output]) for output in compiled.outputs]


def calibration_inputs(cfg, model: torch.nn.Module, num: int) -> List[np.ndarray]:
    """Up to ``num`` inputs (1, 3, H, W) of the config's validation dataloader, through the
    model's data preprocessor (normalised, padded as in evaluation), with a progress bar."""
    from mmengine.runner import Runner
    from mmengine.utils import ProgressBar
    check_calib_images(num)
    loader_cfg = cfg.get('val_dataloader') or cfg.get('test_dataloader')
    if not loader_cfg:
        raise ConfigInputError('int8 calibration reads the config\'s val_dataloader: the config '
                               'has none')
    loader = Runner.build_dataloader(loader_cfg)
    num = min(num, len(loader.dataset))
    inputs, bar = [], ProgressBar(num)
    with torch.no_grad():
        for batch in loader:
            for image in model.data_preprocessor(batch, False)['inputs']:
                inputs.append(image[None].float().contiguous().numpy())
                bar.update()
                if len(inputs) == num:
                    bar.file.write('\n')
                    return inputs
    bar.file.write('\n')
    return inputs


def export_openvino(model: torch.nn.Module,
                    out: str,
                    shape: Tuple[int, int],
                    precision: str = 'fp32',
                    calibration: Optional[List[np.ndarray]] = None,
                    config: str = '',
                    batch: int = 1,
                    other_shape: Optional[Tuple[int, int]] = None,
                    check: bool = True):
    """Convert ``model`` (from :func:`~mmdla.apis.init_model`) to an OpenVINO IR at ``out``
    (a directory, or the .xml) in ``precision`` and check it against PyTorch (mmcv's
    kernels for deformable convs) at (batch, 3, *shape) and at batch + 1 x ``other_shape``
    (default :func:`~mmdla.apis.export.second_shape`). ``calibration``: the int8 inputs
    (:func:`calibration_inputs`). Returns an :class:`~mmdla.apis.export.ExportResult`
    (fmt 'openvino'); fp32 passes at 1e-4 relative, bf16 / int8 report the differences and
    the argmax agreement and pass when every output has the right shape and is finite."""
    check_precision(precision)
    require_openvino(int8=precision == 'int8')
    shape = ex.check_shape(shape)
    ex.check_batch(batch)
    exportable = ex.prepare_export(model)
    task = exportable.task
    start = time.perf_counter()
    ov_model = convert(exportable.wrapper, ex.random_input(max(batch, 2), shape, seed=1),
                       ex.OUTPUT_NAMES[task])
    if precision == 'int8':
        ov_model = quantize(ov_model, calibration or [])
    path = save(ov_model, out, precision, ex.metadata(model, task, config, True))
    result = ex.ExportResult(
        path,
        'openvino',
        task,
        True,
        time.perf_counter() - start,
        exportable.portable_deform_convs,
        precision=precision)
    if not check:
        return result
    return ex.check_file(result, exportable.reference, OpenVinoRunner, batch, shape, other_shape)


def convert_config_model(config,
                         checkpoint: Optional[str],
                         out: str,
                         shape: Optional[Tuple[int, int]] = None,
                         precision: str = 'fp32',
                         calib_images: int = 300,
                         batch: int = 1,
                         other_shape: Optional[Tuple[int, int]] = None,
                         optimize: bool = True,
                         cfg_options: Optional[dict] = None):
    """:func:`export_openvino` of ``config``'s model built by
    :func:`~mmdla.apis.init_model` (``checkpoint`` loaded strictly; None: the initial
    weights), int8 calibrated on up to ``calib_images`` images of the config's validation
    set; ``shape`` defaults to the task's export size. Bad input raises an
    :class:`~mmdla.errors.InputError` before anything is written."""
    check_precision(precision)
    require_openvino(int8=precision == 'int8')
    if shape is not None:
        shape = ex.check_shape(shape)
    if other_shape is not None:
        other_shape = ex.check_shape(other_shape, 'other_shape')
    ex.check_batch(batch)
    if precision == 'int8':
        check_calib_images(calib_images)
    cfg, model, name = ex.load_config_model(config, checkpoint, optimize, cfg_options)
    calibration = calibration_inputs(cfg, model, calib_images) if precision == 'int8' else None
    return export_openvino(model, out, shape or library_of(cfg).shapes['export'], precision,
                           calibration, name, batch, other_shape)
