# Faster R-CNN + FPN with a DLA-60 backbone on COCO: configs/faster_rcnn_dla34_fpn_1x_coco.py
# (mmdet's faster-rcnn_r50_fpn_1x_coco recipe) with DLA-60 levels 2..5 (strides 4..32,
# 128 / 256 / 512 / 1024 channels) into the FPN; frozen_stages=1, norm_eval.
# No published weights: this config has not been trained on COCO here.
# Backbone from timm's ImageNet weights by name (hf-hub:timm/dla60.in1k); a local file in
# any layout works too: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './faster_rcnn_dla34_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        arch='dla60',
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla60.in1k', prefix='backbone.')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
