# Fine-tuning schedule for the fine-grained sets. The DLA paper (§4.2) fine-tunes the
# ImageNet-pretrained networks on these sets without giving the schedule; this recipe is
# mmdla's choice: the official ImageNet recipe (SGD, momentum 0.9, wd 1e-4, step decay)
# with the learning rate lowered to 0.01 for fine-tuning, total batch 64, 60 epochs with
# lr x0.1 at epochs 40 and 55. --auto-scale-lr scales lr linearly from batch 64.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[40, 55], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=60, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
