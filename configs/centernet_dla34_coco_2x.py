# CenterNet DLA-34, ctdet_coco_dla_2x: 230 epochs, lr x0.1 at 180 and 210.
_base_ = './centernet_dla34_coco.py'
max_epochs = 230
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[180, 210],
        gamma=0.1)
]
