# DLA paper, CamVid: SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 16, 1200 epochs,
# lr x0.1 at epoch 800. Scale lr with the total batch size (--auto-scale-lr, base 16).
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='MultiStepLR', milestones=[800], gamma=0.1, begin=0, end=1200, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1200, val_interval=50)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=16)
