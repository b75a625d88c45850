#!/usr/bin/env python
"""Plot training curves (loss, lr, mIoU, top-1, ...) of one or more runs into one PNG.

    python tools/analysis_tools/analyze_logs.py LOG [LOG ...] --out curves.png
                          [--keys loss lr mIoU] [--legend NAME ...] [--title TEXT]

LOG: an MMEngine json log (``WORK_DIR/<timestamp>/vis_data/scalars.json`` or
``<timestamp>.json``, one json dict per line), a run directory ``WORK_DIR/<timestamp>`` or
a work dir. A work dir's runs that trained (``--resume`` continues in a new timestamped run)
are joined in time order; a later run's value replaces an earlier one at the same
iteration. Runs of ``tools/test.py`` (no training lines) are skipped.

Training lines hold ``loss``, ``lr``, ... with ``iter`` (and ``epoch`` in epoch-based runs);
validation lines hold ``mIoU``, ``accuracy/top1``, ``coco/bbox_mAP``, ... with ``step``.
Every key gets its own panel, x = training iteration, one colour per run. Validation
``step`` is the iteration in iteration-based runs and the epoch in epoch-based ones; an
epoch is placed at the last logged training iteration of that epoch (exact when the logger
interval divides the epoch length). Prints first / last / min / max of every curve.
"""
import argparse
import json
import os.path as osp
from glob import glob
from typing import Dict, List, Tuple

from mmdla.cli import check_image_output, exit_on_input_error
from mmdla.errors import ConfigInputError, DataError

#: {key: (iterations, values)} of one run
Curves = Dict[str, Tuple[List[int], List[float]]]


def find_json_logs(path: str) -> List[str]:
    """The json logs of ``path`` (a file, a ``<timestamp>`` run dir or a work dir), in time
    order; for a dir, ``scalars.json`` (else ``<timestamp>.json``) of each run."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise ConfigInputError(f"log '{path}' does not exist: give a json log, a run "
                               'directory (WORK_DIR/<timestamp>) or a work dir')
    runs = [path] if osp.isdir(osp.join(path, 'vis_data')) else sorted(
        d for d in glob(osp.join(path, '*')) if osp.isdir(osp.join(d, 'vis_data')))
    logs = []
    for run in runs:
        vis = osp.join(run, 'vis_data')
        scalars = osp.join(vis, 'scalars.json')
        named = osp.join(vis, osp.basename(osp.normpath(run)) + '.json')
        logs += [f for f in (scalars, named) if osp.isfile(f)][:1]
    if not logs:
        raise ConfigInputError(f"'{path}' holds no MMEngine json log "
                               '(<timestamp>/vis_data/scalars.json): is it a work dir?')
    return logs


def read_lines(log: str) -> List[dict]:
    lines = []
    with open(log) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise DataError(f'{log}:{number} is not a json line: give an MMEngine json '
                                'log (vis_data/scalars.json)') from None
            if not isinstance(record, dict):
                raise DataError(f'{log}:{number} is not a json dict')
            lines.append(record)
    return lines


def parse_run(logs: List[str]) -> Curves:
    """Curves of one run from its json logs (joined in order, later values win)."""
    train, val = {}, {}  # key -> {iteration: value}
    epoch_end = {}  # epoch -> last logged training iteration
    epoch_based = False
    for log in logs:
        lines = read_lines(log)
        if not any('iter' in r for r in lines):
            continue  # a test run: no training curve
        for record in lines:
            if 'iter' in record:
                it = int(record['iter'])
                if 'epoch' in record:
                    epoch_based = True
                    epoch_end[int(record['epoch'])] = max(it,
                                                          epoch_end.get(int(record['epoch']), 0))
                for key, value in record.items():
                    if key not in ('iter', 'epoch', 'step') and _is_number(value):
                        train.setdefault(key, {})[it] = float(value)
            elif 'step' in record:
                for key, value in record.items():
                    if key != 'step' and _is_number(value):
                        val.setdefault(key, {})[int(record['step'])] = float(value)
    curves = {}
    for key, points in train.items():
        curves[key] = tuple(map(list, zip(*sorted(points.items()))))
    for key, points in val.items():
        if key in ('time', 'data_time') and key in curves:
            continue  # the training time per iteration is the meaningful one
        if epoch_based:  # step = epoch: place it at the epoch's last logged iteration
            points = {
                max((i for e, i in epoch_end.items() if e <= step), default=0): v
                for step, v in points.items()
            }
        curves[key] = tuple(map(list, zip(*sorted(points.items()))))
    return curves


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run_name(path: str) -> str:
    """A legend entry for ``path``: its work dir's name (or the file name)."""
    path = osp.normpath(path)
    if osp.isfile(path):  # WORK/<ts>/vis_data/x.json -> WORK
        parts = path.split(osp.sep)
        return parts[-4] if len(parts) >= 4 and parts[-2] == 'vis_data' else parts[-1]
    if osp.isdir(osp.join(path, 'vis_data')):
        return osp.basename(osp.dirname(path)) or path
    return osp.basename(path)


def plot(runs: List[Curves],
         names: List[str],
         keys: List[str],
         out: str,
         title: str = None) -> None:
    """One panel per key (shared x: iteration), one colour per run; saved to ``out``."""
    import matplotlib
    matplotlib.use('Agg')  # files only, no display needed
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        len(keys), 1, figsize=(8, 2.6 * len(keys) + 0.6), sharex=True, squeeze=False)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, key in zip(axes[:, 0], keys):
        for i, (curves, name) in enumerate(zip(runs, names)):
            if key not in curves:
                continue
            xs, ys = curves[key]
            few = len(xs) <= 30  # validation metrics: a point per evaluation
            ax.plot(
                xs,
                ys,
                color=colours[i % len(colours)],
                label=name,
                marker='o' if few else None,
                markersize=4,
                linewidth=1.2 if few else 0.9)
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc='best')
    axes[-1, 0].set_xlabel('iteration')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot curves of MMEngine json logs')
    parser.add_argument('logs', nargs='+', help='json logs, run dirs or work dirs')
    parser.add_argument(
        '--keys',
        nargs='+',
        default=['loss'],
        help='what to plot, e.g. loss lr mIoU accuracy/top1 (default: loss)')
    parser.add_argument('--legend', nargs='+', help='one name per LOG (default: work dir)')
    parser.add_argument('--title', help='figure title')
    parser.add_argument('--out', required=True, help='output image, e.g. curves.png')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    """Returns ``{run name: curves}`` (what was plotted)."""
    args = parse_args(argv)
    names = args.legend or [run_name(p) for p in args.logs]
    if len(names) != len(args.logs):
        raise ConfigInputError(f'--legend has {len(names)} names for {len(args.logs)} logs: '
                               'give one name per log')
    runs = [parse_run(find_json_logs(p)) for p in args.logs]
    for path, curves in zip(args.logs, runs):
        if not curves:
            raise DataError(f"'{path}' has no training lines (a test run's log?)")
    for key in args.keys:
        if not any(key in c for c in runs):
            found = sorted(set().union(*runs))
            raise ConfigInputError(f"no log has '{key}'; they have: {', '.join(found)}")
    check_image_output(args.out, 'curves.png')
    plot(runs, names, args.keys, args.out, args.title)
    for name, curves in zip(names, runs):
        for key in args.keys:
            if key in curves:
                xs, ys = curves[key]
                print(f'{name} {key}: {len(xs)} points, iterations {xs[0]}-{xs[-1]}, first '
                      f'{ys[0]:.4g}, last {ys[-1]:.4g}, min {min(ys):.4g}, max {max(ys):.4g}')
    print(f'saved {args.out}')
    return dict(zip(names, runs))


if __name__ == '__main__':
    main()
