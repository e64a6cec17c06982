"""Typed, validated stack configuration. Pure: no resources, no network."""

from .base import PROJECT, ConfigError, Problem
from .loader import load
from .model import StackConfig
from .secrets import SECRETS, Secrets, SecretSpec

__all__ = ["PROJECT", "SECRETS", "ConfigError", "Problem", "SecretSpec", "Secrets", "StackConfig", "load"]
