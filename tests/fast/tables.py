"""Reading transition tables in tests."""


def reachable(table: dict[str, set[str]], start: str) -> set[str]:
    """Every state ``table`` can reach from ``start`` (``start`` included)."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
