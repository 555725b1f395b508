"""Development tooling stays out of the product, and benchmarks do not lean on each other."""

import ast

from tests.testenv import ROOT

PRODUCT = (
    "exchange",
    "wallets",
    "funding",
    "orders",
    "rates",
    "swaps",
    "staff",
    "ownership",
    "operations",
    "webhooks",
    "web",
)
# The development commands are thin wrappers around devtools.regtest.
WRAPPERS = {
    "wallets/management/commands/regtest.py",
    "exchange/management/commands/bootstrap_demo.py",
}
BENCH_LIBRARIES = {"bench.env", "bench.floors", "bench.report"}


def _imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_product_module_imports_devtools():
    offenders = [
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in WRAPPERS
        and any(name == "devtools" or name.startswith("devtools.") for name in _imports(path))
    ]

    assert offenders == []


def test_devtools_imports_neither_tests_nor_bench():
    for path in (ROOT / "devtools").rglob("*.py"):
        names = _imports(path)
        assert not [n for n in names if n.split(".")[0] in ("tests", "bench")], path


def test_benchmarks_import_only_the_shared_bench_modules():
    for path in (ROOT / "bench").glob("*.py"):
        bench_imports = {n for n in _imports(path) if n.startswith("bench.") and n.count(".") == 1}
        assert bench_imports <= BENCH_LIBRARIES, path
