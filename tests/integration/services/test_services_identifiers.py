"""Names and versions are checked whole by the service layer itself, whatever the transport."""

from __future__ import annotations

import pytest

from wingspan.core.errors import InvalidArgumentError
from wingspan.server.services.identifiers import check_name


@pytest.mark.parametrize("value", ["name\n", "na me", "a/b", ""])
def test_a_name_with_a_trailing_newline_or_other_stray_characters_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgumentError):
        check_name(value, "project")


def test_a_plain_name_passes() -> None:
    assert check_name("my_project-1.2", "project") == "my_project-1.2"
