"""`inv --help TASK` lists a task's options in the order its `help` mapping
gives them (what, where, how, safety, output), not alphabetically: Invoke
2.2 sorts them in ParserContext.help_tuples and offers no hook, so that one
method is wrapped, for the tasks registered here and no others
(tests/unit/test_cli_help.py reads the real help)."""
from __future__ import annotations

from invoke import Collection
from invoke.parser.context import ParserContext, flag_key, to_flag

_ORDER: dict[str, dict[str, int]] = {}         # task name -> option name -> place
# Invoke's own method, also when this module is imported again (never wrapped twice)
_sorted = getattr(ParserContext.help_tuples, "invoke_sorted", ParserContext.help_tuples)


def _key(name: str) -> str:
    return name.strip("_").replace("-", "_")


def _in_order(self: ParserContext):
    order = _ORDER.get(self.name or "")
    if not order:
        return _sorted(self)
    args = sorted(self.flags.values(), key=flag_key)
    args.sort(key=lambda a: order.get(_key(a.name), len(order)))   # stable: the rest sorted
    return [self.help_for(to_flag(a.name)) for a in args]


_in_order.invoke_sorted = _sorted          # type: ignore[attr-defined]


def in_reading_order(collection: Collection) -> None:
    """Every task of `collection` lists its options in its help's order."""
    for name in collection.task_names:
        task = collection[name]
        _ORDER[name] = {_key(k): i for i, k in enumerate(task.help or {})}
    ParserContext.help_tuples = _in_order
