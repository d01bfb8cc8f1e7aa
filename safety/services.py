"""Safety services (writes and checks with side effects)."""
from django.core.exceptions import ValidationError

from .prompt_check import PromptVerdict, prompt_assess


def prompt_check(*, prompt: str) -> PromptVerdict:
    """Raise ValidationError naming the field `prompt` with a specific reason when the prompt breaks
    the content policy; return the verdict when it is allowed. Runs before any GPU time."""
    verdict = prompt_assess(prompt)
    if not verdict.allowed:
        raise ValidationError({"prompt": f"This prompt can't be made into a video. {verdict.reason}"},
                              code=f"unsafe_{verdict.category}")
    return verdict
