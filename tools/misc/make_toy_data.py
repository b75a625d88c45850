#!/usr/bin/env python
"""Generate small synthetic datasets (no download): street scenes or texture classes.

    python tools/misc/make_toy_data.py data/toy [--seed 0] [--num-train 48] [--num-val 16]
    python tools/misc/make_toy_data.py data/toy_cls --task cls [--num-train 64 --num-val 16]
    python tools/misc/make_toy_data.py data/toy_det --task det [--num-train 48 --num-val 16]

``--task seg`` (default): street scenes in Cityscapes layout, described below.
``--task cls``: ImageNet-style folders ``OUT/{train,val}/CLASS/NNNN.png`` of 64x64 images
of four texture classes (``disc``, ``hstripes``, ``vstripes``, ``checker``) with random
colours, sizes, phases and noise; ``--num-train`` / ``--num-val`` are per class.
``--task det``: the same street scenes with COCO-format boxes of their objects (car, person,
traffic sign, traffic light): ``OUT/images/{train,val}/NNNNNN.png`` and
``OUT/annotations/instances_{train,val}.json``. A box spans the *visible* pixels of one
object (a car's body, windows and wheels; a pedestrian's torso and head; one sign or light)
after everything drawn in front of it; objects with fewer than 12 visible pixels or a side
under 3 pixels are left out (``iscrowd`` 0, ``area`` = visible pixels).

Street scenes:
Writes ``OUT/leftImg8bit/{train,val}/toycity/toycity_NNNNNN_000019_leftImg8bit.png`` and
``OUT/gtFine/{train,val}/toycity/toycity_NNNNNN_000019_gtFine_labelTrainIds.png`` (19-class
Cityscapes trainIds, 255 = ignore), so mmseg's ``CityscapesDataset`` reads it as it is.

Each scene is drawn procedurally: sky with clouds above a random horizon, a row of buildings
with windows, trees, a perspective road with lane markings between sidewalks, terrain
patches, cars with windows and wheels, poles with traffic signs and lights, pedestrians,
and an ego-vehicle band at the bottom that is labelled ignore (255) as in Cityscapes.
The thin classes are drawn at sizes a 128-pixel-high image can resolve (poles at least
2 px wide, growing towards the camera; signs and lights scaled with them; pedestrians about
0.4 times as wide as tall) and every scene has some (2-4 poles, 1-4 pedestrians, 1-3 terrain
patches).
Colours are drawn per scene from overlapping ranges and every image gets texture, noise,
blur and a global brightness change, so colour alone does not give the class away.
The output is a deterministic function of ``--seed``.
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

# Cityscapes trainIds used by the toy scenes
ROAD, SIDEWALK, BUILDING, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY, PERSON, CAR = (0, 1, 2, 5, 6,
                                                                                      7, 8, 9, 10,
                                                                                      11, 13)
IGNORE = 255


def _jitter(rng, bgr, spread=25):
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in bgr)


def _texture(rng, shape, scale, amplitude):
    """Smooth random texture (H, W) in [-amplitude, amplitude]."""
    h, w = shape
    small = rng.standard_normal((max(2, h // scale), max(2, w // scale))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * amplitude


class Scene:
    """An image (BGR uint8), its label map and its object-instance map, painted back to
    front (instance 0: no object; ``instances`` maps an id to its trainId)."""

    def __init__(self, rng, height, width):
        self.rng, self.h, self.w = rng, height, width
        self.img = np.zeros((height, width, 3), np.float32)
        self.label = np.full((height, width), IGNORE, np.uint8)
        self.instance = np.zeros((height, width), np.int32)
        self.instances = {}
        self.rows = np.arange(height)[:, None] * np.ones((1, width))  # row of each pixel

    def new_instance(self, label) -> int:
        self.instances[len(self.instances) + 1] = label
        return len(self.instances)

    def paint(self, mask, label, colour, texture=0.0, scale=8, instance=0):
        if not mask.any():
            return
        tex = _texture(self.rng, (self.h, self.w), scale, texture)[..., None] if texture else 0
        colour_img = np.asarray(colour, np.float32)[None, None, :] + tex
        self.img[mask] = np.broadcast_to(colour_img, self.img.shape)[mask]
        self.label[mask] = label
        self.instance[mask] = instance  # whatever is painted over an object hides it

    def mask(self, draw):
        """A boolean mask drawn by ``draw(canvas)`` (cv2 calls with colour 1)."""
        canvas = np.zeros((self.h, self.w), np.uint8)
        draw(canvas)
        return canvas.astype(bool)


def draw_sky(s, horizon):
    """Paints the sky (a vertical gradient with 0-3 clouds) above ``horizon``."""
    h, w, rows = s.h, s.w, s.rows
    sky_top, sky_bottom = _jitter(s.rng, (200, 140, 90), 30), _jitter(s.rng, (235, 210, 180), 20)
    t = (rows / max(horizon, 1))[..., None]
    gradient = (1 - t) * np.array(sky_top) + t * np.array(sky_bottom)
    s.paint(rows < horizon, SKY, (0, 0, 0))
    s.img[rows < horizon] = gradient[rows < horizon]
    for _ in range(s.rng.integers(0, 4)):
        centre = (int(s.rng.integers(0, w)), int(s.rng.integers(0, max(horizon // 2, 2))))
        axes = (int(s.rng.integers(w // 16, w // 6)), int(s.rng.integers(h // 30 + 1, h // 12 + 2)))
        cloud = s.mask(lambda c: cv2.ellipse(c, centre, axes, 0, 0, 360, 1, -1))
        s.paint(cloud & (rows < horizon), SKY, _jitter(s.rng, (240, 240, 240), 10), 8, 4)


def draw_buildings(s, horizon, base):
    """Paints a row of buildings with window grids from near ``horizon`` down to ``base``."""
    rng, h, w = s.rng, s.h, s.w
    x = int(-rng.integers(0, w // 8))
    while x < w:
        bw = int(rng.integers(w // 10, w // 4))
        top = int(rng.integers(int(h * 0.05), max(int(h * 0.06), horizon - h // 10)))
        rect = s.mask(lambda c: cv2.rectangle(c, (x, top), (x + bw, base), 1, -1))
        wall = _jitter(rng, (rng.integers(60, 170), ) * 3, 40)
        s.paint(rect, BUILDING, wall, 12, 6)
        window = _jitter(rng, (60, 50, 40), 30)
        step_x, step_y = max(4, bw // 5), max(4, (base - top) // 6)
        for wy in range(top + 3, base - step_y, step_y):
            for wx in range(x + 3, x + bw - 3, step_x):
                win = s.mask(lambda c: cv2.rectangle(c, (wx, wy),
                                                     (wx + step_x // 2, wy + step_y // 2), 1, -1))
                s.paint(win, BUILDING, window, 6)
        x += bw


def draw_trees(s, horizon):
    """Paints 1-4 tree crowns over the buildings and sky around ``horizon``."""
    rng, h, w = s.rng, s.h, s.w
    for _ in range(rng.integers(1, 5)):
        cx = int(rng.integers(0, w))
        cy = int(horizon - rng.integers(0, h // 6))
        axes = (int(rng.integers(w // 20, w // 8)), int(rng.integers(h // 12, h // 5)))
        crown = s.mask(lambda c: cv2.ellipse(c, (cx, cy), axes, 0, 0, 360, 1, -1))
        s.paint(crown, VEGETATION, _jitter(rng, (50, 130, 60), 35), 30, 3)


def draw_road(s, base):
    """Paints sidewalk below ``base`` and a road trapezoid on it; returns (road mask, vanishing
    point x, road's left and right x at the bottom)."""
    rng, h, w = s.rng, s.h, s.w
    vanish_x = int(w * rng.uniform(0.35, 0.65))
    s.paint(s.rows >= base, SIDEWALK, _jitter(rng, (150, 150, 160), 30), 10, 3)
    left_bottom = int(w * rng.uniform(-0.3, 0.1))
    right_bottom = int(w * rng.uniform(0.9, 1.3))
    road_poly = np.array([[vanish_x - w // 30, base], [vanish_x + w // 30, base], [right_bottom, h],
                          [left_bottom, h]], np.int32)
    road = s.mask(lambda c: cv2.fillPoly(c, [road_poly], 1))
    s.paint(road & (s.rows >= base), ROAD, _jitter(rng, (90, 90, 95), 30), 10, 8)
    return road, vanish_x, left_bottom, right_bottom


def draw_terrain(s, base, road):
    """Paints 1-3 grass verges at the image sides on the ground below ``base``, off the road."""
    rng, h, w = s.rng, s.h, s.w
    for _ in range(rng.integers(1, 4)):
        side = rng.choice([0, w - 1])
        axes = (int(rng.integers(w // 10, w // 5)), int(rng.integers(h // 14, h // 7)))
        patch = s.mask(lambda c: cv2.ellipse(c, (int(side), int(rng.integers(base, h))), axes, 0, 0,
                                             360, 1, -1))
        s.paint(patch & (s.rows >= base) & ~road, TERRAIN, _jitter(rng, (70, 140, 130), 30), 25, 3)


def draw_lane_markings(s, base, vanish_x, road):
    """Paints five white lane-marking dashes on the road (still labelled road)."""
    h, w = s.h, s.w
    for frac in np.linspace(0.1, 0.9, 5):
        y0 = int(base + (h - base) * frac)
        y1 = int(base + (h - base) * min(frac + 0.08, 1))
        x0 = int(vanish_x + (w // 2 - vanish_x) * (y0 - base) / max(h - base, 1) * 0.2)
        line = s.mask(lambda c: cv2.line(c, (x0, y0), (x0, y1), 1, max(1, (y0 - base) // 25)))
        s.paint(line & road, ROAD, (220, 220, 220), 5)


def draw_traffic_light(s, px, top, size):
    """Paints one traffic-light instance (housing and a red or green dot) at the pole top."""
    rng = s.rng
    light = s.mask(lambda c: cv2.rectangle(c, (px - size // 2, top),
                                           (px + size // 2, top + 2 * size), 1, -1))
    instance = s.new_instance(LIGHT)
    s.paint(light, LIGHT, _jitter(rng, (30, 30, 30), 15), 5, instance=instance)
    dot = s.mask(lambda c: cv2.circle(c, (px, top + size // 2), max(1, size // 3), 1, -1))
    s.paint(dot, LIGHT, (40, 40, 230) if rng.random() < 0.5 else (60, 220, 60), instance=instance)


def draw_poles(s, horizon, base, left_bottom, right_bottom):
    """Paints 2-4 sidewalk poles, each topped by a sign or traffic light, some with a second
    sign lower down; thickness and sign size grow towards the camera."""
    rng, h, w = s.rng, s.h, s.w
    for _ in range(rng.integers(2, 5)):
        px = int(
            rng.choice([
                rng.integers(0, max(1, left_bottom + w // 8)),
                rng.integers(min(w - 1, right_bottom - w // 8), w)
            ]))
        py_bottom = int(rng.integers(base + (h - base) // 4, h))
        height_px = int((py_bottom - horizon) * rng.uniform(1.2, 2.0)) + h // 10
        top = max(2, py_bottom - height_px)
        thick = max(2, (py_bottom - base) // 12)
        pole = s.mask(lambda c: cv2.line(c, (px, top), (px, py_bottom), 1, thick))
        s.paint(pole, POLE, _jitter(rng, (110, 110, 110), 30), 5)
        size = max(4, int(thick * 2.5))
        if rng.random() < 0.5:
            sign = s.mask(lambda c: cv2.circle(c, (px, top), size, 1, -1))
            s.paint(sign, SIGN, _jitter(rng, (20, 200, 220), 30), 5, instance=s.new_instance(SIGN))
        else:
            draw_traffic_light(s, px, top, size)
        if rng.random() < 0.4:
            sy = int(top + (py_bottom - top) * rng.uniform(0.3, 0.5))
            plate = s.mask(lambda c: cv2.rectangle(c, (px - size, sy - size // 2),
                                                   (px + size, sy + size // 2), 1, -1))
            s.paint(
                plate, SIGN, _jitter(rng, (200, 200, 200), 40), 5, instance=s.new_instance(SIGN))


def draw_cars(s, base, vanish_x):
    """Paints 1-4 car instances (body, windows, wheels) on the road, smaller towards the
    horizon."""
    rng, h, w = s.rng, s.h, s.w
    for _ in range(rng.integers(1, 5)):
        cy = int(rng.uniform(base + (h - base) * 0.15, h * 0.95))
        depth = (cy - base) / max(h - base, 1)
        cw, ch = int(w * (0.08 + 0.25 * depth)), int(h * (0.05 + 0.15 * depth))
        cx = int(vanish_x + (rng.uniform(-0.9, 0.9)) * (w * 0.5) * depth)
        body = s.mask(lambda c: cv2.rectangle(c, (cx - cw // 2, cy - ch),
                                              (cx + cw // 2, cy), 1, -1))
        car = s.new_instance(CAR)
        s.paint(
            body,
            CAR,
            _jitter(rng, tuple(int(v) for v in rng.integers(20, 235, 3)), 10),
            8,
            4,
            instance=car)
        glass = s.mask(lambda c: cv2.rectangle(c, (cx - cw // 3, cy - ch + 2),
                                               (cx + cw // 3, cy - ch // 2), 1, -1))
        s.paint(glass, CAR, _jitter(rng, (80, 60, 50), 20), 5, instance=car)
        r = max(2, ch // 5)
        for wx in (cx - cw // 3, cx + cw // 3):
            wheel = s.mask(lambda c: cv2.circle(c, (wx, cy), r, 1, -1))
            s.paint(wheel, CAR, (20, 20, 20), 3, instance=car)


def draw_pedestrians(s, base):
    """Paints 1-4 pedestrian instances (torso and head) on the sidewalks at the image sides."""
    rng, h, w = s.rng, s.h, s.w
    for _ in range(rng.integers(1, 5)):
        py = int(rng.integers(base + (h - base) // 5, h))
        depth = (py - base) / max(h - base, 1)
        ph = int(h * (0.08 + 0.22 * depth))
        px = int(rng.choice([rng.integers(0, w // 5), rng.integers(4 * w // 5, w)]))
        torso = s.mask(lambda c: cv2.ellipse(c, (px, py - ph // 2),
                                             (max(3, ph // 5), ph // 2), 0, 0, 360, 1, -1))
        person = s.new_instance(PERSON)
        s.paint(
            torso,
            PERSON,
            _jitter(rng, tuple(int(v) for v in rng.integers(30, 200, 3)), 10),
            6,
            instance=person)
        head = s.mask(lambda c: cv2.circle(c, (px, py - ph), max(2, ph // 7), 1, -1))
        s.paint(head, PERSON, _jitter(rng, (120, 150, 200), 20), instance=person)


def draw_ego_vehicle(s):
    """Paints (7 times in 10) an ego-vehicle band at the bottom, labelled ignore."""
    if s.rng.random() < 0.7:
        ego = s.rows >= s.h - int(s.h * s.rng.uniform(0.05, 0.1))
        s.paint(ego, IGNORE, _jitter(s.rng, (30, 30, 35), 10), 4)


def finish_image(s):
    """Returns the scene's image as uint8 BGR after a brightness change, noise and blur."""
    img = s.img * s.rng.uniform(0.7, 1.3) + s.rng.normal(0, 8, s.img.shape)
    return cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (3, 3), 0.6)


def draw_scene(rng, height, width):
    """A random street scene: (BGR image, trainId label map, visible_boxes of its objects)."""
    s = Scene(rng, height, width)
    horizon = int(height * rng.uniform(0.35, 0.5))
    base = horizon + int(height * 0.04)  # where the buildings stand on the ground
    draw_sky(s, horizon)
    draw_buildings(s, horizon, base)
    draw_trees(s, horizon)
    road, vanish_x, left_bottom, right_bottom = draw_road(s, base)
    draw_terrain(s, base, road)
    draw_lane_markings(s, base, vanish_x, road)
    draw_poles(s, horizon, base, left_bottom, right_bottom)
    draw_cars(s, base, vanish_x)
    draw_pedestrians(s, base)
    draw_ego_vehicle(s)
    return finish_image(s), s.label, visible_boxes(s)


#: the toy detection classes (COCO category id = position + 1) and their trainIds
DET_CLASSES = (('car', CAR), ('person', PERSON), ('traffic sign', SIGN), ('traffic light', LIGHT))


def visible_boxes(scene, min_pixels=12, min_side=3):
    """[(x, y, w, h, trainId, visible pixels)] of the objects still visible in ``scene``."""
    boxes = []
    for instance, label in scene.instances.items():
        ys, xs = np.nonzero(scene.instance == instance)
        if len(xs) < min_pixels:
            continue
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        if min(x1 - x0, y1 - y0) >= min_side:
            boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0), label, len(xs)))
    return boxes


def write_split(out_dir, split, count, seed_offset, seed, size):
    img_dir = osp.join(out_dir, 'leftImg8bit', split, 'toycity')
    ann_dir = osp.join(out_dir, 'gtFine', split, 'toycity')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng([seed, seed_offset + i])
        img, label, _ = draw_scene(rng, *size)
        stem = f'toycity_{seed_offset + i:06d}_000019'
        cv2.imwrite(osp.join(img_dir, f'{stem}_leftImg8bit.png'), img)
        cv2.imwrite(osp.join(ann_dir, f'{stem}_gtFine_labelTrainIds.png'), label)


CLS_CLASSES = ('disc', 'hstripes', 'vstripes', 'checker')


def draw_texture(rng, class_name, size=64):
    """A (size, size, 3) BGR image of one texture class."""
    fg = rng.integers(0, 256, 3).astype(np.float32)
    bg = rng.integers(0, 256, 3).astype(np.float32)
    while np.abs(fg - bg).sum() < 240:  # keep the pattern visible
        bg = rng.integers(0, 256, 3).astype(np.float32)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    period = rng.uniform(6, 16)
    phase = rng.uniform(0, period)
    if class_name == 'disc':
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        mask = (yy - cy)**2 + (xx - cx)**2 < rng.uniform(size * 0.15, size * 0.35)**2
    elif class_name == 'hstripes':
        mask = ((yy + phase) % period) < period / 2
    elif class_name == 'vstripes':
        mask = ((xx + phase) % period) < period / 2
    else:
        mask = (((yy + phase) % period) < period / 2) ^ (((xx + phase) % period) < period / 2)
    img = np.where(mask[..., None], fg, bg) + rng.normal(0, 12, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_cls_split(out_dir, split, per_class, seed_offset, seed):
    for c, name in enumerate(CLS_CLASSES):
        folder = osp.join(out_dir, split, name)
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            rng = np.random.default_rng([seed, seed_offset + c, i])
            cv2.imwrite(osp.join(folder, f'{i:04d}.png'), draw_texture(rng, name))


def write_det_split(out_dir, split, count, seed_offset, seed, size):
    """Scenes as in write_split (same seeds: the same images) with COCO boxes."""
    import json
    img_dir = osp.join(out_dir, 'images', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    category = {train_id: k + 1 for k, (_, train_id) in enumerate(DET_CLASSES)}
    images, annotations = [], []
    for i in range(count):
        rng = np.random.default_rng([seed, seed_offset + i])
        img, _, boxes = draw_scene(rng, *size)
        name = f'{seed_offset + i:06d}.png'
        cv2.imwrite(osp.join(img_dir, name), img)
        images.append(dict(id=i + 1, file_name=name, height=size[0], width=size[1]))
        for x, y, w, h, label, area in boxes:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=category[label],
                    bbox=[x, y, w, h],
                    area=area,
                    iscrowd=0))
    categories = [dict(id=k + 1, name=name) for k, (name, _) in enumerate(DET_CLASSES)]
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return len(annotations)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Synthetic toy datasets')
    parser.add_argument('out_dir', help='output root, e.g. data/toy')
    parser.add_argument('--task', choices=['seg', 'cls', 'det'], default='seg')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, help='seg / det: 48 scenes; cls: 64 per class')
    parser.add_argument('--num-val', type=int, help='seg / det: 16 scenes; cls: 16 per class')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[128, 256],
        metavar=('H', 'W'),
        help='seg / det scene size')
    args = parser.parse_args(argv)
    if args.task == 'cls':
        num_train = 64 if args.num_train is None else args.num_train
        num_val = 16 if args.num_val is None else args.num_val
        write_cls_split(args.out_dir, 'train', num_train, 0, args.seed)
        write_cls_split(args.out_dir, 'val', num_val, 1000, args.seed)
        print(f'make_toy_data: wrote {num_train} train and {num_val} val images per class '
              f'of {len(CLS_CLASSES)} classes to {args.out_dir} (seed {args.seed})')
        return
    if min(args.size) < 32:
        parser.error('--size must be at least 32 x 32')
    num_train = 48 if args.num_train is None else args.num_train
    num_val = 16 if args.num_val is None else args.num_val
    if args.task == 'det':
        boxes = [
            write_det_split(args.out_dir, 'train', num_train, 0, args.seed, args.size),
            write_det_split(args.out_dir, 'val', num_val, 100000, args.seed, args.size)
        ]
        print(f'make_toy_data: wrote {num_train} train and {num_val} val scenes of '
              f'{args.size[0]}x{args.size[1]} with {boxes[0]} / {boxes[1]} boxes of '
              f'{len(DET_CLASSES)} classes to {args.out_dir} (seed {args.seed})')
        return
    write_split(args.out_dir, 'train', num_train, 0, args.seed, args.size)
    write_split(args.out_dir, 'val', num_val, 100000, args.seed, args.size)
    print(f'make_toy_data: wrote {num_train} train and {num_val} val scenes of '
          f'{args.size[0]}x{args.size[1]} to {args.out_dir} (seed {args.seed})')


if __name__ == '__main__':
    sys.exit(main())
