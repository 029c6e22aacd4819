from .autocast_optim_wrapper import AutocastOptimWrapper
from .distill_optim_wrapper_constructor import DistillOptimWrapperConstructor, for_distillation

__all__ = ['AutocastOptimWrapper', 'DistillOptimWrapperConstructor', 'for_distillation']
