# DLA-34 + DLA-Up on Cityscapes, the paper's recipe (§4.4, docs/reference.md):
# crop 832, batch 16 (8 GPUs x 2), SGD lr 0.01 / momentum 0.9 / wd 1e-4, poly 0.9 over
# 500 epochs, SyncBN, rotation +-10, scale [0.5, 2], colour jitter 0.4, flip.
# Backbone from ImageNet weights converted with
#   python tools/model_converters/dla2mmdla.py dla34-ba72cf86.pth checkpoints/dla34_imagenet.pth
# (or train from scratch: --cfg-options model.backbone.init_cfg=None).
# Multi-scale test of the paper: tools/test.py configs/dla34_cityscapes.py CKPT --tta
_base_ = [
    './_base_/models/dla_up.py', './_base_/datasets/cityscapes.py', './_base_/seg_runtime.py',
    './_base_/schedules/cityscapes_500e.py'
]
crop_size = (832, 832)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/dla34_imagenet.pth', prefix='backbone.')))
