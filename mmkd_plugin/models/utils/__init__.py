from .distill_state_dict import handle_loaded_checkpoints
from .distiller_checks import check_loss_forward_mappings, check_recorder_sources, check_records
from .nonfinite_loss import FiniteLossMixin, check_finite
from .unused_parameters import touch_parameters
from .model_config import build_model, infer_scope, load_model_cfg, resolve_model_cfg
from .teacher_inputs import TeacherInputs
from .teacher_checkpoint import (extract_state_dict, inherit_modules, load_teacher_checkpoint,
                                 state_dict_mismatch)

__all__ = [
    'build_model', 'infer_scope', 'load_model_cfg', 'resolve_model_cfg', 'check_recorder_sources',
    'check_loss_forward_mappings', 'check_records', 'extract_state_dict', 'handle_loaded_checkpoints',
    'inherit_modules', 'load_teacher_checkpoint', 'state_dict_mismatch', 'TeacherInputs', 'check_finite',
    'FiniteLossMixin', 'touch_parameters'
]
