"""РС ЕРЗ hub: the regional segment of the unified register of insured persons."""

__version__ = "0.1.0"
