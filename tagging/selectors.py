"""Reads of the analysis pipeline: an asset's `info`, shaped like Cloudinary's responses."""
from __future__ import annotations

from medialib.models import Asset

from .addons import ADDONS
from .models import AnalysisResult


def result_info(result: AnalysisResult, *, with_data: bool = True) -> dict:
    info: dict = {"status": result.status}
    if result.status == AnalysisResult.COMPLETE and with_data:
        info["data"] = result.data
    elif result.status == AnalysisResult.FAILED:
        info["error"] = {"message": result.error}
    return info


def asset_info(asset: Asset, *, with_data: bool = True, addons: list[str] | None = None) -> dict:
    """{"categorization": {"aws_rek_tagging": {...}}, "detection": {"aws_rek_face": {...}}} for what was asked."""
    info: dict = {}
    results = asset.analyses.all() if asset.pk else []
    for result in results:
        if addons is not None and result.addon not in addons:
            continue
        addon = ADDONS.get(result.addon)
        if addon is None:
            continue
        info.setdefault(addon.parameter, {})[result.addon] = result_info(result, with_data=with_data)
    return info


def analysis_statuses(asset: Asset) -> dict[str, str]:
    return {result.addon: result.status for result in asset.analyses.all()}
