# dla60x on ImageNet-1k with the official DLA recipe (ucbdrive/dla classify.py;
# figures in docs/reference.md):
# SGD 0.1 / 0.9 / 1e-4, batch 256 (8 GPUs x 32), 120 epochs, lr x0.1 at 30/60/90.
# Released official weights convert with
#   python tools/model_converters/dla2mmdla.py dla60x-HASH.pth checkpoints/dla60x_imagenet.pth
# and evaluate with tools/test.py configs/dla60x_imagenet.py checkpoints/dla60x_imagenet.pth
_base_ = [
    './_base_/models/dla_cls.py', './_base_/datasets/imagenet.py',
    './_base_/schedules/imagenet_120e.py', './_base_/cls_runtime.py'
]
model = dict(backbone=dict(arch='dla60x'), head=dict(in_channels=1024))
