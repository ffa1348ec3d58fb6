import json

from django.core.management.base import BaseCommand, CommandError

from experiments.selectors.lookup import experiment_by_ref
from recruitment import prolific_services as services
from recruitment.models import ProlificStudy, ProlificSubmission
from recruitment.prolific_client import ProlificError


class Command(BaseCommand):
    help = (
        "Drive a study on Prolific through its API (PROLIFIC_API_TOKEN): create, publish, sync, approve, "
        "reject, bonus, message. Every action is safe to re-run; money is checked against --cap."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action",
            choices=[
                "create", "publish", "sync", "approve", "reject", "return", "bonus", "message", "blocklist",
            ],
        )  # fmt: skip
        parser.add_argument("experiment", help="experiment id or slug")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the site's public origin (create)")
        parser.add_argument("--title", default="", help="create: the study's title on Prolific")
        parser.add_argument("--description", default="", help="create: what participants read")
        parser.add_argument("--places", type=int, default=0, help="create: how many participants")
        parser.add_argument("--reward-cents", type=int, default=0, help="create: reward per participant, cents")
        parser.add_argument("--minutes", type=int, default=0, help="create: estimated completion time")
        parser.add_argument("--cap-cents", type=int, default=None, help="create: spending cap (rewards+fees+bonuses)")
        parser.add_argument("--submission", action="append", default=[], help="approve/reject: submission id(s)")
        parser.add_argument("--message", default="", help="reject/message: the text")
        parser.add_argument("--category", default="", help="reject: Prolific's rejection category")
        parser.add_argument("--bonuses", default="", help='bonus: JSON {"<prolific id>": cents, ...}')
        parser.add_argument("--to", default="", help="message: the participant's Prolific id")
        parser.add_argument("--reason", action="append", default=[], help="return: a reason shown (repeatable)")
        parser.add_argument(
            "--allowlist", default="", help="create: comma-separated Prolific ids, the only ones who may take part"
        )

    def handle(self, *args, **o):
        experiment = experiment_by_ref(o["experiment"])
        if experiment is None:
            raise CommandError(f"no experiment with id or slug {o['experiment']!r}.")
        try:
            with services.client() as api:
                self.stdout.write(self.run(o, experiment, api))
        except (ProlificError, ValueError) as exc:
            raise CommandError(str(exc)) from None

    def run(self, o, experiment, api) -> str:
        if o["action"] == "create":
            study = services.create_study(
                experiment=experiment,
                api=api,
                base_url=o["base_url"],
                title=o["title"] or experiment.title,
                description=o["description"] or experiment.title,
                places=o["places"],
                reward_cents=o["reward_cents"],
                minutes=o["minutes"],
                spending_cap_cents=o["cap_cents"],
                allowlist=[pid for pid in o["allowlist"].split(",") if pid.strip()],
            )
            check = services.pay_check_for(study)
            return (
                f"draft study {study.study_id} (completion code {study.completion_code}); preview it on Prolific\n"
                f"pay check: {check.summary()}"
            )
        study = ProlificStudy.objects.filter(experiment=experiment).exclude(study_id="").order_by("-pk").first()
        if study is None:
            raise CommandError("this experiment has no Prolific study yet: run `prolific create` first.")
        if o["action"] == "publish":
            return f"study {study.study_id}: {services.publish(study=study, api=api).remote_status}"
        if o["action"] == "blocklist":
            return f"{services.push_blocklist(study=study, api=api)} participant(s) on the study's blocklist"
        if o["action"] == "return":
            rows = ProlificSubmission.objects.filter(study=study, submission_id__in=o["submission"])
            return (
                "\n".join(
                    f"{row.submission_id}: "
                    + (
                        "asked to return"
                        if services.ask_to_return(submission=row, api=api, reasons=o["reason"])
                        else "left as it is"
                    )
                    for row in rows
                )
                or "no such synced submission (run `prolific sync` first)"
            )
        if o["action"] == "sync":
            return f"{services.sync_submissions(study=study, api=api)} submissions synced"
        if o["action"] in ("approve", "reject"):
            rows = ProlificSubmission.objects.filter(study=study, submission_id__in=o["submission"])
            return (
                "\n".join(
                    f"{row.submission_id}: "
                    + services.review(
                        submission=row,
                        api=api,
                        approve=o["action"] == "approve",
                        message=o["message"],
                        category=o["category"],
                    )
                    for row in rows
                )
                or "no such synced submission (run `prolific sync` first)"
            )
        if o["action"] == "bonus":
            bonus = services.pay_bonuses(study=study, api=api, amounts_cents=json.loads(o["bonuses"] or "{}"))
            return f"bonus {bonus.remote_id}: {bonus.total_cents / 100:.2f} paid"
        services.message(study=study, api=api, prolific_pid=o["to"], body=o["message"])
        return "message sent"
