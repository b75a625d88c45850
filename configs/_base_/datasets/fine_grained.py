# Shared pipelines of the fine-grained sets: the ImageNet augmentation at 224x224
# (RandomResizedCrop + flip + PCA lighting; resize short side 256 + centre crop 224).
_base_ = './imagenet.py'
train_dataloader = dict(batch_size=8)  # x 8 GPUs = 64
val_dataloader = dict(batch_size=8)
test_dataloader = dict(batch_size=8)
