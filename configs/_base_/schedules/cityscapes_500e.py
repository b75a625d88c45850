# DLA paper, Cityscapes: SGD lr 0.01, momentum 0.9, weight decay 1e-4, batch 16,
# poly lr (power 0.9, updated every epoch as the official code) over 500 epochs.
# With another total batch size, scale lr linearly: `tools/train.py ... --auto-scale-lr`
# (base_batch_size 16), e.g. 4 GPUs x 2 images -> lr 0.005.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=500, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=500, val_interval=25)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=16)
