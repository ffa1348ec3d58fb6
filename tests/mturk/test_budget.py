"""The spending cap holds under concurrency and under any sequence of reserve / commit / release."""

import contextlib
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mturk.models import Bonus, Spend
from mturk.modes import Mode
from mturk.selectors import spending
from mturk.services import budget
from tests.factories.mturk import MTurkAssignmentFactory, MTurkStudyFactory
from tests.support.concurrency import at_once


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_exceed_the_cap():
    """Eight threads race to reserve $3 each against a $10 cap: exactly three win (row lock on the study)."""
    study = MTurkStudyFactory(spending_cap=Decimal("10.00"))
    bonuses = [
        Bonus.objects.create(assignment=MTurkAssignmentFactory(), worker_id=f"A{i}", amount=Decimal("2.50"), reason="r")
        for i in range(8)
    ]

    def reserve(bonus):
        budget.reserve(study=study, mode=Mode.SANDBOX, kind=Spend.Kind.BONUS, amount=Decimal("3.00"), bonus=bonus)
        return "reserved"

    reserved, raised = at_once(reserve, bonuses)
    outcomes = reserved + ["refused" for exc in raised if isinstance(exc, budget.SpendingCapExceeded)]
    assert len(outcomes) == len(bonuses)  # nothing else was raised
    assert sorted(outcomes) == ["refused"] * 5 + ["reserved"] * 3
    assert spending(study=study, mode=Mode.SANDBOX).reserved == Decimal("9.00")


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "commit", "release"]), st.integers(min_value=0, max_value=5), st.integers(1, 400)
    ),
    max_size=25,
)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_committed_plus_reserved_never_exceeds_the_cap(ops):
    study = MTurkStudyFactory(spending_cap=Decimal("10.00"))
    assignment = MTurkAssignmentFactory()
    bonuses = [
        Bonus.objects.create(assignment=assignment, worker_id=f"A{i}", amount=Decimal("1.00"), reason="r")
        for i in range(6)
    ]
    for op, index, cents in ops:
        bonus = bonuses[index]
        spend = Spend.objects.filter(bonus=bonus).first()
        if op == "reserve":
            with contextlib.suppress(budget.SpendingCapExceeded):
                budget.reserve(
                    study=study, mode=Mode.SANDBOX, kind=Spend.Kind.BONUS, amount=Decimal(cents) / 100, bonus=bonus
                )
        elif spend is not None and spend.state == Spend.State.RESERVED:
            (budget.commit if op == "commit" else budget.release)(spend=spend)
        summary = spending(study=study, mode=Mode.SANDBOX)
        assert summary.committed + summary.reserved <= study.spending_cap
        assert summary.remaining >= 0
