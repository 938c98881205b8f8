"""A set of ids as one statement parameter: a PostgreSQL array, or a JSON array SQLite unnests.

Hundreds of claim ids cost no compiling per value, and the statement stays the same whatever
their number, so the driver parses it once too (an IN of one parameter per id was parsed again
for each payment and each refresh).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY


def id_set(
    postgres: bool, *, name: str | None = None, values: Sequence[str] | Sequence[int] | None = None
) -> Any:
    """The ids as one parameter: ``values`` bound now, or a parameter ``name`` given at each
    execution (its value from ``id_values``)."""
    kind = Integer if values and isinstance(values[0], int) else String
    if postgres:
        if values is None:
            return bindparam(name, type_=ARRAY(kind))
        return bindparam(name, list(values), type_=ARRAY(kind))
    param = (
        bindparam(name, type_=String) if values is None
        else bindparam(name, json.dumps(list(values)), type_=String)
    )  # fmt: skip
    return select(literal_column("value")).select_from(func.json_each(param))


def id_values(postgres: bool, values: Sequence[str] | Sequence[int]) -> Any:
    """The value of a named ``id_set`` parameter."""
    return list(values) if postgres else json.dumps(list(values))


def among(postgres: bool, column: Any, ids: Any) -> Any:
    """``column`` is one of the ``id_set`` ``ids``."""
    return column == any_(ids) if postgres else column.in_(ids)


def one_of(dialect: str, column: Any, values: Sequence[str] | Sequence[int]) -> Any:
    """``column IN values``, the values bound as one parameter."""
    postgres = dialect == "postgresql"
    return among(postgres, column, id_set(postgres, values=values))
