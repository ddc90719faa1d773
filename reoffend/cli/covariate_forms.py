"""``--covariate-form COLUMN=FORM``: how a numeric covariate enters the model (reoffend.compare.design).

Shared by ``compare adjusted`` (risk models; numeric default ``spline:4``) and ``compare matched``
(propensity model; numeric default ``linear``). In a config file: ``covariate-form = ["prior_convictions=linear"]``
-- a form is chosen by name, never given as formula code.
"""

from __future__ import annotations

import click

from ..compare.design import FORM_HELP


def covariate_form_option(default_text: str):
    return click.option(
        "--covariate-form",
        "covariate_form",
        multiple=True,
        metavar="COLUMN=FORM",
        help=f"How a numeric covariate enters the model: {FORM_HELP}. Default {default_text}. Repeatable.",
    )
