from .dla import DLA, BasicBlock, Bottleneck, BottleneckX, Root, Tree

__all__ = ['DLA', 'BasicBlock', 'Bottleneck', 'BottleneckX', 'Root', 'Tree']
