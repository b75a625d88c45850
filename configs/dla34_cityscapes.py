# DLA-34 + DLA-Up on Cityscapes, the paper's recipe (§4.4, docs/reference.md):
# crop 832, batch 16 (8 GPUs x 2), SGD lr 0.01 / momentum 0.9 / wd 1e-4, poly 0.9 over
# 500 epochs, SyncBN, rotation +-10, scale [0.5, 2], colour jitter 0.4, flip.
# Backbone from timm's ImageNet weights by name (hf-hub:timm/dla34.in1k: downloaded once
# into the Hugging Face cache, converted in memory); a local file in any layout works too:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
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
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla34.in1k', prefix='backbone.')))
