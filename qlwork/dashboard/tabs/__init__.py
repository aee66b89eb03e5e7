"""The dashboard's tabs: a base class and a registry.

Every tab is a :class:`Tab` subclass registered with :func:`register_tab`; the app
shows the registered tabs in ``order``.  Adding a tab (动态监测, 整改跟踪, 风险点 …) is
one module::

    from . import Tab, register_tab

    @register_tab
    class MonitoringTab(Tab):
        key, title, order = "monitoring", "动态监测", 25

        def build(self):                 # once, when first shown: create widgets in self.box
            self.out = self.w.HTML()
            self.box.children = [self.out]

        def render(self):                # whenever the filters or the selected unit changed
            f = self.app.state.filters   # period, framework, city, county, township, unit_type
            rows = self.app.scope_rows()  # official ranking rows of the filters
            self.out.value = self.head("动态监测", n_units=len(rows)) + ...

and its import in :data:`BUILTIN` below.  The app re-renders the visible tab at once
when any filter changes and every other tab when it is next shown (``Tab.refresh``),
so a tab never shows content of an earlier selection.  Errors inside ``build`` or
``render`` become a Chinese alert above the tabs (the app guards every call).
"""
from __future__ import annotations

import importlib
from typing import Any

from ...labels import period_label
from ..html import esc, view_head

__all__ = ["Tab", "register_tab", "tab_types", "BUILTIN"]

#: modules of the built-in tabs (imported on first use of the registry)
BUILTIN = ("ranking", "unit", "whatif", "weights", "sensitivity", "monitoring", "survey", "follow", "overview")

_REGISTRY: dict[str, type["Tab"]] = {}


class Tab:
    """One view of the dashboard (see the module doc)."""

    key: str = ""
    title: str = ""
    order: int = 100
    uses_unit: bool = False  # re-render when the selected unit changes too

    def __init__(self, app: Any):  # the ReviewDashboard (not imported: app imports the tabs)
        import ipywidgets as w

        self.w = w
        self.app = app
        self.box = w.VBox(layout=w.Layout(width="100%")).add_class(f"qlw-tab-{self.key}")
        self.built = False
        self.version = None  # state stamp of the last render
        self.renders = 0  # how many times rendered (shown in data-version)

    # ------------------------------------------------------------ to override
    def build(self) -> None:
        """Create the tab's widgets in ``self.box`` (called once, when first shown)."""

    def render(self) -> None:
        """Show the content for ``self.app.state`` (filters, selected unit)."""
        raise NotImplementedError

    # ------------------------------------------------------------ machinery
    @property
    def stale(self) -> bool:
        return self.version != self.app.state.stamp(self.uses_unit)

    def refresh(self, force: bool = False) -> None:
        if not self.built:
            self.build()
            self.built = True
        if force or self.stale:
            self.renders += 1
            self.render()
            self.version = self.app.state.stamp(self.uses_unit)

    def selection(self) -> tuple:
        """(filters, framework, official rows of the filters, escaped title "2025年下半年 · 体系 · 范围")."""
        f = self.app.state.filters
        fw = self.app.framework
        return f, fw, self.app.scope_rows(), f"{esc(period_label(f.period))} · {esc(fw.name)} · {esc(f.scope_label())}"

    def head(self, title: str, sub: str = "", *, n_units: int | None = None, **attrs) -> str:
        """This tab's heading (what is shown, for which period/framework/scope) with the
        ``data-version`` a browser test waits for."""
        return view_head(title, sub, view=self.key, version=self.renders, n_units=n_units, extra_attrs=attrs)


def register_tab(cls: type[Tab]) -> type[Tab]:
    """Class decorator: add a tab to the dashboard (replaces a tab with the same key)."""
    if not cls.key or not cls.title:
        raise ValueError("a tab needs a key and a title")
    _REGISTRY[cls.key] = cls
    return cls


def tab_types() -> list[type[Tab]]:
    """The registered tabs in display order (built-in modules imported first)."""
    for mod in BUILTIN:
        importlib.import_module(f"{__name__}.{mod}")
    return sorted(_REGISTRY.values(), key=lambda c: (c.order, c.key))
