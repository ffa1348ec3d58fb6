"""What the demo prints when it is ready: where to log in, the staff pages, each study's links, the results."""

from __future__ import annotations

from django.urls import reverse

from demo.services.console import Console, duration
from demo.services.run import DemoResult

RULE = "-" * 78


def print_summary(*, result: DemoResult, base: str, console: Console) -> None:
    out = console.out
    out("\n" + console.success(f"The demo is ready ({duration(result.elapsed_s)})."))
    out(RULE)
    out(f"Log in at {base}/login/ as  {result.username}  with password  {result.password}")
    out(f"The workspace (library, experiments, reports): {base}{reverse('workspace:home')}")
    out(RULE)
    experiments = [s.experiment for s in result.studies if s.experiment is not None]
    export_query = "&".join(f"experiment={e.pk}" for e in experiments)
    reported = result.report is not None and result.report.html is not None
    staff = [
        ("Workspace home", f"{base}{reverse('workspace:home')}"),
        ("Library (thumbnails, sets)", f"{base}/library/"),
        ("Experiments (progress, preview)", f"{base}/experiments/"),
        ("Admin", f"{base}/admin/"),
        ("Credits (licences)", f"{base}/credits/"),
        ("Export API (zip)", f"{base}{reverse('experiments_api:export')}?{export_query}" if experiments else ""),
        ("Analysis report", f"{base}{reverse('demo_report')}" if reported else ""),
    ]
    out("Staff pages (log in first)")
    for label, url in staff:
        if url:
            out(f"  {label:<34}{url}")
    for study in result.studies:
        if study.experiment is not None:
            _study(study.experiment, result.invites.get(study.slug, []), base=base, out=out)
    out(RULE)
    if reported:
        out("Results")
        out(f"  {'export (CSV + Parquet)':<34}{result.report.export_dir}")
        out(f"  {'analysis report (file)':<34}{result.report.html}")
        out(RULE)
    out(
        "Simulated workers are marked as simulated (ids sim:..., listed in the export's manifest.json);\n"
        "everything an invite link records is yours. Reset the demo: rm -rf data/ (or $MVFIT_DATA_DIR)."
    )
    out("Timings: " + " · ".join(f"{name.lower()} {duration(s)}" for name, s in console.timings))


def _study(e, links, *, base: str, out) -> None:
    out(RULE)
    out(f"{e.slug}  ({e.get_kind_display()}, {e.status}): {e.title}")
    out(f"  {'progress':<34}{base}{reverse('workspace:experiment', args=[e.pk])}")
    out(f"  {'preview as a worker (staff)':<34}{base}{reverse('experiments:preview', args=[e.pk])}")
    unused = [i for i in links if not i.used]
    if unused:
        out(f"  invite links for workers (single use; {len(links) - len(unused)} of {len(links)} used):")
        for invite in unused:
            out(f"    {base}{reverse('experiments:invite', args=[invite.token])}")
    elif links:
        out(f"  all {len(links)} invite links are used; more: python manage.py invite_links {e.slug}")
