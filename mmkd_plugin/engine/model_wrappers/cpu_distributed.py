"""DDP on machines without a GPU (``torchrun`` with gloo): MMEngine's wrapper, without device ids and
with ``SyncBatchNorm`` turned back into ``BatchNorm``.

torch's ``SyncBatchNorm`` refuses CPU tensors, and stock mmseg configs use it (``norm_cfg=SyncBN``).
MMEngine reverts it only when training is not distributed. ``tools_common.configure_cpu_distributed``
selects this wrapper for ``--launcher pytorch`` on a machine without CUDA.
"""
import logging

from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS
from torch import nn


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes (gloo); takes the same arguments."""

    def __init__(self, module: nn.Module, **kwargs) -> None:
        if any(isinstance(m, nn.SyncBatchNorm) for m in module.modules()):
            module = revert_sync_batchnorm(module)
            print_log('CPU distributed training: SyncBatchNorm cannot run on CPU tensors, so every '
                      'SyncBN layer was turned back into BatchNorm (statistics per process).',
                      logger='current', level=logging.WARNING)
        kwargs['device_ids'] = None
        super().__init__(module=module, **kwargs)
