#!/usr/bin/env python
"""Generate the README model-zoo tables, docs/reference.md tables and the mim metafiles.

    python tools/analysis_tools/model_zoo.py            # rewrite the generated parts
    python tools/analysis_tools/model_zoo.py --check    # exit 1 if anything is stale

Parameters and GMACs of the README tables are computed from the configs
(``mmdla.utils.config_complexity``: 224x224 for the ImageNet configs, 1024x2048 for the
Cityscapes configs); top-1 and file names of the released official weights, and every
figure of docs/reference.md, come from :mod:`mmdla.reference`. The parts between
``<!-- model-zoo:NAME -->`` and ``<!-- /model-zoo:NAME -->`` are generated.
"""
import argparse
import os.path as osp
import re
import sys

import mmdla  # noqa: F401  (compat fixes + registration)
from mmdla import reference
from mmdla.models import DLA
from mmdla.utils import config_complexity

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


def segmentation_rows():
    """(arch, config, params, GMACs@1024x2048) for the four Cityscapes configs."""
    rows = []
    for arch in SEG_ARCHS:
        config = f'configs/{arch}_cityscapes.py'
        cost = config_complexity(osp.join(ROOT, config), (1024, 2048))
        rows.append((arch, config, cost['params'], round(cost['macs'] / 1e9, 1)))
    return rows


def released_file(arch: str) -> str:
    return f'{arch}-{reference.IMAGENET[arch].weights_hash}.pth'


def classification_table(rows) -> str:
    lines = ['| arch | params | GMACs @224 | top-1 (released weights*) | config | convert |',
             '|---|---|---|---|---|---|']
    for arch, config, params, gmacs in rows:
        lines.append(
            f'| {arch} | {params:,} | {gmacs:.3f} | {reference.IMAGENET[arch].top1:.2f} | '
            f'[config]({config}) | `python tools/model_converters/dla2mmdla.py '
            f'{released_file(arch)} checkpoints/{arch}_imagenet.pth` |')
    return '\n'.join(lines)


def segmentation_table(rows) -> str:
    lines = ['| model | params (19 classes) | GMACs @1024x2048 | config | backbone weights |',
             '|---|---|---|---|---|']
    for arch, config, params, gmacs in rows:
        lines.append(f'| {arch} + DLA-Up | {params:,} | {gmacs:.1f} | [config]({config}) | '
                     f'`checkpoints/{arch}_imagenet.pth` (converted, see left) |')
    return '\n'.join(lines)


def metafile(task: str, rows) -> str:
    """A mim metafile (YAML) for the rows of one task."""
    if task == 'classification':
        lines = ['Collections:', '  - Name: DLA', '    Metadata:',
                 '      Training Data: ImageNet-1k',
                 '      Architecture: [Deep Layer Aggregation, IDA, HDA]',
                 '    Paper:', '      Title: Deep Layer Aggregation',
                 '      URL: https://arxiv.org/abs/1707.06484', 'Models:']
        for arch, config, params, gmacs in rows:
            lines += [f'  - Name: {arch}_imagenet', '    In Collection: DLA', '    Metadata:',
                      f'      FLOPs: {int(round(gmacs * 1e9))}', f'      Parameters: {params}',
                      '    Results:', '      - Task: Image Classification',
                      '        Dataset: ImageNet-1k', '        Metrics:',
                      f'          Top 1 Accuracy: {reference.IMAGENET[arch].top1}',
                      f'    Config: {config}',
                      '    Converted From:',
                      '      Weights: ' + reference.WEIGHTS_URL.format(
                          arch=arch, hash=reference.IMAGENET[arch].weights_hash),
                      '      Code: https://github.com/ucbdrive/dla']
    else:
        lines = ['Collections:', '  - Name: DLA-Up', '    Metadata:',
                 '      Training Data: Cityscapes',
                 '      Architecture: [Deep Layer Aggregation, DLA-Up]',
                 '    Paper:', '      Title: Deep Layer Aggregation',
                 '      URL: https://arxiv.org/abs/1707.06484', 'Models:']
        for arch, config, params, gmacs in rows:
            lines += [f'  - Name: {arch}up_cityscapes', '    In Collection: DLA-Up',
                      '    Metadata:', f'      FLOPs: {int(round(gmacs * 1e9))}',
                      f'      Parameters: {params}', '    Results:',
                      '      - Task: Semantic Segmentation', '        Dataset: Cityscapes',
                      '        Metrics: {}', f'    Config: {config}']
    return '\n'.join(lines) + '\n'


MODEL_INDEX = 'Import:\n  - configs/metafile_classification.yml\n' \
              '  - configs/metafile_segmentation.yml\n'


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
    imagenet = ['| arch | official checkpoint params | clean classifier params | backbone params '
                '| GMACs @224 | top-1 (released) | official file |', '|---|---|---|---|---|---|---|']
    for arch, f in reference.IMAGENET.items():
        imagenet.append(f'| {arch} | {f.official_params:,} | {f.params:,} | '
                        f'{f.backbone_params:,} | {f.gmacs:.3f} | {f.top1:.2f} | '
                        f'`{released_file(arch)}` |')
    dla_up = ['| model | official DLASeg params (19) | clean params (19) | clean params (11) '
              '| GMACs @1024x2048 (clean) | GMACs (official) |', '|---|---|---|---|---|---|']
    for arch, f in reference.DLA_UP.items():
        official = '-' if f.official_gmacs is None else f'{f.official_gmacs:.1f}'
        dla_up.append(f'| {arch} + DLA-Up | {f.official_params:,} | {f.params_19:,} | '
                      f'{f.params_11:,} | {f.gmacs:.1f} | {official} |')
    recipes = ['| recipe | settings |', '|---|---|']
    for name in ('IMAGENET_RECIPE', 'FINETUNE_RECIPE', 'CITYSCAPES_RECIPE', 'CAMVID_RECIPE'):
        settings = ', '.join(f'{k}={_short(v)}' for k, v in getattr(reference, name).items())
        recipes.append(f'| `{name}` | {settings} |')
    recipes.append(f'| `TTA_SCALES` | {reference.TTA_SCALES} |')
    return {'imagenet': '\n'.join(imagenet), 'dla_up': '\n'.join(dla_up),
            'recipes': '\n'.join(recipes)}


def replace_marked(text: str, path: str, name: str, table: str) -> str:
    """``text`` with the part between the ``<!-- model-zoo:NAME -->`` markers replaced."""
    pattern = re.compile(
        rf'(<!-- model-zoo:{name} -->\n)(?:.*?\n)?(<!-- /model-zoo:{name} -->)', re.S)
    if not pattern.search(text):
        raise SystemExit(f'{path} has no <!-- model-zoo:{name} --> markers')
    return pattern.sub(lambda m: m.group(1) + table + '\n' + m.group(2), text)


def generated_files():
    """{path: text} of every generated file (README and docs with their tables replaced)."""
    cls_rows, seg_rows = classification_rows(), segmentation_rows()
    readme_path = osp.join(ROOT, 'README.md')
    readme = open(readme_path).read()
    for name, table in [('classification', classification_table(cls_rows)),
                        ('segmentation', segmentation_table(seg_rows))]:
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
        osp.join(ROOT, 'configs', 'metafile_segmentation.yml'):
            metafile('segmentation', seg_rows),
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
