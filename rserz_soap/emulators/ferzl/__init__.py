"""The federal register (ФЕРЗЛ) emulator."""
