"""Tests of the ФЕРЗЛ emulator over real HTTP."""
