"""Path and query parameter types bounded by the columns they are looked up in, so a
number no column can hold is a 400 before any query runs."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

#: The id of a row with a 32-bit serial key.
RowId = Annotated[int, PathParameter(ge=1, le=INT32_MAX, description="row id")]
