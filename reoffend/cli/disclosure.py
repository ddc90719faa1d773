"""``reoffend disclosure-check FOLDER``: audit a bulletin folder's disclosure control from its published files.

The core is :func:`reoffend.bulletin.publication.audit_folder` (the same audit ``bulletin`` runs on itself
before it writes anything); this module parses, calls it and renders (docs/bulletin.md, "Disclosure control").
"""

from __future__ import annotations

import json

import click

from ..errors import DisclosureFailure


@click.command("disclosure-check")
@click.argument("folder", type=click.Path(file_okay=False, dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="The audit as JSON on standard output.")
@click.option("-q", "--quiet", is_flag=True, help="Nothing on standard output; the exit status tells.")
def disclosure_check(folder: str, as_json: bool, quiet: bool) -> None:
    """Check that no withheld count of a bulletin can be worked out from what it publishes.

    Reads FOLDER/manifest.json and FOLDER/tables/*.csv only, as a reader of the publication could, and
    bounds every withheld ([c]) count by linear programming over every table, total, comparison and pooled
    row together. Exit 0 when every range meets the protection rule recorded in the manifest, 65 when one
    does not (each such count is named).
    """
    from ..bulletin.publication import audit_folder

    if not folder:
        raise click.BadParameter("an empty folder name", param_hint="FOLDER")
    report, _facts = audit_folder(folder)
    failures = report.failures
    if as_json:
        document = {
            "folder": folder,
            **report.summary(),
            "failing": [
                {
                    "cell": r.label,
                    "count": r.count,
                    "low": r.low,
                    "high": None if r.high == float("inf") else r.high,
                    "required_width": r.required,
                    "kind": r.kind,
                }
                for r in failures
            ],
        }
        click.echo(json.dumps(document, indent=2))
    elif not quiet:
        summary = report.summary()
        if report.passed:
            click.echo(
                f"{folder}: disclosure audit passed: {summary['withheld_cells']:,} withheld group(s), "
                f"{summary['ranges_checked']:,} count(s) bounded, each range at least {summary['protection_width']} "
                "wide (or a safe implied figure)"
            )
        else:
            click.echo(f"{folder}: disclosure audit FAILED: {len(failures):,} count(s) can be narrowed too far")
            for failure in failures[:50]:
                click.echo(f"  {failure.describe()}")
            if len(failures) > 50:
                click.echo(f"  ... and {len(failures) - 50:,} more (--json lists every one)")
    if failures:
        raise DisclosureFailure(f"{folder}: the disclosure audit failed for {len(failures):,} count(s)")
