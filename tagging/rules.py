"""Auto-tagging rules: which of an add-on's findings become tags, by the rules in ARCHITECTURE.md."""
from __future__ import annotations

from .contract import best_per_name


def _name(candidate: tuple[str, float]) -> str:
    return candidate[0]


def _confidence(candidate: tuple[str, float]) -> float:
    return candidate[1]


def auto_tag_candidates(addon: str, data, threshold: float | None) -> list[tuple[str, float]]:
    """(tag name, confidence 0-1) for every finding at or above the threshold, best first, one per name.

    Labels are lower-cased ("Mobile Phone" -> "mobile phone"); person names keep their case ("Steve Jobs").
    """
    if threshold is None or not data:
        return []
    found: list[tuple[str, float]] = []
    if addon == "aws_rek_tagging":
        found = [(item["tag"].lower(), float(item["confidence"])) for item in data]
    elif addon == "aws_rek_face":
        found = [(face["name"], float(face["match_confidence"]) / 100) for face in data.get("celebrity_faces", [])]
    # Inclusive, and robust to float noise: 70 / 100 must pass a threshold of 0.7.
    kept = ((" ".join(name.split()), confidence) for name, confidence in found if confidence >= threshold - 1e-9)
    return best_per_name(((name, round(confidence, 4)) for name, confidence in kept if name),
                         name=_name, confidence=_confidence)


def candidates_moderate(
    candidates: list[tuple[str, float]],
    *,
    synonyms: dict[str, str],
    blocked: set[str],
    rejected: set[str],
    hidden: set[str] = frozenset(),
) -> list[tuple[str, float]]:
    """The candidates as the moderators' rules allow them, best first, one per name.

    `synonyms` maps a lower-cased label to the tag written instead; `blocked`, `rejected` and `hidden` hold
    lower-cased names. A blocked name is checked after the synonym (the tag that would be written), a rejection
    under either name (a "puppy" rejected on a photo must not come back as "dog"), a hidden person before.
    """
    allowed = []
    for name, confidence in candidates:
        label = " ".join(name.split()).lower()
        if label in hidden or label in rejected:
            continue
        name = synonyms.get(label, name)
        if name.lower() not in blocked and name.lower() not in rejected:
            allowed.append((name, confidence))
    return best_per_name(allowed, name=_name, confidence=_confidence)
