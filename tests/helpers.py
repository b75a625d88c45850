"""Helpers shared by the tests (no test module imports another one)."""
import contextlib
import glob
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdla import reference
from mmdla.models.checkpoints import arch_signature

ROOT = Path(__file__).resolve().parents[1]


def load_tool(relative_path: str):
    """Import a script under tools/ (not a package) as a module, e.g. to call its main()."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: ``--cfg-options`` / cfg_options making the toy segmentation config's model DLA-46-C + DLA-Up
#: (~5x fewer MACs than its DLA-34) for runs that test the tools, not the model
SMALL_SEG = ['model.backbone.arch=dla46_c', 'model.decode_head.in_channels=[32,64,64,128,256]']
SMALL_SEG_DICT = {
    'model.backbone.arch': 'dla46_c',
    'model.decode_head.in_channels': [32, 64, 64, 128, 256]
}


def data_root_options(root, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    """``--cfg-options`` items pointing the given dataloaders at ``root``."""
    return [f'{loader}.dataset.data_root={root}' for loader in loaders]


def run_python(*args, timeout=900, env=None) -> subprocess.CompletedProcess:
    """``python ARGS`` (a tool, the demo) in the checkout; it must exit 0 (the failure message
    is the tail of its output)."""
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def last_checkpoint(work_dir) -> str:
    """The checkpoint path a training run in ``work_dir`` wrote last."""
    return (Path(work_dir) / 'last_checkpoint').read_text().strip()


def _with_subclasses(cls):
    yield cls
    for sub in cls.__subclasses__():
        yield from _with_subclasses(sub)


def managed_classes():
    """The MMEngine classes whose instances are global by name and that a Runner reuses:
    the default scope and the visualizers (``Visualizer.get_current_instance``)."""
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer
    return [DefaultScope, *_with_subclasses(Visualizer)]


@contextlib.contextmanager
def fresh_global_instances():
    """Inside: no default scope or visualizer instance exists, as in a fresh process;
    after: the instances of before again (those made inside are dropped)."""
    saved = {cls: dict(cls._instance_dict) for cls in managed_classes()}
    for cls in saved:
        cls._instance_dict.clear()
    try:
        yield
    finally:
        for cls in managed_classes():
            cls._instance_dict.clear()
            cls._instance_dict.update(saved.get(cls, {}))


def run_tool_main(relative_path: str, *args) -> str:
    """A tool's ``main(ARGS)`` in this process, with MMEngine's global instances as in a
    fresh one (it must not exit); what it printed.

    In-process runs skip the ~5 s interpreter + import start-up of a subprocess; the tools'
    fresh-process behaviour is covered by the training runs and tests/test_hub_weights.py.
    """
    printed = io.StringIO()
    with fresh_global_instances(), contextlib.redirect_stdout(printed):
        load_tool(relative_path).main([str(a) for a in args])
    return printed.getvalue()


def evaluate(config, checkpoint, work_dir, *extra) -> dict:
    """tools/test.py CONFIG CHECKPOINT --work-dir WORK_DIR EXTRA (in this process); the
    metrics it saved."""
    run_tool_main('tools/test.py', config, checkpoint, '--work-dir', work_dir, *extra)
    return json.loads((Path(work_dir) / 'metrics.json').read_text())


def run_and_expect_error(tool, argv, capsys):
    """Run a tool's main(argv); it must exit with code 2 and end stderr with one
    'error: ...' line and no traceback. Returns that line."""
    with pytest.raises(SystemExit) as info:
        tool.main(argv)
    assert info.value.code == 2
    stderr = capsys.readouterr().err
    assert 'Traceback' not in stderr, stderr
    err = stderr.strip().splitlines()[-1]  # (library warnings may come before it)
    assert err.startswith('error: '), stderr
    return err


def build_config_model(config: str, device: str = 'cpu'):
    """The model of ``configs/<config>.py`` (a path relative to configs/ without .py),
    built as the config says (eval mode, no checkpoint)."""
    from mmdla.utils import build_model_from_config
    with torch.device(device):
        return build_model_from_config(str(ROOT / 'configs' / f'{config}.py'))


def random_timm_dla(arch):
    """timm DLA with random weights and random, data-calibrated BN statistics, in eval mode.

    The classifier is drawn from N(0, 0.01) (as mmpretrain's LinearClsHead is initialised),
    so that, with the calibrated BN, activations and logits have realistic magnitudes (with
    the default 0/1 statistics and timm's Kaiming fc, logits reach several hundred and
    float32 summation order alone differs by more than 1e-4).
    """
    import timm
    model = timm.create_model(arch, pretrained=False)
    randomise_bn_(model, lambda: model(torch.randn(4, 3, 64, 64)))
    with torch.no_grad():
        model.fc.weight.normal_(0, 0.01)
        model.fc.bias.normal_(0, 0.01)
    return model


def official_state_dict(timm_state_dict, arch):
    """The official layout: timm's tensors + the dead project tensors (random values)."""
    state_dict = dict(timm_state_dict)
    for name, shape in arch_signature(arch)[1].items():
        state_dict[name] = (
            torch.tensor(7) if name.endswith('num_batches_tracked') else torch.randn(shape))
    return state_dict


def expected_params(config: Path) -> int:
    """The parameter count every shipped config's model must have, from
    :mod:`mmdla.reference` (an unknown config is an error: each one gets a number)."""
    name = config.stem
    if name.startswith('centernet_dla34_coco'):  # 80 COCO classes (1x and 2x schedules)
        return reference.CENTERNET.params
    if name == 'centernet_dla34_toy':  # 4 toy classes, plain convs in the neck
        return reference.centernet_params(4, use_dcn=False)
    if name == 'faster_rcnn_dla34_fpn_toy':  # 4 toy classes, 128-channel FPN, 256-wide fcs
        return reference.faster_rcnn_params('dla34', 4, channels=128, fc_channels=256)
    if name.startswith(('faster_rcnn_', 'retinanet_')):  # {model}_{arch}_fpn_1x_coco
        model, arch = name.split('_dla')[0], 'dla' + name.split('_dla')[1].split('_')[0]
        return getattr(reference, f'{model}_params')(arch)  # 80 COCO classes
    if name == 'smoke_dla34_kitti-mono3d':  # KITTI's 3 mono-3D classes
        return reference.smoke_params(3)
    arch, _, task = name.partition('_')
    while arch + '_' + task.split('_')[0] in reference.IMAGENET:  # dla46_c_..., dla60x_c_...
        head, _, task = task.partition('_')
        arch = f'{arch}_{head}'
    if task == 'imagenet':
        return reference.IMAGENET[arch].params
    if task in reference.FINE_GRAINED_CLASSES:
        return reference.classifier_params(arch, reference.FINE_GRAINED_CLASSES[task])
    if task in ('cityscapes', 'toy'):
        return reference.DLA_UP[arch].params_19
    if task == 'camvid':
        return reference.DLA_UP[arch].params_11
    if task == 'toy_cls':
        return reference.classifier_params(arch, 4)  # the four texture classes
    raise KeyError(f'no expected parameter count for {config.name}: add it here')


def shipped_configs():
    """Every config under configs/ (not the _base_ pieces)."""
    return sorted((ROOT / 'configs').glob('*.py'))


def per_class_iou(work_dir: Path) -> dict:
    """{class: IoU} from the 'per class results' table mmseg's IoUMetric logs (the newest
    log under ``work_dir``); classes absent from the data (nan) are left out."""
    log = sorted(Path(work_dir).glob('*/*.log'))[-1].read_text()
    table = log.split('per class results:')[-1]
    ious = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('|') and len(cells) == 3 and cells[0] != 'Class':
            if cells[1] != 'nan':
                ious[cells[0]] = float(cells[1])
        elif ious and not line.startswith(('|', '+')):
            break
    return ious


def official_dlaup_plan(channels):
    """The official DLAUp construction (ucbdrive/dla, and CenterNet's copy of it): per IDA
    step its output channels, input channels and up-sampling factors."""
    in_channels, scales = list(channels), [2**i for i in range(len(channels))]
    plan = []
    for i in range(len(channels) - 1):
        j = -i - 2
        plan.append((channels[j], list(in_channels[j:]), [s // scales[j] for s in scales[j:]]))
        scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
        in_channels[j + 1:] = [channels[j]] * len(in_channels[j + 1:])
    return plan


def random_bn_tensors(c: int, generator=None) -> dict:
    """Random BatchNorm tensors of ``c`` channels, as after training: weight U(0.5, 1.5),
    bias N(0, 0.1), running mean N(0, 0.1), running variance U(0.5, 1.5)."""
    return dict(
        weight=torch.rand(c, generator=generator) + 0.5,
        bias=torch.randn(c, generator=generator) * 0.1,
        running_mean=torch.randn(c, generator=generator) * 0.1,
        running_var=torch.rand(c, generator=generator) + 0.5,
        num_batches_tracked=torch.tensor(100))


def random_bn(sd, prefix, c):
    """:func:`random_bn_tensors` under ``prefix`` in the state dict ``sd``."""
    sd.update({f'{prefix}.{k}': v for k, v in random_bn_tensors(c).items()})


def randomise_bn_(model, calibrate=None, seed=0):
    """Give every BatchNorm of ``model`` :func:`random_bn_tensors` (so that folding BN and
    its statistics matter); with ``calibrate`` (a callable running a forward of ``model``
    on a random batch), the running statistics are then those of that batch, as after
    training (realistic activations through deep networks). Returns ``model`` in eval mode.
    """
    from torch.nn.modules.batchnorm import _BatchNorm
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    with torch.no_grad():
        for m in bns:
            for name, tensor in random_bn_tensors(m.num_features, g).items():
                getattr(m, name).copy_(tensor)
        if calibrate is not None:
            for m in bns:
                m.reset_running_stats()
                m.momentum, momentum = None, m.momentum  # cumulative: the batch's statistics
            model.train()
            calibrate()
            for m in bns:
                m.momentum = momentum
                m.num_batches_tracked.fill_(100)
    return model.eval()


def official_layout(mmdla_state_dict):
    """An mmdla segmentor's or CenterNet's tensors under the official names (the converter's
    inverse), made contiguous (mmdla's channels_last tensors are not, and safetensors files
    store contiguous tensors only)."""
    from mmdla.models.converters import to_official_names
    return {k: v.contiguous() for k, v in to_official_names(mmdla_state_dict).items()}


def logged_scalars(work_dir) -> list:
    """The json lines MMEngine logged (``<timestamp>/vis_data/scalars.json``) for the one
    training run in ``work_dir``."""
    paths = glob.glob(str(Path(work_dir) / '*/vis_data/scalars.json'))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        return [json.loads(line) for line in f if line.strip()]
