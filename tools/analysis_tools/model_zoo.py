#!/usr/bin/env python
"""Generate the README model-zoo tables and the mim metafiles from the configs.

    python tools/analysis_tools/model_zoo.py            # rewrite README tables + metafiles
    python tools/analysis_tools/model_zoo.py --check    # exit 1 if anything is stale

Parameters and GMACs come from tools/analysis_tools/get_flops.py (224x224 for the ImageNet
configs, 1024x2048 for the Cityscapes configs); top-1 of the released official weights is
quoted from ../shared/spec/dla.md (released weights, not retrained here). The README parts
between ``<!-- model-zoo:NAME -->`` and ``<!-- /model-zoo:NAME -->`` are generated.
"""
import argparse
import os.path as osp
import re
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from mmdla.models.backbones.dla import DLA  # noqa: E402

#: ImageNet top-1 of the released official weights as evaluated by timm (spec §2)
RELEASED_TOP1 = {
    'dla34': 74.63, 'dla46_c': 64.88, 'dla46x_c': 66.01, 'dla60x_c': 67.93, 'dla60': 77.04,
    'dla60x': 78.23, 'dla102': 78.02, 'dla102x': 78.52, 'dla102x2': 79.45, 'dla169': 78.70}
#: hash of each official checkpoint file name (spec §2)
RELEASED_HASH = {
    'dla34': 'ba72cf86', 'dla46_c': '2bfd52c3', 'dla46x_c': 'd761bae7', 'dla60x_c': 'b870c45c',
    'dla60': '24839fc4', 'dla60x': 'd15cacda', 'dla102': 'd94d9790', 'dla102x': 'ad62be81',
    'dla102x2': '262837b6', 'dla169': '0914e092'}
SEG_ARCHS = ('dla34', 'dla60', 'dla102', 'dla169')


def _get_flops():
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
    from get_flops import get_flops
    return get_flops


def classification_rows():
    """(arch, config, params, GMACs@224) for the ten ImageNet configs."""
    get_flops = _get_flops()
    rows = []
    for arch in DLA.arch_settings:
        config = f'configs/{arch}_imagenet.py'
        cost = get_flops(osp.join(ROOT, config), (224, 224))
        rows.append((arch, config, cost['params'], round(cost['macs'] / 1e9, 3)))
    return rows


def segmentation_rows():
    """(arch, config, params, GMACs@1024x2048) for the four Cityscapes configs."""
    get_flops = _get_flops()
    rows = []
    for arch in SEG_ARCHS:
        config = f'configs/{arch}_cityscapes.py'
        cost = get_flops(osp.join(ROOT, config), (1024, 2048))
        rows.append((arch, config, cost['params'], round(cost['macs'] / 1e9, 1)))
    return rows


def classification_table(rows) -> str:
    lines = ['| arch | params | GMACs @224 | top-1 (released weights*) | config | convert |',
             '|---|---|---|---|---|---|']
    for arch, config, params, gmacs in rows:
        lines.append(
            f'| {arch} | {params:,} | {gmacs:.3f} | {RELEASED_TOP1[arch]:.2f} | '
            f'[config]({config}) | `python tools/model_converters/dla2mmdla.py '
            f'{arch}-{RELEASED_HASH[arch]}.pth checkpoints/{arch}_imagenet.pth` |')
    return '\n'.join(lines)


def segmentation_table(rows) -> str:
    lines = ['| model | params (19 classes) | GMACs @1024x2048 | config | backbone weights |',
             '|---|---|---|---|---|']
    for arch, config, params, gmacs in rows:
        lines.append(f'| {arch} + DLA-Up | {params:,} | {gmacs:.1f} | [config]({config}) | '
                     f'`checkpoints/{arch}_imagenet.pth` (converted, see left) |')
    return '\n'.join(lines)


def parse_table(text: str):
    """Rows of a markdown table as lists of cell strings (header and rule skipped)."""
    rows = []
    for line in text.strip().splitlines()[2:]:
        rows.append([c.strip() for c in line.strip().strip('|').split('|')])
    return rows


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
                      f'          Top 1 Accuracy: {RELEASED_TOP1[arch]}',
                      f'    Config: {config}',
                      '    Converted From:',
                      '      Weights: http://dl.yf.io/dla/models/imagenet/'
                      f'{arch}-{RELEASED_HASH[arch]}.pth',
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


def generated_files():
    """{path: text} of every generated file, and the README with its tables replaced."""
    cls_rows, seg_rows = classification_rows(), segmentation_rows()
    readme_path = osp.join(ROOT, 'README.md')
    readme = open(readme_path).read()
    for name, table in [('classification', classification_table(cls_rows)),
                        ('segmentation', segmentation_table(seg_rows))]:
        pattern = re.compile(
            rf'(<!-- model-zoo:{name} -->\n)(?:.*?\n)?(<!-- /model-zoo:{name} -->)', re.S)
        if not pattern.search(readme):
            raise SystemExit(f'README.md has no <!-- model-zoo:{name} --> markers')
        readme = pattern.sub(lambda m: m.group(1) + table + '\n' + m.group(2), readme)
    return {
        readme_path: readme,
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
