"""Auto-tagging rules: which of an add-on's findings become tags, by the rules in ARCHITECTURE.md."""
from __future__ import annotations


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
    best: dict[str, tuple[str, float]] = {}
    for name, confidence in found:
        name = " ".join(name.split())
        # Inclusive, and robust to float noise: 70 / 100 must pass a threshold of 0.7.
        if not name or confidence < threshold - 1e-9:
            continue
        key = name.lower()
        if key not in best or confidence > best[key][1]:
            best[key] = (name, round(confidence, 4))
    return sorted(best.values(), key=lambda item: (-item[1], item[0]))
