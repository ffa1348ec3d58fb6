"""The boto3 boundary: endpoints, live guards, audit records, error translation, pagination, retries."""

import types
from decimal import Decimal

import botocore.endpoint
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from mturk.client import (
    MTurk,
    MTurkRequestError,
    MTurkServiceError,
    MTurkThrottled,
    MTurkUnavailable,
    default_client_factory,
)
from mturk.models import MTurkCall
from mturk.modes import REQUESTER_ENDPOINTS, Mode
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL
from mturk.services.audit import open_mturk

from . import stubs

pytestmark = pytest.mark.django_db


def test_sandbox_client_is_a_real_boto3_client_with_adaptive_retries(mturk_stub):
    mturk = open_mturk(mode="sandbox")
    client = mturk.boto_client
    assert client.meta.endpoint_url == "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
    assert client.meta.region_name == "us-east-1"
    assert client.meta.service_model.service_name == "mturk"
    assert client.meta.config.retries["mode"] == "adaptive"
    assert client.meta.config.retries["total_max_attempts"] == 9  # 8 retries after the first attempt


def test_live_client_needs_explicit_confirmation_and_is_never_built_without_it(mturk_stub):
    with pytest.raises(LiveModeNotConfirmed, match="LIVE"):
        open_mturk(mode="live")
    assert mturk_stub.built == []
    mturk = open_mturk(mode="live", confirm_live=True)
    assert mturk.endpoint == REQUESTER_ENDPOINTS[Mode.LIVE] == "https://mturk-requester.us-east-1.amazonaws.com"


def test_mode_has_no_default_and_rejects_unknown_values(mturk_stub):
    with pytest.raises(TypeError):
        open_mturk()  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        open_mturk(mode="production")


def test_a_client_pointing_at_the_other_marketplace_is_refused():
    with pytest.raises(ValueError, match=r"points at https://mturk-requester\.us-east-1"):
        MTurk(
            mode=Mode.SANDBOX,
            recorder=lambda call: None,
            worker_pseudonym=str.lower,
            client_factory=lambda mode: default_client_factory(Mode.LIVE),
        )


def test_balance_is_read_and_the_call_is_audited(mturk_stub):
    mturk_stub.sandbox.add_response(
        "get_account_balance", {"AvailableBalance": "10000.00", "OnHoldBalance": "12.50"}, expected_params={}
    )
    balance = open_mturk(mode="sandbox", actor="alice").get_account_balance()
    assert balance.available == Decimal("10000.00") and balance.on_hold == Decimal("12.50")
    call = MTurkCall.objects.get()
    assert (call.operation, call.mode, call.actor, call.ok) == ("GetAccountBalance", "sandbox", "alice", True)
    assert call.endpoint == REQUESTER_ENDPOINTS[Mode.SANDBOX]
    assert call.response == {"AvailableBalance": "10000.00", "OnHoldBalance": "12.50"}


def test_failures_are_audited_and_translated(mturk_stub):
    mturk_stub.sandbox.add_client_error(
        "get_hit",
        service_error_code="RequestError",
        service_message="Hit 3NOSUCHHITXXXXXXXXXXXXXXXXXXX does not exist.",
        http_status_code=400,
        modeled_fields={"TurkErrorCode": "AWS.MechanicalTurk.HITDoesNotExist"},
    )
    mturk_stub.sandbox.add_client_error(
        "get_hit", service_error_code="ServiceFault", service_message="Internal error", http_status_code=500
    )
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(MTurkRequestError) as refused:
        mturk.get_hit("3NOSUCHHITXXXXXXXXXXXXXXXXXXX")
    assert refused.value.turk_error_code == "AWS.MechanicalTurk.HITDoesNotExist"
    assert not refused.value.outcome_unknown
    with pytest.raises(MTurkServiceError) as fault:
        mturk.get_hit("3NOSUCHHITXXXXXXXXXXXXXXXXXXX")
    assert fault.value.outcome_unknown
    calls = list(MTurkCall.objects.order_by("pk"))
    assert [(c.error_code, c.request) for c in calls] == [
        ("RequestError", {"HITId": "3NOSUCHHITXXXXXXXXXXXXXXXXXXX"}),
        ("ServiceFault", {"HITId": "3NOSUCHHITXXXXXXXXXXXXXXXXXXX"}),
    ]


def test_requests_are_validated_against_the_service_model():
    """The real client rejects parameters MTurk's model does not accept, before sending -- and we audit that."""
    calls = []
    mturk = _http_client(0, calls)
    http = FakeHTTP(mturk.boto_client, [])
    with pytest.raises(MTurkRequestError, match="ParamValidation"):
        mturk.approve_assignment(12345)  # type: ignore[arg-type]  # AssignmentId must be a string
    assert http.attempt_headers == []
    assert calls[0].error_code == "ParamValidationError"


def test_missing_credentials_give_a_clear_error(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    mturk = _http_client(0, [])
    with pytest.raises(MTurkRequestError, match="export AWS_ACCESS_KEY_ID"):
        mturk.get_account_balance()


def test_live_hits_refuse_task_urls_workers_cannot_reach(mturk_stub):
    mturk = open_mturk(mode="live", confirm_live=True)
    for url in (
        "http://mvfit.example.org/task",
        "https://localhost:8000/task",
        "https://127.0.0.1/task",
        "https://10.1.2.3/task",
        "https://192.168.0.5/task",
        "https://mvfit.local/task",
        "https://[::1]/task",
    ):
        with pytest.raises(UnsafeTaskURL):
            mturk.create_hit_with_hit_type(
                hit_type_id="3HITTYPEXXXXXXXXXXXXXXXXXXXXXX",
                external_url=url,
                frame_height=800,
                max_assignments=9,
                lifetime_s=3600,
                requester_annotation="t",
                unique_request_token="t",
            )
    assert not MTurkCall.objects.exists()  # nothing was sent


def test_listing_follows_next_token_through_every_page(mturk_stub):
    stub = mturk_stub.sandbox
    ids = [stubs.new_id() for _ in range(5)]
    stub.add_response(
        "list_hits",
        {"HITs": [stubs.hit(hit_id=i) for i in ids[:2]], "NextToken": "page-2", "NumResults": 2},
        expected_params={"MaxResults": 100},
    )
    stub.add_response(
        "list_hits",
        {"HITs": [stubs.hit(hit_id=i) for i in ids[2:4]], "NextToken": "page-3", "NumResults": 2},
        expected_params={"MaxResults": 100, "NextToken": "page-2"},
    )
    stub.add_response(
        "list_hits",
        {"HITs": [stubs.hit(hit_id=ids[4])], "NumResults": 1},
        expected_params={"MaxResults": 100, "NextToken": "page-3"},
    )
    assert [h.hit_id for h in open_mturk(mode="sandbox").iter_hits()] == ids
    assert MTurkCall.objects.filter(operation="ListHITs").count() == 3


def test_the_stubber_bypasses_botocores_retry_handler(mturk_stub):
    """Why the retry tests below use a stub HTTP layer instead: Stubber answers at 'before-call',
    before the endpoint's retry loop, so a stubbed ThrottlingException is never retried."""
    mturk_stub.sandbox.add_client_error(
        "get_account_balance", service_error_code="ThrottlingException", service_message="Rate exceeded"
    )
    mturk_stub.sandbox.add_response("get_account_balance", {"AvailableBalance": "1.00"})
    mturk = open_mturk(mode="sandbox")
    with pytest.raises(MTurkThrottled):
        mturk.get_account_balance()
    assert mturk.get_account_balance().available == Decimal("1.00")  # consume the second response


class FakeHTTP:
    """A stub HTTP layer on the 'before-send' event: botocore still signs, parses and retries for real."""

    def __init__(self, client, replies):
        self.replies = list(replies)
        self.attempt_headers = []
        client.meta.events.register("before-send.mturk.*", self)

    def __call__(self, request, **kwargs):
        self.attempt_headers.append(request.headers.get("amz-sdk-request", b"").decode())
        status, body = self.replies.pop(0)
        if isinstance(body, Exception):
            raise body
        return stubs.http_response(request, status, body)


@pytest.fixture
def recorded_sleeps(monkeypatch):
    """Record botocore's backoff sleeps instead of sleeping (the adaptive rate limiter still runs for real)."""
    sleeps = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})


def _http_client(max_attempts, calls):
    return MTurk(
        mode=Mode.SANDBOX,
        recorder=calls.append,
        worker_pseudonym=str.lower,
        client_factory=lambda mode: default_client_factory(mode, max_attempts=max_attempts),
    )


@pytest.mark.slow
def test_throttling_is_retried_with_backoff_by_the_adaptive_retry_mode(recorded_sleeps):
    calls = []
    mturk = _http_client(4, calls)
    http = FakeHTTP(mturk.boto_client, [THROTTLED, THROTTLED, (200, {"AvailableBalance": "42.00"})])
    assert mturk.get_account_balance().available == Decimal("42.00")
    assert http.attempt_headers == ["attempt=1; max=5", "attempt=2; max=5", "attempt=3; max=5"]
    assert len(recorded_sleeps) == 2 and all(0 <= s <= 20 for s in recorded_sleeps)
    assert [(c.operation, c.retry_attempts, c.error_code) for c in calls] == [("GetAccountBalance", 2, "")]


@pytest.mark.slow
def test_throttling_that_outlasts_the_retries_is_reported_as_not_performed(recorded_sleeps):
    calls = []
    mturk = _http_client(2, calls)
    FakeHTTP(mturk.boto_client, [THROTTLED] * 3)
    with pytest.raises(MTurkThrottled) as exc:
        mturk.get_account_balance()
    assert not exc.value.outcome_unknown
    assert [(c.retry_attempts, c.error_code) for c in calls] == [(2, "ThrottlingException")]


def test_connection_failures_mean_the_outcome_is_unknown(recorded_sleeps):
    calls = []
    mturk = _http_client(0, calls)
    FakeHTTP(mturk.boto_client, [(0, EndpointConnectionError(endpoint_url=mturk.endpoint))])
    with pytest.raises(MTurkUnavailable) as exc:
        mturk.send_bonus(
            worker_id="A1WORKERXXXXXX",
            assignment_id="3ASG",
            amount=Decimal("1.00"),
            reason="r",
            unique_request_token="t",
        )
    assert exc.value.outcome_unknown
    assert calls[0].error_code == "EndpointConnectionError"


def test_stubber_import_is_the_real_one():
    assert Stubber.__module__ == "botocore.stub"
