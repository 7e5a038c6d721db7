"""``leadguide fit``: the typography that makes each chapter fill its page budget, written to fit.yaml."""
from .search import FitReport, fit_guide

__all__ = ["FitReport", "fit_guide"]
