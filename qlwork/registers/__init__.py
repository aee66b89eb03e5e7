"""Registers kept in ``data/raw/registers/`` (登记表): veto events, bonus points, and the
follow-through registers.  :mod:`.base` holds the shared schema, template writer and
located reader."""
from __future__ import annotations

from .base import Column, RegisterSchema, read_register, write_template
from .rules import BONUS, VETO, read_bonus, read_rule_registers, read_veto, write_templates

__all__ = ["Column", "RegisterSchema", "read_register", "write_template", "VETO", "BONUS", "read_veto", "read_bonus",
           "read_rule_registers", "write_templates"]
