#!/usr/bin/env python
"""Confusion matrix of a segmentation (mmseg) or classification (mmpretrain) config's
predictions on its test set: a PNG normalised per ground-truth row, and the raw counts.

    python tools/analysis_tools/confusion_matrix.py CONFIG PREDICTIONS --out cm.png
                          [--only-present] [--cmap Blues] [--title TEXT]
                          [--cfg-options KEY=VALUE ...]

PREDICTIONS is one of (mmpretrain's ``ckpt_or_result`` convention, plus mmseg's
prediction folder):

* a directory of predicted label maps, as ``tools/test.py CONFIG CKPT --out DIR`` writes
  them for segmentation configs (``<image name>.png`` per test image, class indices);
* a pickle of predictions, as ``tools/test.py CONFIG CKPT --out preds.pkl`` writes them for
  classification configs (one record per image with ``gt_label`` and ``pred_label`` /
  ``pred_score``; segmentation records with ``gt_sem_seg`` / ``pred_sem_seg`` work too);
* a checkpoint: the model (``mmdla.apis.init_model``) is run on the test set here.

Rows are the ground truth, columns the prediction, classes in the order of the dataset's
metainfo; pixels labelled ``ignore_index`` (255) are left out. The PNG shows each row in
per cent of that row's total (rows without ground truth are grey); ``--only-present``
drops the classes that occur neither in the ground truth nor in the predictions.
``--out cm.png`` also writes ``cm.npy``: the raw int64 counts of all classes (the same
order), which are printed too, with the overall accuracy (and the mIoU for segmentation,
computed as mmseg's IoUMetric does: classes with an empty union are left out).
"""
import argparse
import copy
import os.path as osp
from typing import Iterator, List, Tuple

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import numpy as np
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmdla.cli import add_cfg_options, check_image_output, exit_on_input_error
from mmdla.engine import check_config_inputs, load_config
from mmdla.errors import ConfigInputError, DataError
from mmdla.libraries import library_of
from mmdla.utils import build_in_scope
from mmdla.utils.allocator import tune_cpu_allocator

#: the tasks this tool draws (detection has mmdet's box-matching confusion matrix)
TASKS = ('segmentation', 'classification')
ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadSegAnnotations')


def _get(record, key):
    """``record[key]`` for dict records (pickles), the attribute for data samples."""
    if isinstance(record, dict):
        return record.get(key)
    return getattr(record, key, None) if key in record else None


def _array(value) -> np.ndarray:
    if isinstance(value, (dict, BaseDataElement)):
        value = _get(value, 'data')  # PixelData (or its dict in a pickle) -> its tensor
    if hasattr(value, 'cpu'):
        value = value.cpu().numpy()
    return np.asarray(value)


def record_pair(record, segmentation: bool) -> Tuple[np.ndarray, np.ndarray]:
    """(ground truth, prediction) label arrays of one prediction record or data sample."""
    if segmentation:
        gt, pred = _get(record, 'gt_sem_seg'), _get(record, 'pred_sem_seg')
        if gt is None or pred is None:
            raise DataError('a prediction record has no gt_sem_seg / pred_sem_seg: give the '
                            'label-map directory of tools/test.py --out DIR (segmentation)')
        return _array(gt).reshape(-1), _array(pred).reshape(-1)
    gt = _get(record, 'gt_label')
    pred = _get(record, 'pred_label')
    if pred is None and _get(record, 'pred_score') is not None:
        pred = _array(_get(record, 'pred_score')).argmax(-1)
    if gt is None or pred is None:
        raise DataError('a prediction record has no gt_label / pred_label: give the pickle '
                        'of tools/test.py --out preds.pkl (classification)')
    return _array(gt).reshape(-1)[:1], _array(pred).reshape(-1)[:1]


def _with_pipeline(dataset_cfg, pipeline):
    """A copy of a dataset config (and of the datasets it wraps) with ``pipeline``."""
    dataset_cfg = copy.deepcopy(dataset_cfg)
    todo = [dataset_cfg]
    while todo:
        cfg = todo.pop()
        if 'dataset' in cfg or 'datasets' in cfg:  # a wrapper
            todo += [cfg['dataset']] if 'dataset' in cfg else list(cfg['datasets'])
        else:
            cfg['pipeline'] = pipeline
    return dataset_cfg


def _innermost(dataset_cfg) -> dict:
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def build_dataset(cfg, scope: str, pipeline: list):
    """The config's test dataset with ``pipeline`` (class names, ground truth)."""
    return build_in_scope(_with_pipeline(cfg.test_dataloader.dataset, pipeline), scope, 'DATASETS')


def annotation_pipeline(cfg) -> list:
    """The test pipeline up to its label-map loading step: the original-size ground truth
    (as IoUMetric compares it with the predictions resized back to the image)."""
    pipeline = list(_innermost(cfg.test_dataloader.dataset).get('pipeline') or [])
    for i, step in enumerate(pipeline):
        if str(step.get('type', '')).split('.')[-1] in ANNOTATION_LOADERS:
            return pipeline[:i + 1]
    raise ConfigInputError('test_dataloader.dataset.pipeline loads no label maps '
                           f'({" / ".join(ANNOTATION_LOADERS)}): no ground truth to compare')


def pairs_from_label_maps(dataset, pred_dir: str) -> Iterator[Tuple[np.ndarray, np.ndarray, str]]:
    """(gt, prediction, prediction file) per test image, flattened label arrays;
    ``pred_dir/<image name>.png`` holds the prediction (+1 when the dataset reduces the zero
    label, as IoUMetric writes it)."""
    from PIL import Image
    missing = []
    for i in range(len(dataset)):
        img_path = dataset.get_data_info(i)['img_path']
        name = osp.splitext(osp.basename(img_path))[0] + '.png'
        path = osp.join(pred_dir, name)
        if not osp.isfile(path):
            missing.append(name)
            continue
        try:
            pred = np.array(Image.open(path)).astype(np.int64)
        except Exception as exc:
            raise DataError(f'cannot read predicted label map {path} ({type(exc).__name__})'
                            ': the file is corrupt or not an image') from None
        gt = dataset[i]['gt_seg_map']
        if pred.shape != gt.shape:
            raise DataError(f'predicted label map {path} is {pred.shape[0]}x{pred.shape[1]} '
                            f'but the ground truth of {img_path} is {gt.shape[0]}x'
                            f'{gt.shape[1]}')
        if getattr(dataset, 'reduce_zero_label', False):
            pred = pred - 1
        yield gt.reshape(-1), pred.reshape(-1), path
    if missing:
        raise DataError(f"'{pred_dir}' has no prediction for {len(missing)} of the "
                        f'{len(dataset)} test images (e.g. {missing[0]}): give the directory '
                        'tools/test.py CONFIG CKPT --out DIR wrote for this config')


def records_from_checkpoint(cfg, checkpoint: str) -> Iterator:
    """Data samples predicted by the checkpoint's model on the test set."""
    import torch
    from mmengine.runner import Runner

    from mmdla.apis import init_model
    tune_cpu_allocator()
    model = init_model(cfg, checkpoint)
    scope = cfg.default_scope
    with DefaultScope.overwrite_default_scope(scope):
        loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
        for batch in loader:
            with torch.no_grad():
                yield from model.test_step(batch)


def confusion_counts(pairs, num_classes: int, ignore_index: int) -> np.ndarray:
    """Raw counts (num_classes, num_classes), rows = ground truth, columns = prediction,
    from (gt, prediction[, source]) label arrays; ``ignore_index`` ground truth left out."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    for gt, pred, *source in pairs:
        gt, pred = np.asarray(gt, np.int64), np.asarray(pred, np.int64)
        keep = gt != ignore_index
        gt, pred = gt[keep], pred[keep]
        where = f' in {source[0]}' if source else ''
        for what, values in (('ground-truth', gt), ('predicted', pred)):
            bad = values[(values < 0) | (values >= num_classes)]
            if bad.size:
                raise DataError(f'{what} label {int(bad[0])}{where} is outside '
                                f'0..{num_classes - 1} (ignore: {ignore_index}): predictions '
                                "of another config's classes?")
        counts += np.bincount(
            num_classes * gt + pred, minlength=num_classes**2).reshape(num_classes, num_classes)
    return counts


def normalise_rows(counts: np.ndarray) -> np.ndarray:
    """Each row in per cent of its total; rows without ground truth are NaN."""
    totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(totals > 0, 100.0 * counts / np.maximum(totals, 1), np.nan)


def mean_iou(counts: np.ndarray) -> float:
    """mmseg's mIoU from the counts: intersection / union per class, NaN unions skipped."""
    intersect = np.diag(counts).astype(np.float64)
    union = counts.sum(0) + counts.sum(1) - intersect
    with np.errstate(invalid='ignore', divide='ignore'):
        return float(100 * np.nanmean(np.where(union > 0, intersect / union, np.nan)))


def plot(percent: np.ndarray, classes: List[str], out: str, title: str, cmap: str) -> None:
    import matplotlib
    matplotlib.use('Agg')  # files only, no display needed
    import matplotlib.pyplot as plt
    n = len(classes)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * n + 3), max(4.0, 0.5 * n + 2.5)))
    colours = copy.copy(plt.get_cmap(cmap))
    colours.set_bad('#d9d9d9')  # rows without ground truth
    image = ax.imshow(np.ma.masked_invalid(percent), cmap=colours, vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='% of the ground-truth row')
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, rotation=45, ha='right', rotation_mode='anchor')
    ax.set_yticklabels(classes)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title)
    if n <= 30:
        size = 10 if n <= 8 else 8 if n <= 15 else 6
        for i in range(n):
            for j in range(n):
                v = percent[i, j]
                if np.isfinite(v) and v >= 0.05:
                    ax.text(
                        j,
                        i,
                        f'{v:.1f}',
                        ha='center',
                        va='center',
                        fontsize=size,
                        color='white' if v > 60 else 'black')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def format_counts(counts: np.ndarray, classes: List[str], indices) -> str:
    """The counts as a table: rows 'index name', columns headed by the class index."""
    width = max(len(str(counts.max())), len(str(max(indices))), 3) + 1
    label = max(len(f'{i} {c}') for i, c in zip(indices, classes)) + 1
    head = ' ' * label + ''.join(f'{i:>{width}}' for i in indices)
    rows = [
        f'{f"{i} {c}":<{label}}' + ''.join(f'{int(v):>{width}}' for v in row)
        for i, c, row in zip(indices, classes, counts)
    ]
    return '\n'.join([head] + rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Confusion matrix of a model\'s predictions')
    parser.add_argument('config', help='the segmentation / classification config tested')
    parser.add_argument(
        'predictions',
        help='label-map directory or predictions .pkl of '
        'tools/test.py --out, or a checkpoint to run')
    parser.add_argument(
        '--out', required=True, help='output PNG (the raw counts go to the same name with .npy)')
    parser.add_argument(
        '--only-present',
        action='store_true',
        help='drop classes absent from both ground truth and predictions')
    parser.add_argument('--cmap', default='Blues', help='matplotlib colour map')
    parser.add_argument('--title', default='Normalised confusion matrix')
    add_cfg_options(parser, 'test_dataloader.dataset.data_root=DIR')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    """Returns dict(counts, classes, percent (shown classes), shown, accuracy[, mIoU])."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    library = library_of(cfg)
    scope, segmentation = library.scope, library.task == 'segmentation'
    if library.task not in TASKS:
        raise ConfigInputError(f'{args.config} is a {library.task} config: confusion_matrix.py '
                               'is for segmentation and classification configs')
    check_image_output(args.out, 'cm.png')
    if not osp.exists(args.predictions):
        raise ConfigInputError(f"predictions '{args.predictions}' do not exist: give the "
                               '--out of tools/test.py (or a checkpoint)')
    check_config_inputs(cfg, 'test')  # test data exists, classes fit the model
    dataset = build_dataset(cfg, scope, annotation_pipeline(cfg) if segmentation else [])
    classes = list(dataset.metainfo['classes'])
    ignore_index = getattr(dataset, 'ignore_index', 255) if segmentation else -1

    if osp.isdir(args.predictions):
        if not segmentation:
            raise ConfigInputError(f"'{args.predictions}' is a directory; classification "
                                   'predictions are a pickle file: tools/test.py CONFIG CKPT '
                                   '--out preds.pkl')
        pairs = pairs_from_label_maps(dataset, args.predictions)
    elif args.predictions.endswith(('.pkl', '.pickle')):
        import mmengine
        try:
            records = mmengine.load(args.predictions)
        except Exception as exc:
            raise DataError(f"cannot read predictions '{args.predictions}' "
                            f'({type(exc).__name__}): give the pickle of tools/test.py '
                            '--out') from None
        if not isinstance(records, list) or not records:
            raise DataError(f"'{args.predictions}' holds no list of prediction records")
        pairs = (record_pair(r, segmentation) for r in records)
    else:
        records = records_from_checkpoint(cfg, args.predictions)
        pairs = (record_pair(r, segmentation) for r in records)
    counts = confusion_counts(pairs, len(classes), ignore_index)
    if counts.sum() == 0:
        raise DataError('no ground truth to count (every label is ignore_index?)')

    percent = normalise_rows(counts)
    shown = np.arange(len(classes))
    if args.only_present:
        shown = np.flatnonzero((counts.sum(0) > 0) | (counts.sum(1) > 0))
    names = [classes[i] for i in shown]
    percent = percent[np.ix_(shown, shown)]
    plot(percent, names, args.out, args.title, args.cmap)
    raw = osp.splitext(args.out)[0] + '.npy'
    np.save(raw, counts)

    result = dict(
        counts=counts,
        classes=classes,
        percent=percent,
        shown=names,
        accuracy=100.0 * np.trace(counts) / counts.sum())
    print('raw counts (rows: ground truth, columns: prediction):')
    print(format_counts(counts[np.ix_(shown, shown)], names, shown))
    summary = f'accuracy {result["accuracy"]:.2f}'
    if segmentation:
        result['mIoU'] = mean_iou(counts)
        summary = f'pixel accuracy {result["accuracy"]:.2f}, mIoU {result["mIoU"]:.2f}'
    print(f'{summary}; saved {args.out} and {raw} ({len(classes)}x{len(classes)} counts, '
          'classes in the dataset order)')
    return result


if __name__ == '__main__':
    main()
