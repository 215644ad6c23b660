"""Journals are tested with the minutes tests' data directory fixture."""

from tests.minutes.conftest import data_dir

__all__ = ["data_dir"]
