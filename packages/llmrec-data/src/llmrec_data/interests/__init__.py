"""Interest summaries from watched-video topic labels (the product's second task).

Public API: `load_label_data` (read the real labels), `target_profile` / `format_profile` (the
documented profile rule and the three-line output), `UserSampler` (simulated users) and
`prepare_interests` (write train/valid/test.jsonl). CLI: `llmrec-data interests prepare`.
"""

from llmrec_data.interests.build import InterestsConfig, build_examples, prepare_interests
from llmrec_data.interests.labels import Label, LabelData, Video, load_label_data
from llmrec_data.interests.profile import (
    Profile,
    ProfileConfig,
    format_profile,
    score_labels,
    target_profile,
)
from llmrec_data.interests.users import User, UserConfig, UserSampler

__all__ = [
    "InterestsConfig",
    "Label",
    "LabelData",
    "Profile",
    "ProfileConfig",
    "User",
    "UserConfig",
    "UserSampler",
    "Video",
    "build_examples",
    "format_profile",
    "load_label_data",
    "prepare_interests",
    "score_labels",
    "target_profile",
]
