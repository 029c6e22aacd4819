from .model_config import build_model, infer_scope, load_model_cfg, resolve_model_cfg
from .module_names import check_recorder_sources
from .teacher_checkpoint import (extract_state_dict, inherit_modules, load_teacher_checkpoint,
                                 state_dict_mismatch)

__all__ = [
    'build_model', 'infer_scope', 'load_model_cfg', 'resolve_model_cfg', 'check_recorder_sources',
    'extract_state_dict', 'inherit_modules', 'load_teacher_checkpoint', 'state_dict_mismatch'
]
