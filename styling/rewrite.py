"""The style rewriter: a fine-tuned version folder applied to grounded drafts, facts guarded.

Facts are protected by construction: the model only ever sees the draft with each number,
URL, code span, citation and product term replaced by `<F1>`, `<F2>`, ... (which also
shortens the sequence, the one speed lever left on this CPU), and its output is restored
and guarded by `check_rewrite`. A rewrite that loops or fails the guard is tried again with
seeded sampling (`retries`, within the same time budget): the greedy path would only repeat
itself. Anything that still goes wrong — a fact missing, the model raising, generation running
past the budget — returns `(None, reason)`, and the answer core keeps the plain draft and
records the reason.

Measured levers (bench/style_model.py, shared/MODELS.md): dynamic int8 destroyed quality and
bf16 is slow on this AVX2-only CPU, and torch.compile saved ~10% per token for a 2-minute
compile, so none is used. Prompt-lookup decoding (`prompt_lookup`, 10 tokens) is on: with the
fully trained model, which copies the draft's wording between its own opener, bullets and
sign-off, it made rewrites 1.6× faster (p50 4.3 → 2.7 s on 12 held-out drafts, same outputs),
where an under-trained model gave only 1.1×. Greedy either way: the output does not change.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from styling.fact_patterns import DEFAULT_PRODUCT_TERMS
from styling.facts import check_rewrite
from styling.passthrough import passthrough_reason
from styling.placeholders import protect
from styling.training import STYLE_FILE, prompt_text

REWRITTEN = "rewritten"
TIMEOUT = "timeout"
REPETITION = "repetition"


@dataclass(frozen=True)
class RewriteResult:
    """`text` is None when the draft should stand; `output` is what the model wrote
    (restored when the guard passed, with placeholders otherwise)."""

    text: str | None
    note: str
    output: str
    seconds: float
    attempts: int = 1  # 1: the greedy rewrite; more: sampled retries after a loop or guard failure


class StyleRewriter:
    """Implements core.ports.Rewriter for one trained version folder.

    The model loads on first use (or `load()`), so building an engine stays cheap. One
    generation at a time per rewriter (a lock): torch already uses every thread it is given.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        time_budget_s: float = 20.0,
        max_new_tokens: int | None = None,
        threads: int | None = None,
        product_terms: tuple[str, ...] | None = None,
        prompt_lookup: int = 10,
        constrain: bool = True,
        retries: int = 2,
        base_cache: Path | None = None,
    ) -> None:
        self.model_dir = Path(model_dir).expanduser().absolute()
        self.base_cache = base_cache  # where the packaged base model is converted (data dir)
        self.version: str | None = self.model_dir.name
        self.time_budget_s = time_budget_s
        self.max_new_tokens = max_new_tokens
        self.threads = threads
        self.prompt_lookup = prompt_lookup
        self.constrain = constrain
        self.retries = retries
        self._vocab: Any = None
        style = _read_style(self.model_dir)
        self.style = style
        self.product_terms = tuple(
            product_terms or style.get("product_terms") or DEFAULT_PRODUCT_TERMS
        )
        self._model: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    def load(self) -> StyleRewriter:
        """Load the model now (LoRA versions are merged into their base once, here)."""
        if self._model is None:
            self._model, self._tok = load_version(
                self.model_dir, self.style, self.threads, self.base_cache
            )
            if self.constrain:  # ~0.3 s over the vocabulary: at load, not in the first answer
                from styling.constrained import VocabClasses

                self._vocab = VocabClasses.of(self._tok)
        return self

    def rewrite(self, draft: str, question: Any = None) -> tuple[str | None, str | None]:
        """(styled text, "rewritten") or (None, why the draft should stand)."""
        result = self.rewrite_detail(draft)
        return result.text, result.note

    def rewrite_detail(self, draft: str) -> RewriteResult:
        """The rewrite with what an evaluation needs: raw model output, note, seconds."""
        t0 = time.perf_counter()
        try:
            protected = protect(draft, self.product_terms)
        except ValueError as exc:
            return RewriteResult(None, f"placeholders: {exc}", "", time.perf_counter() - t0)
        skip = passthrough_reason(draft, len(protected.counts))
        if skip is not None:  # outside what the voice was trained on: not worth the budget
            return RewriteResult(None, skip, "", time.perf_counter() - t0, 0)
        budget = self.time_budget_s
        attempt = 0
        while True:
            left = budget - (time.perf_counter() - t0)
            try:
                output, timed_out = self.generate(
                    protected.text, counts=protected.counts, budget_s=left, sample_seed=attempt
                )
            except Exception as exc:
                note = _short(f"model error: {type(exc).__name__}: {exc}")
                return RewriteResult(None, note, "", time.perf_counter() - t0, attempt + 1)
            if timed_out:
                return RewriteResult(None, TIMEOUT, output, time.perf_counter() - t0, attempt + 1)
            if repeated_line(output) is not None:
                text, note = None, REPETITION
            else:
                text, result = check_rewrite(protected, output, self.product_terms)
                note = REWRITTEN if text is not None else _short(f"guard: {result.reason}")
            # a loop or a guard failure is retried with sampling while the budget lasts: the
            # greedy path is deterministic, so asking it again would only repeat the failure
            if text is not None or attempt >= self.retries or left <= 0:
                raw = output if text is None else text
                return RewriteResult(text, note, raw, time.perf_counter() - t0, attempt + 1)
            attempt += 1

    def generate(
        self,
        text: str,
        *,
        budget_s: float | None = None,
        counts: Mapping[str, int] | None = None,
        prompt_lookup: int | None = None,
        sample_seed: int = 0,
    ) -> tuple[str, bool]:
        """Generation for one (already protected) draft: (output, ran out of time). Greedy;
        with `sample_seed` > 0 (a retry), sampled at temperature 0.7 from that seed.

        With `counts` (placeholder -> uses in the draft) and `constrain`, decoding cannot drop,
        repeat or invent a placeholder (styling.constrained)."""
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        self.load()
        tok, model = self._tok, self._model
        enc = tok(prompt_text(tok, text), return_tensors="pt", add_special_tokens=False)
        n = enc["input_ids"].shape[1]
        limit = self.max_new_tokens or default_max_new_tokens(len(tok(text)["input_ids"]))
        deadline = Deadline(self.time_budget_s if budget_s is None else budget_s)
        stops: list[Any] = [deadline]
        kwargs: dict[str, Any] = {"do_sample": False}
        if sample_seed:  # a retry: sampled, seeded so the same draft gets the same answer
            kwargs.update(do_sample=True, temperature=0.7, top_p=0.9)
        lookup = self.prompt_lookup if prompt_lookup is None else prompt_lookup
        if lookup:
            kwargs["prompt_lookup_num_tokens"] = lookup
        if counts and self.constrain:
            from styling.constrained import PlaceholderConstraint

            rule = PlaceholderConstraint(tok, self._vocab, counts, n, _end_ids(tok))
            kwargs["logits_processor"] = LogitsProcessorList([rule])
            # kept from ending while a fact is missing, a small model tends to repeat its
            # sign-off until max_new_tokens: stop at the first repeated line instead
            stops.append(LoopStop(tok, n))
        with self._lock, torch.inference_mode():
            if sample_seed:  # under the lock: another rewrite must not reseed mid-generation
                torch.manual_seed(sample_seed)
            deadline.start()
            out = model.generate(
                **enc,
                max_new_tokens=limit,
                stopping_criteria=StoppingCriteriaList(stops),
                eos_token_id=_end_ids(tok),
                pad_token_id=tok.pad_token_id,
                **kwargs,
            )
        return tok.decode(out[0, n:], skip_special_tokens=True).strip(), deadline.fired


def default_max_new_tokens(draft_tokens: int) -> int:
    """Room for the voice (opener, lists, sign-off) around the draft, but not for a loop."""
    return min(768, int(draft_tokens * 1.6) + 48)


def load_version(
    model_dir: Path, style: dict[str, Any], threads: int | None, base_cache: Path | None = None
) -> tuple[Any, Any]:
    """(model, tokenizer) of a version folder: a full model as is, a LoRA adapter merged
    into its base (styling.base_model.base_model_for: never relative to the current dir)."""
    import torch
    from transformers import AutoTokenizer

    from styling.base_model import load_model

    if threads:
        torch.set_num_threads(threads)
    # transformers' own deprecation notice, raised while peft merges the adapter: not ours
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    if style.get("mode") == "lora":
        from peft import PeftModel

        from styling.base_model import base_model_for

        base, _ = load_model(base_model_for(str(style["base_model"]), model_dir, base_cache))
        model = PeftModel.from_pretrained(base, str(model_dir)).merge_and_unload()
    else:
        model, _ = load_model(str(model_dir))
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.eval()
    return model, tok


def repeated_line(text: str, min_chars: int = 8) -> str | None:
    """The first complete line that repeats an earlier one (a decoding loop), or None.

    Short lines (a bullet marker, `---`) may legitimately repeat; lines inside code fences
    never count, a code block is restored from the draft anyway."""
    seen: set[str] = set()
    fenced = False
    for line in text.split("\n"):
        key = line.strip()
        if key.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or len(key) < min_chars:
            continue
        if key in seen:
            return key
        seen.add(key)
    return None


class LoopStop:
    """A StoppingCriteria: stop as soon as a generated line repeats an earlier one."""

    def __init__(self, tokenizer: Any, prompt_length: int) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        last = self.tokenizer.decode(input_ids[0, -1:])
        stop = False
        if "\n" in last:  # only a finished line can repeat
            text = self.tokenizer.decode(
                input_ids[0, self.prompt_length :], skip_special_tokens=True
            )
            stop = repeated_line(text[: text.rindex("\n") + 1]) is not None
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool)


class Deadline:
    """A StoppingCriteria on wall time: generation stops at the next token past the budget."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.until = float("inf")
        self.fired = False

    def start(self) -> None:
        self.until = time.perf_counter() + self.budget_s

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        if time.perf_counter() > self.until:
            self.fired = True
        return torch.full((input_ids.shape[0],), self.fired, dtype=torch.bool)


def _end_ids(tok: Any) -> list[int]:
    ids = {tok.eos_token_id}
    end = tok.convert_tokens_to_ids("<|im_end|>")
    if isinstance(end, int) and end != tok.unk_token_id:
        ids.add(end)
    return sorted(i for i in ids if i is not None)


def _read_style(model_dir: Path) -> dict[str, Any]:
    path = model_dir / STYLE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{model_dir} is not a style model version (no {STYLE_FILE})")
    return json.loads(path.read_text())


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
