"""``tailored audience``: ad audiences from segments, as files to upload to an ad platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tailored.cli.state import emit, state_of
from tailored.errors import InvalidInput

__all__ = ["register"]

audience_app = typer.Typer(
    help="Ad audiences: a segment's members now who consented to ads, as a customer list "
    "for Google Ads Customer Match or a Meta custom audience.",
    no_args_is_help=True)


def _summary(data: dict[str, Any]) -> str:
    where = f"{data['out']} ({data['format']})"
    if data["members"] == 0:
        return f"segment {data['segment']} has no members now: wrote a header-only {where}"
    s = data["skipped"]
    skipped = (f"skipped {s['no_consent']} without ads consent, {s['suppressed']} suppressed, "
               f"{s['no_identifier']} without a usable e-mail or phone")
    if data["exported"] == 0:
        return (f"segment {data['segment']}: nobody of {data['members']} can be exported "
                f"({skipped}): wrote a header-only {where}")
    clear = "; it holds clear personal data" if data["format"] == "csv" else ""
    return (f"exported {data['exported']} of {data['members']} members of segment "
            f"{data['segment']} to {where}: {data['emails']} e-mails, {data['phones']} "
            f"phones; {skipped}{clear}")


@audience_app.command("export")
def export(
    ctx: typer.Context,
    segment: Annotated[str, typer.Argument(help="The segment: its members now.")],
    fmt: Annotated[str, typer.Option(
        "--format", help="google (Customer Match, hashed), meta (custom audience, hashed) "
        "or csv (profile_id, e-mail and phone in clear, for your own use).")],
    out: Annotated[Path, typer.Option(
        "--out", help="The file to write: replaced whole, or left as it was on failure.")],
    region: Annotated[str, typer.Option(
        "--region", help="Country of phone numbers written without +: a two-letter code.")
    ] = "US",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")
                       ] = False,
) -> None:
    """Write a segment's members who may see ads (consent on the ads channel, not
    suppressed) with an e-mail or phone, one row each, normalised as the platform matches."""
    from tailored.channels.audiences import FORMATS, check_region, export_audience

    if fmt not in FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}",
                           field="format")
    try:
        region = check_region(region)
    except InvalidInput as exc:
        raise InvalidInput(f"--region: {exc}", field="region") from None
    state = state_of(ctx)
    data = export_audience(state.store, state.settings, segment, fmt, out,
                           default_region=region)
    emit(ctx, as_json, data, lambda c: c.print(_summary(data), markup=False,
                                               highlight=False))


def register(app: typer.Typer) -> None:
    app.add_typer(audience_app, name="audience")
