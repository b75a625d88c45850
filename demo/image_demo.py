#!/usr/bin/env python
"""Run a DLA classification, segmentation or detection config + checkpoint on one image.

    python demo/image_demo.py IMG CONFIG CHECKPOINT [--out-file OUT.png] [--topk 5]
                              [--opacity 0.5] [--score-thr 0.3] [--device cpu]

Classification (mmpretrain configs, e.g. configs/dla34_imagenet.py with converted ImageNet
weights): prints the ``--topk`` classes with their names and scores; with ``--out-file`` it
also saves the image with the top class and score written on it.
Segmentation (mmseg configs): the overlay (``--out-file``, default overlay.png) blends the
predicted classes' palette colours into the image and adds a legend (colour + name) of the
classes present, largest first.
Detection (mmdet configs, e.g. CenterNet DLA-34): the boxes scoring at least
``--score-thr`` are drawn with their class names and scores (``--out-file``, default
overlay.png).
Class names come from the checkpoint's ``meta['dataset_meta']`` (written by training and by
tools/model_converters/dla2mmdla.py), else from the config's test dataset.
"""
import argparse
import os
import os.path as osp

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import cv2
import numpy as np
import torch

from mmdla.apis import init_model
from mmdla.cli import exit_on_input_error
from mmdla.engine import load_config
from mmdla.errors import ConfigInputError, DataError
from mmdla.libraries import IMAGE_TASKS, library_of
from mmdla.utils.allocator import tune_cpu_allocator


def overlay_with_legend(img_bgr, pred, classes, palette, opacity=0.5):
    """(H, W, 3) BGR image + (H, W) label map -> BGR overlay with a legend panel."""
    palette = np.asarray(palette, np.uint8)[:, ::-1]  # RGB palette -> BGR
    valid = pred < len(palette)
    colour = np.zeros_like(img_bgr)
    colour[valid] = palette[pred[valid]]
    blended = img_bgr.copy()
    blended[valid] = (img_bgr[valid] * (1 - opacity) + colour[valid] * opacity).astype(np.uint8)
    ids, counts = np.unique(pred[valid], return_counts=True)
    order = ids[np.argsort(-counts)]
    row_h = max(16, img_bgr.shape[0] // 24)
    panel_w = max(140, int(row_h * 9))
    panel_h = max(img_bgr.shape[0], row_h * (len(order) + 1))
    panel = np.full((panel_h, panel_w, 3), 255, np.uint8)
    font_scale = row_h / 30
    for i, class_id in enumerate(order):
        y = row_h // 2 + i * row_h
        cv2.rectangle(panel, (6, y), (6 + row_h - 4, y + row_h - 4),
                      tuple(int(c) for c in palette[class_id]), -1)
        cv2.putText(panel, str(classes[class_id]), (row_h + 8, y + row_h - 6),
                    cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
    canvas = np.full((panel_h, img_bgr.shape[1], 3), 255, np.uint8)
    canvas[:img_bgr.shape[0]] = blended
    return np.concatenate([canvas, panel], axis=1)


def draw_detections(img_bgr, bboxes, labels, scores, classes, score_thr=0.3):
    """Boxes (x1, y1, x2, y2) with 'class score' captions; returns (image, drawn count)."""
    out = img_bgr.copy()
    rng = np.random.RandomState(0)
    colours = [tuple(int(c) for c in rng.randint(40, 230, 3)) for _ in classes]
    keep = [i for i in np.argsort(-scores) if scores[i] >= score_thr]
    scale = max(0.3, img_bgr.shape[0] / 600)
    for i in keep:
        x1, y1, x2, y2 = (int(round(v)) for v in bboxes[i])
        colour = colours[int(labels[i])]
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, max(1, int(2 * scale)))
        cv2.putText(out, f'{classes[int(labels[i])]} {scores[i]:.2f}', (x1, max(8, y1 - 2)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale, colour, 1, cv2.LINE_AA)
    return out, [str(classes[int(labels[i])]) for i in keep]


def classify(model, cfg, img_bgr):
    """The classifier's ``DataSample`` for a BGR image, through the config's test pipeline
    (its file loading replaced by the decoded image, as mmpretrain's inferencer does)."""
    import torch
    from mmengine.dataset import Compose, default_collate
    from mmpretrain.registry import TRANSFORMS
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    steps = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not steps:
        raise ConfigInputError('the config has no test_dataloader.dataset.pipeline (nor '
                               'test_pipeline) to prepare the image with')
    loaders = ('LoadImageFromFile', 'mmpretrain.LoadImageFromFile')
    pipeline = Compose([TRANSFORMS.build(t) for t in steps if t['type'] not in loaders])
    data = pipeline(dict(img=img_bgr, img_shape=img_bgr.shape[:2], ori_shape=img_bgr.shape[:2]))
    with torch.no_grad():
        return model.test_step(default_collate([data]))[0]


def top_classes(pred_score, classes, k=5):
    """[(class id, class name, score)] of the ``k`` best scores, best first."""
    scores = pred_score.float().cpu()
    values, ids = scores.topk(min(k, scores.numel()))
    return [(int(i), str(classes[int(i)]) if classes else str(int(i)), float(v))
            for v, i in zip(values, ids)]


def draw_label(img_bgr, text):
    """The image with ``text`` on a white band above it (the image itself uncovered)."""
    scale = max(0.4, img_bgr.shape[1] / 640)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    band = np.full((h + base + 8, img_bgr.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (4, h + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([band, img_bgr], axis=0)


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='DLA demo: classify, segment or detect one '
                                     'image')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-file',
        help='output image (segmentation and detection: '
        'default overlay.png; classification: only when given)')
    parser.add_argument('--topk', type=int, default=5, help='classification: classes printed')
    parser.add_argument('--opacity', type=float, default=0.5, help='overlay opacity 0..1')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='detection: lowest score of a drawn box')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args(argv)
    if not osp.isfile(args.img):
        raise ConfigInputError(f"image '{args.img}' does not exist")
    if args.out_file and osp.isdir(args.out_file):
        raise ConfigInputError(f"--out-file '{args.out_file}' is a directory: give a file name")
    if args.topk < 1:
        raise ConfigInputError(f'--topk must be at least 1, got {args.topk}')
    img = cv2.imread(args.img, cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"cannot decode image '{args.img}' (corrupt or not an image)")
    cfg = load_config(args.config)
    library_of(cfg, 'image_demo.py', IMAGE_TASKS)
    if torch.device(args.device).type == 'cpu':
        tune_cpu_allocator()  # a process-wide setting: the tools', not init_model's
    model = init_model(cfg, args.checkpoint, device=args.device)  # strict load, fast path
    classes = model.dataset_meta.get('classes')  # saved by training, else the dataset's
    task = library_of(cfg).task
    if task == 'classification':
        top = top_classes(classify(model, cfg, img).pred_score, classes, args.topk)
        print(f'image_demo: {args.img}: top-{len(top)}')
        for rank, (class_id, name, score) in enumerate(top, 1):
            print(f'  {rank}. {name} (class {class_id}): {score:.4f}')
        if args.out_file:
            os.makedirs(osp.dirname(osp.abspath(args.out_file)), exist_ok=True)
            cv2.imwrite(args.out_file, draw_label(img, f'{top[0][1]} {top[0][2]:.3f}'))
            print(f'image_demo: wrote {args.out_file}')
        return top
    args.out_file = args.out_file or 'overlay.png'
    os.makedirs(osp.dirname(osp.abspath(args.out_file)), exist_ok=True)
    if task == 'detection':
        from mmdet.apis import inference_detector
        pred = inference_detector(model, img).pred_instances.cpu().numpy()
        out, drawn = draw_detections(img, pred.bboxes, pred.labels, pred.scores, classes
                                     or [str(i) for i in range(int(pred.labels.max()) + 1)],
                                     args.score_thr)
        cv2.imwrite(args.out_file, out)
        print(f'image_demo: wrote {args.out_file} ({len(drawn)} boxes with score >= '
              f'{args.score_thr}: {", ".join(drawn)})')
        return
    from mmseg.apis import inference_model
    result = inference_model(model, img)
    pred = result.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
    classes = classes or [str(i) for i in range(int(pred.max()) + 1)]
    palette = model.dataset_meta.get('palette') or np.random.RandomState(0).randint(
        0, 255, (len(classes), 3))
    out = overlay_with_legend(img, pred, classes, palette, args.opacity)
    cv2.imwrite(args.out_file, out)
    present = ', '.join(str(classes[i]) for i in np.unique(pred) if i < len(classes))
    print(f'image_demo: wrote {args.out_file} ({pred.shape[0]}x{pred.shape[1]}; classes: '
          f'{present})')


if __name__ == '__main__':
    main()
