# dla34 on ImageNet-1k with the official DLA recipe (ucbdrive/dla classify.py;
# figures in docs/reference.md):
# SGD 0.1 / 0.9 / 1e-4, batch 256 (8 GPUs x 32), 120 epochs, lr x0.1 at 30/60/90.
# The released official weights (republished by timm) evaluate by name:
#   python tools/test.py configs/dla34_imagenet.py hf-hub:timm/dla34.in1k
_base_ = [
    './_base_/models/dla_cls.py', './_base_/datasets/imagenet.py',
    './_base_/schedules/imagenet_120e.py', './_base_/cls_runtime.py'
]
model = dict(backbone=dict(arch='dla34'), head=dict(in_channels=512))
