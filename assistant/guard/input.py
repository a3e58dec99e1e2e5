"""The input rails, in the order input.yaml lists them: personal data is masked (always
first), prompt injection is refused, requests for a person are handed off, and off-topic
requests redirected."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from assistant.guard.normalize import screening_text
from assistant.guard.pii import find_pii, mask
from assistant.guard.policy import INPUT_FLAGS, InputPolicy, PatternRule, PiiRule
from assistant.guard.semantic import SemanticRail
from assistant.guard.verdicts import HALF_WIDTH, Action, Screened, Verdict, localised, worst
from assistant.text import Language, detect_language


class InputGuard:
    def __init__(self, policy: InputPolicy, semantic: SemanticRail | None = None) -> None:
        self.policy = policy
        # Attacks by meaning, beside the indicators; None: indicators only.
        self._semantic = semantic
        flags = INPUT_FLAGS
        self._indicators = [
            (i.weight, i.kind, re.compile(i.pattern, flags)) for i in policy.injection.indicators
        ]
        self._handoff = [re.compile(p, flags) for p in policy.handoff.patterns]
        self._off_topic = [re.compile(p, flags) for p in policy.off_topic.patterns]
        self._handoff_kinds = {
            kind: re.compile(p, flags) for kind, p in policy.handoff.kinds.items()
        }
        self._pii_kinds = [r.validator for r in policy.pii.rules]
        self._pii_rules: dict[str, PiiRule] = {r.validator: r for r in policy.pii.rules}
        self._masks_with_lead_in = [
            re.compile(policy.pii.lead_in + re.escape(r.mask), re.IGNORECASE)
            for r in policy.pii.rules
        ]
        self._screens: dict[str, Callable[[str, Language], Verdict | None]] = {
            "injection": self._injection,
            "handoff": partial(self._first_hit, policy.handoff, self._handoff),
            "off_topic": partial(self._first_hit, policy.off_topic, self._off_topic),
        }

    def without_masks(self, text: str) -> str:
        """The masked message with the mask labels removed, so that "[银行卡号]" does not
        steer retrieval towards card documents; a lead-in that only introduced the data
        ("我的手机号是", "my phone number is") goes with it."""
        for pattern in self._masks_with_lead_in:
            text = pattern.sub(" ", text)
        return " ".join(text.split())

    def handoff_kind(self, request: str) -> str:
        """complaint, agent, ...: what the hand-off a request asked for is recorded as."""
        folded = screening_text(request, keep_case=True)
        return next(
            (kind for kind, p in self._handoff_kinds.items() if p.search(folded)),
            self.policy.handoff.default_kind,
        )

    def injection_score(self, text: str, kind: str | None = None) -> int:
        """The weights of the indicators the text shows (of one kind, if given)."""
        return sum(
            weight
            for weight, indicator_kind, pattern in self._indicators
            if (kind is None or kind == indicator_kind) and pattern.search(text)
        )

    def inspect(self, message: str, language: Language | None = None) -> Screened:
        """The rails in the policy's order. pii is the one rail that changes the message, and
        loading put it first, so every other rail reads the masked text; the first of those
        that matches decides (a refusal or a hand-off) and ends the screening."""
        language = language or detect_language(message)
        text = message
        verdicts: list[Verdict] = []
        for rail in self.policy.rails:
            if rail == "pii":
                text, verdicts = self._mask(text, language)
                continue
            finding = self._screens[rail](screening_text(text, keep_case=True), language)
            if finding:
                return self._screened(finding.action, text, [*verdicts, finding])
        return self._screened(worst(verdicts), text, verdicts)

    def _screened(self, action: Action, text: str, verdicts: list[Verdict]) -> Screened:
        kind = None
        if action == "handoff":
            kind = self.handoff_kind(" ".join(v.excerpt for v in verdicts))
        return Screened(action, text, verdicts, self.without_masks(text), kind)

    def _mask(self, message: str, language: Language) -> tuple[str, list[Verdict]]:
        """The message with its personal data masked, and one finding per kind masked."""
        matches = find_pii(message.translate(HALF_WIDTH), self._pii_kinds)
        if not matches:
            return message, []
        pii = self.policy.pii
        labels = {kind: rule.mask for kind, rule in self._pii_rules.items()}
        verdicts = [
            Verdict(self._pii_rules[kind].id, "mask", localised(pii.message, language), pii.basis)
            for kind in dict.fromkeys(m.kind for m in matches)
        ]
        return mask(message, matches, labels), verdicts

    def _injection(self, folded: str, language: Language) -> Verdict | None:
        injection = self.policy.injection
        if self.injection_score(folded) < injection.threshold:
            if self._semantic is None or self._semantic.breaks(folded) != "prompt_injection":
                return None
            return Verdict(
                injection.id,
                injection.action,
                localised(injection.message, language),
                injection.basis,
                "meaning: an attempt on the assistant's instructions",
            )
        if self.injection_score(folded, "attack") == 0:
            # Role-play or a creative task, and nothing else: out of scope, not an attack.
            rule = self.policy.off_topic
            reason = localised(rule.message, language)
            return Verdict(rule.id, rule.action, reason, rule.basis, "role-play or task")
        return Verdict(
            injection.id, injection.action, localised(injection.message, language), injection.basis
        )

    @staticmethod
    def _first_hit(
        rule: PatternRule, patterns: list[re.Pattern[str]], folded: str, language: Language
    ) -> Verdict | None:
        hit = next((m for p in patterns if (m := p.search(folded))), None)
        if not hit:
            return None
        return Verdict(
            rule.id, rule.action, localised(rule.message, language), rule.basis, hit.group()
        )
