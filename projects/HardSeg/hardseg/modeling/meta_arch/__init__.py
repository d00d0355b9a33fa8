from .hard_segmentor import HardSegmentor
from .hard_mask_former import HardMaskFormer
from .teacher_student import TeacherStudent, build_per_pixel_model, build_student_and_teacher
from .u2pl import U2PL
from .u2pl_config import U2PLConfig
from .hiast import HIAST
from .adaptsegnet import AdaptSegNetWarmup
