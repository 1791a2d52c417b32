"""The federal register (ФЕРЗЛ) client: the adapter behind ``usecases/federal_port.py``."""
