from .build import build_sem_seg_evaluator
from .sem_seg_evaluator import HardSegSemSegEvaluator, confusion_matrix, sem_seg_metrics
from .report import format_sem_seg_table, save_results_json
