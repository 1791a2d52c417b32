"""Pure domain rules of the РС ЕРЗ hub (no I/O, no third-party imports)."""
