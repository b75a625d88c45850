#!/usr/bin/env python
"""Generate the README model-zoo tables, docs/reference.md tables and the mim metafiles.

    python tools/analysis_tools/model_zoo.py            # rewrite the generated parts
    python tools/analysis_tools/model_zoo.py --check    # exit 1 if anything is stale

Parameters and GMACs of the README tables are computed from the configs
(``mmdla.utils.config_complexity``: 224x224 for the ImageNet configs, 1024x2048 for the
Cityscapes configs, 512x512 for the CenterNet configs; 1280x768 for the Faster R-CNN and
RetinaNet configs, Faster R-CNN's RoI head on 1000 proposals); top-1 and file names of the
released official weights, and every figure of docs/reference.md, come from
:mod:`mmdla.reference`. The parts between ``<!-- model-zoo:NAME -->`` and
``<!-- /model-zoo:NAME -->`` are generated.

Weights: every URL written is one that serves the file today. The ImageNet models'
``Weights:`` is timm's hub file (mmdla loads it as it is, converted in memory; configs and
tools take the name ``hf-hub:timm/{arch}.in1k``). CenterNet's released detectors have no
stable URL (Google Drive links on CenterNet's model-zoo page): their entries have no
``Weights:`` and say how to load the file by hand. The Faster R-CNN and RetinaNet configs
have no published weights (not trained on COCO here): no ``Weights:``. The official host
``dl.yf.io`` no longer serves, so its file names are given without a URL.
"""
import argparse
import os.path as osp
import re
import sys

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import torch.nn as nn
from mmengine.config import Config

from mmdla import reference
from mmdla.models import DLA
from mmdla.utils import build_model_from_config, config_complexity, model_complexity

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_ARCHS = tuple(reference.DLA_UP)


def classification_rows():
    """(arch, config, params, GMACs@224) for the ten ImageNet configs."""
    rows = []
    for arch in DLA.arch_settings:
        config = f'configs/{arch}_imagenet.py'
        cost = config_complexity(osp.join(ROOT, config), (224, 224))
        rows.append((arch, config, cost['params'], round(cost['macs'] / 1e9, 3)))
    return rows


#: Cityscapes MACs are counted at 256x512 and multiplied by 16: the same number as at
#: 1024x2048, since every feature map of the fully convolutional DLA-Up scales by 4 x 4 at
#: sizes divisible by its stride 32 (tests/test_tool_matrix.py checks the identity)
SEG_COUNT_SIZE, SEG_SCALE = (256, 512), 16


def segmentation_rows():
    """(arch, config, params, GMACs@1024x2048) for the four Cityscapes configs."""
    rows = []
    for arch in SEG_ARCHS:
        config = f'configs/{arch}_cityscapes.py'
        cost = config_complexity(osp.join(ROOT, config), SEG_COUNT_SIZE)
        rows.append((arch, config, cost['params'], round(SEG_SCALE * cost['macs'] / 1e9, 1)))
    return rows


#: the CenterNet DLA-34 configs and the released CenterNet models they reproduce
DET_CONFIGS = (('configs/centernet_dla34_coco.py', '1x', 'ctdet_coco_dla_1x.pth'),
               ('configs/centernet_dla34_coco_2x.py', '2x', 'ctdet_coco_dla_2x.pth'))


def detection_rows():
    """(schedule, config, params, GMACs@512x512, released file) of the CenterNet configs;
    the neck's deformable convs count as the dense 3x3 convs they generalise plus their
    offset / mask convs (:func:`mmdla.utils.model_complexity`)."""
    rows, costs = [], {}  # (the schedules share one model: counted once)
    for config, schedule, released in DET_CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, config))
        if str(cfg.model) not in costs:
            costs[str(cfg.model)] = config_complexity(cfg)
        cost = costs[str(cfg.model)]
        rows.append((schedule, config, cost['params'], round(cost['macs'] / 1e9, 1), released))
    return rows


def detection_table(rows) -> str:
    lines = [
        '| model | schedule | params | GMACs @512 | COCO val AP: no aug / flip / '
        'multi-scale (CenterNet\'s weights*) | config | weights | test them (loaded as they '
        'are) |', '|---|---|---|---|---|---|---|---|'
    ]
    for schedule, config, params, gmacs, released in rows:
        ap = getattr(reference.CENTERNET, f'ap_{schedule}')
        lines.append(f'| CenterNet DLA-34 (DCN) | {schedule} | {params:,} | {gmacs:.1f} | '
                     f'{" / ".join(f"{v:.1f}" for v in ap)} | [config]({config}) | '
                     f'[CenterNet]({CENTERNET_ZOO}) (Google Drive `{released}`, no stable '
                     f'URL) | `python tools/test.py {config} {released}` |')
    return '\n'.join(lines)


#: the Faster R-CNN / RetinaNet configs (mmdet's recipes on DLA levels 2..5): model, arch
MMDET_DETECTORS = (
    ('configs/faster_rcnn_dla34_fpn_1x_coco.py', 'Faster R-CNN + FPN', 'dla34'),
    ('configs/faster_rcnn_dla60_fpn_1x_coco.py', 'Faster R-CNN + FPN', 'dla60'),
    ('configs/retinanet_dla34_fpn_1x_coco.py', 'RetinaNet', 'dla34'),
)
#: their MACs are given at 1280x768 (H, W = 768, 1280: near mmdet's 1333x800 test scale) and
#: counted at 640x384, times 4: every feature map of the backbone, the FPN and the dense heads
#: scales by 2 x 2 between sizes divisible by the largest stride, 128 (RetinaNet's P7)
MMDET_SIZE, MMDET_COUNT_SIZE, MMDET_SCALE = (768, 1280), (384, 640), 4
#: the RoIs a Faster R-CNN's RoI head is counted on (its rpn test max_per_img)
NUM_PROPOSALS = 1000


class _DenseTwoStage(nn.Module):
    """The part of a Faster R-CNN that runs on the whole image: backbone, FPN, RPN head."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, x):
        return self.detector.rpn_head(self.detector.extract_feat(x))


def mmdet_detector_rows():
    """(model, arch, config, params, GMACs @1280x768) of the Faster R-CNN / RetinaNet
    configs; Faster R-CNN's RoI head counted on NUM_PROPOSALS RoIs (how many survive the
    RPN's NMS depends on the image; RoIAlign has no MACs): its fcs' weights per RoI."""
    rows = []
    for config, name, arch in MMDET_DETECTORS:
        model = build_model_from_config(osp.join(ROOT, config))
        roi_macs = 0
        if hasattr(model, 'roi_head'):
            roi_macs = NUM_PROPOSALS * sum(
                m.weight.numel() for m in model.roi_head.modules() if isinstance(m, nn.Linear))
            model = _DenseTwoStage(model)
        cost = model_complexity(model, (3, *MMDET_COUNT_SIZE))
        macs = MMDET_SCALE * cost['macs'] + roi_macs
        rows.append((name, arch, config, cost['params'], round(macs / 1e9, 1)))
    return rows


def mmdet_detectors_table(rows) -> str:
    lines = [
        '| model | backbone | params | GMACs @1280x768* | config | weights (backbone init) |',
        '|---|---|---|---|---|---|'
    ]
    for name, arch, config, params, gmacs in rows:
        lines.append(f'| {name} | {arch} | {params:,} | {gmacs:.1f} | [config]({config}) | '
                     f'none published (not trained on COCO here); `{hub_name(arch)}` |')
    return '\n'.join(lines)


def released_file(arch: str) -> str:
    """The official ImageNet file name (dl.yf.io, now offline)."""
    return f'{arch}-{reference.IMAGENET[arch].weights_hash}.pth'


# Where the weights come from today. Every timm DLA has a Hugging Face hub repository
# timm/{arch}.in1k holding model.safetensors (and pytorch_model.bin), the official tensors
# republished (timm's default_cfgs); mmdla loads them by name (mmdla.models.hub).
TIMM_HUB = 'https://huggingface.co/timm/{arch}.in1k'
TIMM_FILE = 'model.safetensors'
#: CenterNet's model zoo (Google Drive files, linked from this page)
CENTERNET_ZOO = 'https://github.com/xingyizhou/CenterNet/blob/master/readme/MODEL_ZOO.md'


def timm_repo(arch: str) -> str:
    return f'timm/{arch}.in1k'


def hub_name(arch: str) -> str:
    """The name configs and tools load the ImageNet weights of ``arch`` by."""
    return f'hf-hub:{timm_repo(arch)}'


def hub_file_url(arch: str) -> str:
    """The URL of timm's safetensors file of ``arch`` (mim's ``Weights:``)."""
    return f'{TIMM_HUB.format(arch=arch)}/resolve/main/{TIMM_FILE}'


def classification_table(rows) -> str:
    lines = [
        '| arch | params | GMACs @224 | top-1 (released weights*) | config | weights (by name) |',
        '|---|---|---|---|---|---|'
    ]
    for arch, config, params, gmacs in rows:
        lines.append(f'| {arch} | {params:,} | {gmacs:.3f} | {reference.IMAGENET[arch].top1:.2f} | '
                     f'[config]({config}) | [`{hub_name(arch)}`]({TIMM_HUB.format(arch=arch)}) |')
    return '\n'.join(lines)


def weights_table() -> str:
    """Where each arch's ImageNet weights can be had today (timm's hub; the official host
    is offline) and CenterNet's detection weights (for the README's weights section)."""
    lines = [
        '| arch | timm hub repository (files) | official file (dl.yf.io, offline) | '
        'mmdla config |', '|---|---|---|---|'
    ]
    for arch in DLA.all_arch_settings():
        official = (f'`{released_file(arch)}`' if arch in reference.IMAGENET else '- (timm only)')
        config = f'configs/{arch}_imagenet.py'
        config = (f'[config]({config})'
                  if osp.isfile(osp.join(ROOT, config)) else '- (backbone: `DLA(arch=...)`)')
        lines.append(f'| {arch} | [{timm_repo(arch)}]({TIMM_HUB.format(arch=arch)}) '
                     f'(`{TIMM_FILE}`, `pytorch_model.bin`) | {official} | {config} |')
    for config, schedule, released in DET_CONFIGS:
        lines.append(f'| CenterNet DLA-34 {schedule} | [CenterNet model zoo]({CENTERNET_ZOO}) '
                     f'(Google Drive, `{released}`) | - | [config]({config}) |')
    return '\n'.join(lines)


def segmentation_table(rows) -> str:
    lines = [
        '| model | params (19 classes) | GMACs @1024x2048 | config | backbone weights |',
        '|---|---|---|---|---|'
    ]
    for arch, config, params, gmacs in rows:
        lines.append(f'| {arch} + DLA-Up | {params:,} | {gmacs:.1f} | [config]({config}) | '
                     f'`{hub_name(arch)}` (in the config) |')
    return '\n'.join(lines)


def collection(name: str, data: str, architecture: str, title: str, url: str) -> list:
    """The header of a mim metafile: one collection, then ``Models:``."""
    return [
        'Collections:', f'  - Name: {name}', '    Metadata:', f'      Training Data: {data}',
        f'      Architecture: [{architecture}]', '    Paper:', f'      Title: {title}',
        f'      URL: {url}', 'Models:'
    ]


def model_entry(name: str, in_collection: str, gmacs: float, params: int) -> list:
    return [
        f'  - Name: {name}', f'    In Collection: {in_collection}', '    Metadata:',
        f'      FLOPs: {int(round(gmacs * 1e9))}', f'      Parameters: {params}', '    Results:'
    ]


DLA_PAPER = ('Deep Layer Aggregation', 'https://arxiv.org/abs/1707.06484')


def metafile(task: str, rows) -> str:
    """A mim metafile (YAML) for the rows of one task."""
    if task == 'classification':
        lines = collection('DLA', 'ImageNet-1k', 'Deep Layer Aggregation, IDA, HDA', *DLA_PAPER)
        for arch, config, params, gmacs in rows:
            lines += model_entry(f'{arch}_imagenet', 'DLA', gmacs, params) + [
                '      - Task: Image Classification', '        Dataset: ImageNet-1k',
                '        Metrics:', f'          Top 1 Accuracy: {reference.IMAGENET[arch].top1}',
                f'    Config: {config}', f'    Weights: {hub_file_url(arch)}',
                '    Converted From:', '      Code: https://github.com/ucbdrive/dla'
            ]
    elif task == 'detection':
        lines = collection('CenterNet-DLA', 'COCO', 'Deep Layer Aggregation, CenterNet, DCNv2',
                           'Objects as Points', 'https://arxiv.org/abs/1904.07850')
        for schedule, config, params, gmacs, released in rows:
            ap = getattr(reference.CENTERNET, f'ap_{schedule}')
            lines += model_entry(
                f'centernet_dla34_coco_{schedule}', 'CenterNet-DLA', gmacs, params) + [
                    '      - Task: Object Detection', '        Dataset: COCO', '        Metrics:',
                    f'          box AP: {ap[0]}', f'    Config: {config}',
                    f"    # Weights: none with a stable URL: CenterNet's {released} (Google "
                    f'Drive, {CENTERNET_ZOO}) loads as it is: python tools/test.py {config} '
                    f'{released}', '    Converted From:',
                    '      Code: https://github.com/xingyizhou/CenterNet'
                ]
    elif task == 'dla_detectors':
        lines = collection('DLA-Detectors', 'COCO',
                           'Deep Layer Aggregation, FPN, Faster R-CNN, RetinaNet', *DLA_PAPER)
        for name, arch, config, params, gmacs in rows:
            lines += model_entry(
                osp.splitext(osp.basename(config))[0], 'DLA-Detectors', gmacs, params) + [
                    '      - Task: Object Detection', '        Dataset: COCO',
                    '        Metrics: {}', f'    Config: {config}',
                    '    # Weights: none published (not trained on COCO '
                    f'here); backbone from {hub_name(arch)}'
                ]
    else:
        lines = collection('DLA-Up', 'Cityscapes', 'Deep Layer Aggregation, DLA-Up', *DLA_PAPER)
        for arch, config, params, gmacs in rows:
            lines += model_entry(f'{arch}up_cityscapes', 'DLA-Up', gmacs, params) + [
                '      - Task: Semantic Segmentation', '        Dataset: Cityscapes',
                '        Metrics: {}', f'    Config: {config}'
            ]
    return '\n'.join(lines) + '\n'


MODEL_INDEX = 'Import:\n  - configs/metafile_classification.yml\n' \
              '  - configs/metafile_segmentation.yml\n  - configs/metafile_detection.yml\n' \
              '  - configs/metafile_dla_detectors.yml\n'


def _short(value):
    """A recipe value for a table: floats to 4 significant digits, dicts as k=v."""
    if isinstance(value, float):
        return f'{value:.4g}'
    if isinstance(value, (tuple, list)):
        return '(' + ', '.join(str(_short(v)) for v in value) + ')'
    if isinstance(value, dict):
        return ' '.join(f'{k}={_short(v)}' for k, v in value.items())
    return value


def reference_tables() -> dict:
    """The tables of docs/reference.md, from :mod:`mmdla.reference` alone."""
    imagenet = [
        '| arch | official checkpoint params | clean classifier params | backbone params '
        '| GMACs @224 | top-1 (released) | official file | timm hub |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for arch, f in reference.IMAGENET.items():
        imagenet.append(f'| {arch} | {f.official_params:,} | {f.params:,} | '
                        f'{f.backbone_params:,} | {f.gmacs:.3f} | {f.top1:.2f} | '
                        f'`{released_file(arch)}` | `{timm_repo(arch)}` |')
    dla_up = [
        '| model | official DLASeg params (19) | clean params (19) | clean params (11) '
        '| GMACs @1024x2048 (clean) | GMACs (official) |', '|---|---|---|---|---|---|'
    ]
    for arch, f in reference.DLA_UP.items():
        official = '-' if f.official_gmacs is None else f'{f.official_gmacs:.1f}'
        dla_up.append(f'| {arch} + DLA-Up | {f.official_params:,} | {f.params_19:,} | '
                      f'{f.params_11:,} | {f.gmacs:.1f} | {official} |')
    recipes = ['| recipe | settings |', '|---|---|']
    for name in ('IMAGENET_RECIPE', 'FINETUNE_RECIPE', 'CITYSCAPES_RECIPE', 'CAMVID_RECIPE'):
        settings = ', '.join(f'{k}={_short(v)}' for k, v in getattr(reference, name).items())
        recipes.append(f'| `{name}` | {settings} |')
    recipes.append(f'| `TTA_SCALES` | {reference.TTA_SCALES} |')
    return {
        'imagenet': '\n'.join(imagenet),
        'dla_up': '\n'.join(dla_up),
        'recipes': '\n'.join(recipes)
    }


def replace_marked(text: str, path: str, name: str, table: str) -> str:
    """``text`` with the part between the ``<!-- model-zoo:NAME -->`` markers replaced."""
    pattern = re.compile(rf'(<!-- model-zoo:{name} -->\n)(?:.*?\n)?(<!-- /model-zoo:{name} -->)',
                         re.S)
    if not pattern.search(text):
        raise SystemExit(f'{path} has no <!-- model-zoo:{name} --> markers')
    return pattern.sub(lambda m: m.group(1) + table + '\n' + m.group(2), text)


def generated_files():
    """{path: text} of every generated file (README and docs with their tables replaced)."""
    cls_rows, seg_rows, det_rows = classification_rows(), segmentation_rows(), detection_rows()
    mmdet_rows = mmdet_detector_rows()
    readme_path = osp.join(ROOT, 'README.md')
    readme = open(readme_path).read()
    for name, table in [('classification', classification_table(cls_rows)),
                        ('segmentation', segmentation_table(seg_rows)),
                        ('detection', detection_table(det_rows)),
                        ('mmdet-detectors', mmdet_detectors_table(mmdet_rows)),
                        ('weights', weights_table())]:
        readme = replace_marked(readme, 'README.md', name, table)
    docs_path = osp.join(ROOT, 'docs', 'reference.md')
    docs = open(docs_path).read()
    for name, table in reference_tables().items():
        docs = replace_marked(docs, 'docs/reference.md', name, table)
    return {
        readme_path: readme,
        docs_path: docs,
        osp.join(ROOT, 'configs', 'metafile_classification.yml'):
        metafile('classification', cls_rows),
        osp.join(ROOT, 'configs', 'metafile_segmentation.yml'): metafile('segmentation', seg_rows),
        osp.join(ROOT, 'configs', 'metafile_detection.yml'): metafile('detection', det_rows),
        osp.join(ROOT, 'configs', 'metafile_dla_detectors.yml'):
        metafile('dla_detectors', mmdet_rows),
        osp.join(ROOT, 'model-index.yml'): MODEL_INDEX,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--check', action='store_true', help='only check, write nothing')
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files().items():
        current = open(path).read() if osp.exists(path) else None
        if current != text:
            stale.append(osp.relpath(path, ROOT))
            if not args.check:
                with open(path, 'w') as f:
                    f.write(text)
    if args.check and stale:
        print('model_zoo: stale (run tools/analysis_tools/model_zoo.py): ' + ', '.join(stale))
        return 1
    print('model_zoo: ' + ('up to date' if not stale else 'updated ' + ', '.join(stale)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
