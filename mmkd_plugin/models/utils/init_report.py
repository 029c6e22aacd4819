"""MMEngine's per-parameter initialisation report, without the frozen teacher's hundreds of entries.

``BaseModule.init_weights`` of the top-level model writes one entry per parameter (to the log file when
there is one, else to the console). For a distillation model most entries are the teacher's, all saying
"The value is the same before and after calling init_weights": the report keeps the student's and the
distiller's entries and says in one line what the teacher is.
"""
from logging import FileHandler

from mmengine.logging import MMLogger, print_log


def dump_init_info(model, teacher_summary: str, skip_prefix: str = 'teacher.') -> None:
    """Write ``model``'s initialisation report (``_params_init_info``) without the parameters under
    ``skip_prefix`` (the loaded teacher), which ``teacher_summary`` sums up in one line."""
    entries = [(name, param) for name, param in model.named_parameters() if not name.startswith(skip_prefix)]
    logger = MMLogger.get_current_instance()
    files = [h for h in logger.handlers if isinstance(h, FileHandler)]
    for handler in files:
        handler.stream.write('Name of parameter - Initialization information\n')
        for name, param in entries:
            handler.stream.write(f'\n{name} - {param.shape}: \n{model._params_init_info[param]["init_info"]} \n')
        handler.stream.flush()
    if not files:
        for name, param in entries:
            logger.debug(f'\n{name} - {param.shape}: \n{model._params_init_info[param]["init_info"]} \n ')
    print_log(teacher_summary, logger='current')
