"""The attention-check rule (pure), shared by every channel: MTurk's rejection suggestions
(``mturk.rules``) and Prolific's FAILED_ATTENTION_CHECK completion code (``recruitment.prolific``)."""

from __future__ import annotations

DEFAULT_MIN_PASS_RATE = 0.8


def check_pass_rate(min_pass_rate: float) -> float:
    if not 0 <= min_pass_rate <= 1:
        raise ValueError("The minimum pass rate is a fraction between 0 and 1 (e.g. 0.8).")
    return min_pass_rate


def failed_attention(*, passed: int, total: int, min_pass_rate: float) -> bool:
    """Below ``min_pass_rate`` of the attention checks answered correctly. Without checks there is no
    evidence, so nobody fails."""
    check_pass_rate(min_pass_rate)
    return bool(total) and passed / total < min_pass_rate
