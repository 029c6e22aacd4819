from .cpu_distributed import CPUDistributedDataParallel

__all__ = ['CPUDistributedDataParallel']
