#!/usr/bin/env python
"""Run a DLA segmentation or detection config + checkpoint on one image and save a picture.

    python demo/image_demo.py IMG CONFIG CHECKPOINT --out-file overlay.png
                              [--opacity 0.5] [--score-thr 0.3] [--device cpu]

Segmentation (mmseg configs): the overlay blends the predicted classes' palette colours into
the image and adds a legend (colour + name) of the classes present, largest first.
Detection (mmdet configs, e.g. CenterNet DLA-34): the boxes scoring at least
``--score-thr`` are drawn with their class names and scores.
"""
import argparse
import os
import os.path as osp

import mmdla  # noqa: F401  (compat fixes + registration)
import cv2
import numpy as np

from mmdla.apis import init_model
from mmdla.engine import load_config
from mmdla.errors import ConfigInputError, DataError, exit_on_input_error


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


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='DLA segmentation demo')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-file', default='overlay.png', help='output image')
    parser.add_argument('--opacity', type=float, default=0.5, help='overlay opacity 0..1')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: lowest score of a drawn box')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args(argv)
    if not osp.isfile(args.img):
        raise ConfigInputError(f"image '{args.img}' does not exist")
    if osp.isdir(args.out_file):
        raise ConfigInputError(f"--out-file '{args.out_file}' is a directory: give a file name")
    img = cv2.imread(args.img, cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"cannot decode image '{args.img}' (corrupt or not an image)")
    cfg = load_config(args.config)
    if cfg.default_scope == 'mmpretrain':
        raise ConfigInputError(f'{args.config} is a classification config; the demo draws '
                               'segmentation and detection results')
    model = init_model(cfg, args.checkpoint, device=args.device)  # strict load, fast path
    classes = model.dataset_meta.get('classes')  # saved by training, else the dataset's
    os.makedirs(osp.dirname(osp.abspath(args.out_file)), exist_ok=True)
    if cfg.default_scope == 'mmdet':
        from mmdet.apis import inference_detector
        pred = inference_detector(model, img).pred_instances.cpu().numpy()
        out, drawn = draw_detections(img, pred.bboxes, pred.labels, pred.scores,
                                     classes or [str(i) for i in range(int(pred.labels.max()) + 1)],
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
