"""Services start tasks through exchange/dispatch.py ``enqueue(name, ...)``: no module of
the product packages except the task modules themselves imports a ``tasks`` module, at
the top or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = (
    "exchange",
    "wallets",
    "funding",
    "orders",
    "rates",
    "swaps",
    "staff",
    "stores",
    "greenfield",
    "ownership",
    "operations",
    "webhooks",
    "web",
)
IMPORTERS = ("import_module", "__import__")


def _names_tasks(dotted: str) -> bool:
    return "tasks" in dotted.split(".")


def tasks_imports(source: str) -> list[tuple[int, str]]:
    """Every import of a ``tasks`` module in ``source``: (line, what is imported)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _names_tasks(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if _names_tasks(node.module or ""):
                found.append((node.lineno, module))
            found += [
                (node.lineno, f"{module} import tasks") for a in node.names if a.name == "tasks"
            ]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            if (
                name in IMPORTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _names_tasks(first.value)
            ):
                found.append((node.lineno, f"{name}({first.value!r})"))
    return found


def product_modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "tasks.py"
    )


def test_every_product_package_is_scanned():
    scanned = {path.relative_to(ROOT).parts[0] for path in product_modules()}

    assert scanned == set(PACKAGES)


def test_no_module_but_a_task_module_imports_a_tasks_module():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {what}"
        for path in product_modules()
        for line, what in tasks_imports(path.read_text())
    ]

    assert offenders == [], "start tasks with exchange.dispatch.enqueue(name, ...)"


@pytest.mark.parametrize(
    "source",
    [
        "from orders.tasks import advance_task",
        "from orders import tasks",
        "from . import tasks",
        "from .tasks import advance_task",
        "import wallets.tasks",
        "import wallets.tasks as t",
        "def later():\n    from webhooks.tasks import deliver_task\n",
        "class A:\n    def f(self):\n        import rates.tasks\n",
        "import importlib\nimportlib.import_module('orders.tasks')",
        "__import__('exchange.tasks')",
    ],
)
def test_the_scan_sees_every_way_of_importing_a_task_module(source):
    assert tasks_imports(source)


@pytest.mark.parametrize(
    "source",
    [
        "from exchange.dispatch import enqueue",
        "import orders.taskboard",
        "from orders.services import tasks_pending",
        "enqueue('orders.tasks_like', 1)",
    ],
)
def test_the_scan_lets_other_imports_through(source):
    assert tasks_imports(source) == []
