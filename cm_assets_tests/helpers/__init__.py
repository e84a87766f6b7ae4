"""Helpers the tests import (conftest files keep fixtures only)."""
