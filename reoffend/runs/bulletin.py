"""``reoffend bulletin``: the run's settings applied to its config, for the command line and the Python API
(docs/bulletin.md)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import UsageError
from .common import Naming, command_line_flag

if TYPE_CHECKING:
    from ..bulletin.config import BulletinConfig


DEFAULT_FOLDER = "bulletin"


def prepared_bulletin(
    config_path: str,
    output: str | None,
    *,
    as_at: dt.date | None = None,
    previous: str | None = None,
    acknowledged: Iterable[str] = (),
    check_log: Callable[[str], None] | None = None,
    flag: Naming = command_line_flag,
) -> tuple[BulletinConfig, str]:
    """The config of a bulletin run with the run's own settings applied (``--as-at``, ``--previous``,
    ``--acknowledge``), and the folder it writes; checked as ``bulletin`` checks them (the command and the
    Python API, reoffend.api.write_bulletin, share it; ``flag`` names the options as the caller does)."""
    from ..bulletin.config import parse_config
    from ..bulletin.folder import check_target

    if output is not None and not output.strip():  # the command line's click type says the same
        named = flag("output")
        raise UsageError(f"{named} {output!r}: an empty value; give a value, or leave {named} out")
    config = parse_config(config_path)
    if as_at:
        config = replace(config, inputs=replace(config.inputs, as_at=as_at))
    if previous is not None:
        if not previous.strip():
            raise UsageError(f"{flag('previous')} needs the previous bulletin's folder, not an empty name")
        config = replace(config, publication=replace(config.publication, previous=previous))
    config = replace(config, acknowledge=tuple(sorted({*config.acknowledge, *acknowledged})))
    target = output or config.output or DEFAULT_FOLDER
    if check_log is not None:  # --log: not inside the folder this run replaces (checked first, as always)
        check_log(target)
    check_target(target)
    earlier = config.publication.previous
    if earlier and os.path.realpath(earlier) == os.path.realpath(target):
        raise UsageError(
            f"{flag('previous')} {earlier} is the folder this run replaces: the revisions would compare the bulletin "
            "with itself and record a manifest that no longer exists; keep each release in its own folder (e.g. "
            "bulletins/2024Q1) and give the last one"
        )
    return config, target
