from .build import build_sem_seg_evaluator
from .report import format_sem_seg_table, save_results_json
