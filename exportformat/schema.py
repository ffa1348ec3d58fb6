"""The export format, table by table and column by column: the one definition every writer and reader uses.

An export (docs/export-format.md) is a directory with ``manifest.json`` and one CSV file per table (plus
optional Parquet twins). Each :class:`Table` is an ordered mapping column name -> :class:`Column`; a column
has a logical type (``str``, ``int``, ``float``, ``bool``, ``timestamp``), says whether it may be empty,
which values it allows and what it means. Row rules that involve several columns are :class:`RowRule`\\ s.
:data:`MANIFEST` describes the keys of ``manifest.json`` the same way. The writer, the reader and the
format document (``python -m exportformat doc``) are all driven by these definitions.

Versions: ``FORMAT_VERSION`` is what writers write; readers accept every version in
``SUPPORTED_VERSIONS``. A table or column added later carries ``since=N``: an export of an older version
lacks it, and the reader then gives the column as empty (the table as zero rows) without any code of
its own. To add a table, define it here and add it to :data:`TABLES`; to add a column, append it with
``since=FORMAT_VERSION + 1`` and raise ``FORMAT_VERSION``.

Plain Python only (no Django, no pandas): the platform imports it in its request path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FORMAT_NAME = "mvfit-export"
FORMAT_VERSION = 3
SUPPORTED_VERSIONS = frozenset(range(1, FORMAT_VERSION + 1))

TYPES = ("str", "int", "float", "bool", "timestamp")

RATING_MIN, RATING_MAX = 1, 7
DIRECTIONS = ("V2M", "M2V")
CONDITIONS = ("GR", "GS", "SR")
PLAIN_CONDITION = "none"
OPTION_KINDS = ("G", "R", "S")
SIDES = ("left", "right")
ITEM_KINDS = ("clip", "excerpt")
MONTAGE_KINDS = ("G", "S", "R", "anti")
MONTAGE_STRATEGIES = ("original", "nearest", "random", "farthest")
PSEUDONYM_PATTERN = r"^W[0-9a-f]{16}$"
SORT_KEYS = ("experiment_id", "assignment_id", "trial_index")


@dataclass(frozen=True)
class Column:
    """One column: its logical type, whether a cell may be empty, the values it allows, what it means."""

    name: str
    type: str
    meaning: str
    nullable: bool = False
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    since: int = 1

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: type must be one of {TYPES}, not {self.type!r}")

    def rule_text(self) -> str:
        """The allowed values in words (for the format document and error messages); '' when any value goes."""
        if self.allowed:
            return ", ".join(f"`{value}`" for value in self.allowed)
        if self.pattern == PSEUDONYM_PATTERN:
            return "`W` + 16 hex digits"
        if self.pattern:
            return f"matches `{self.pattern}`"
        if self.minimum is not None and self.maximum is not None:
            return f"{_number(self.minimum)} … {_number(self.maximum)}"
        if self.minimum is not None:
            return f"≥ {_number(self.minimum)}"
        if self.maximum is not None:
            return f"≤ {_number(self.maximum)}"
        return ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class RowRule:
    """A rule over several columns of a row. ``holds(frame)`` is a boolean Series, False where a row breaks it.

    ``frame`` is the table as the reader returns it (pandas, documented dtypes).
    """

    name: str
    description: str
    columns: tuple[str, ...]
    holds: Callable[[Any], Any]
    since: int = 1


class Table(Mapping[str, Column]):
    """One table of the export: an ordered mapping column name -> :class:`Column`, plus its row rules."""

    def __init__(
        self,
        name: str,
        *,
        meaning: str,
        columns: list[Column],
        unique: tuple[str, ...] = (),
        rules: tuple[RowRule, ...] = (),
        since: int = 1,
    ) -> None:
        self.name = name
        self.meaning = meaning
        self.columns = {column.name: column for column in columns}
        if len(self.columns) != len(columns):
            raise ValueError(f"table {name}: duplicate column names")
        self.unique = unique
        self.rules = rules
        self.since = since

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, {len(self)} columns)"

    # A table is its definition, not its contents: identity, so that it can key caches.
    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    @property
    def csv(self) -> str:
        return f"{self.name}.csv"

    @property
    def parquet(self) -> str:
        return f"{self.name}.parquet"

    def at_version(self, version: int) -> list[Column]:
        """The columns an export of format ``version`` has (older exports lack newer columns)."""
        return [column for column in self.columns.values() if column.since <= version]


def format_timestamp(value: datetime | None) -> str:
    """A timestamp cell: ISO 8601 in UTC, millisecond precision, ``Z`` suffix; ``None`` -> empty cell."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# ----------------------------------------------------------------------------------------------- columns

_WORKER = Column(
    "worker_id",
    "str",
    "pseudonymised worker id: the same worker has the same id in every export made with the same key",
    pattern=PSEUDONYM_PATTERN,
)
_ASSIGNMENT = Column("assignment_id", "int", "the assignment (bundle of trials) the answer belongs to", minimum=0)
_EXPERIMENT = Column("experiment_id", "int", "experiment primary key", minimum=0)
_TRIAL = Column(
    "trial_index", "int", "0-based position of the trial within its assignment (presentation order)", minimum=0
)
_TAIL = [
    Column("play_count", "int", "how many times the trial's media were played", minimum=0),
    Column("is_catch", "bool", "attention-check trial"),
    Column(
        "catch_passed", "bool", "for catch trials: the answer matched the expected one; empty otherwise", nullable=True
    ),
    Column("presented_at", "timestamp", "client clock: trial shown", nullable=True),
    Column("answered_at", "timestamp", "client clock: answer given", nullable=True),
    Column("received_at", "timestamp", "server clock: answer stored"),
]


# A 7-point answer and its reaction time, then the common tail (ratings and montage ratings).
_RATING_ANSWER = [
    Column("rating", "int", '1 "Extremely poor fit" … 7 "Extremely good fit"', minimum=RATING_MIN, maximum=RATING_MAX),
    Column(
        "rt_ms",
        "int",
        "reaction time: end of the first complete play-through → answer, milliseconds",
        nullable=True,
        minimum=0,
    ),
    *_TAIL,
]


def _catch_passed_only_on_catch_trials(frame: Any) -> Any:
    return frame["is_catch"].fillna(False) | frame["catch_passed"].isna()


_CATCH_RULE = RowRule(
    "catch_passed only on catch trials",
    "`catch_passed` is empty unless `is_catch` is true.",
    ("is_catch", "catch_passed"),
    _catch_passed_only_on_catch_trials,
)

RATINGS = Table(
    "ratings",
    meaning="one row per 7-point fit rating (Langlois design)",
    columns=[
        _WORKER,
        _ASSIGNMENT,
        _EXPERIMENT,
        _TRIAL,
        Column("pairing_id", "int", "the rendered clip x excerpt pairing rated", nullable=True),
        Column("video_id", "int", "source video", nullable=True),
        Column("scene_label", "str", "the video's scene category", nullable=True),
        Column("clip_id", "int", "video clip (a `stimuli.csv` item of kind `clip`)", nullable=True),
        Column("clip_start_s", "float", "clip start in the source video, seconds", nullable=True, minimum=0),
        Column("clip_duration_s", "float", "clip duration, seconds", nullable=True, minimum=0),
        Column("music_id", "int", "source music track", nullable=True),
        Column("genre_label", "str", "the track's genre", nullable=True),
        Column("excerpt_id", "int", "music excerpt (a `stimuli.csv` item of kind `excerpt`)", nullable=True),
        Column("excerpt_start_s", "float", "excerpt start in the source track, seconds", nullable=True, minimum=0),
        Column("excerpt_duration_s", "float", "excerpt duration, seconds", nullable=True, minimum=0),
        *_RATING_ANSWER,
    ],
    rules=(_CATCH_RULE,),
)


def _option(side: str) -> list[Column]:
    if side == "left":
        return [
            Column("left_id", "int", "option shown on the left: an excerpt id (V2M) or clip id (M2V)", nullable=True),
            Column("left_label", "str", "its genre (V2M) or scene (M2V) label", nullable=True),
            Column("left_source_id", "int", "its source track (V2M) or video (M2V)", nullable=True),
            Column(
                "left_kind",
                "str",
                "`G` ground truth, `R` random, `S` search result; empty for plain 2AFC",
                nullable=True,
                allowed=OPTION_KINDS,
            ),
            Column("left_pairing_id", "int", "the rendered pairing of query and left option", nullable=True),
        ]
    return [
        Column(
            f"right_{column.name.removeprefix('left_')}",
            column.type,
            f"as `{column.name}`, for the option shown on the right",
            nullable=column.nullable,
            allowed=column.allowed,
        )
        for column in _option("left")
    ]


_OPTION_IDS = ("query_id", "query_source_id", "left_id", "left_source_id", "right_id", "right_source_id")


def _real_trials_name_their_items(frame: Any) -> Any:
    named = frame[list(_OPTION_IDS)].notna().all(axis=1)
    return frame["is_catch"].fillna(False) | named


def _chosen_id_is_the_chosen_option(frame: Any) -> Any:
    chosen = frame["left_id"].where(frame["chosen_side"] == "left", frame["right_id"])
    no_options = frame["left_id"].isna() & frame["right_id"].isna()
    return (frame["chosen_id"] == chosen).fillna(False) | (no_options & frame["chosen_id"].isna())


def _options_differ(frame: Any) -> Any:
    return (frame["left_id"] != frame["right_id"]).fillna(True)


CHOICES = Table(
    "choices",
    meaning="one row per two-alternative choice (2AFC and the VM-NET preference test)",
    columns=[
        _WORKER,
        _ASSIGNMENT,
        _EXPERIMENT,
        _TRIAL,
        Column(
            "direction",
            "str",
            "`V2M` (a video query, two music options) or `M2V` (a music query, two video options)",
            allowed=DIRECTIONS,
        ),
        Column(
            "condition",
            "str",
            "preference test: the two option kinds, the first-named first; `none` for plain 2AFC and catch trials",
            allowed=(*CONDITIONS, PLAIN_CONDITION),
        ),
        Column("query_id", "int", "the query item: a clip id for V2M, an excerpt id for M2V", nullable=True),
        Column("query_label", "str", "its scene label (V2M) or genre label (M2V)", nullable=True),
        Column("query_source_id", "int", "the query's source video (V2M) or music track (M2V)", nullable=True),
        *_option("left"),
        *_option("right"),
        Column(
            "search_source",
            "str",
            "for trials with an `S` option: the search source that produced it "
            "(e.g. `ranking-file:runs/vmnet-3.csv`, `model:vmnet@<version>`)",
            nullable=True,
        ),
        Column(
            "search_rank",
            "int",
            "rank of the `S` item in that source's results for the query (1 = top)",
            nullable=True,
            minimum=0,
        ),
        Column("chosen_side", "str", "the side the worker chose", allowed=SIDES),
        Column("chosen_id", "int", "the id of the chosen option (equals `left_id` or `right_id`)", nullable=True),
        Column(
            "chosen_kind",
            "str",
            "`G`/`R`/`S` of the chosen option (empty for plain 2AFC)",
            nullable=True,
            allowed=OPTION_KINDS,
        ),
        Column(
            "first_preferred",
            "bool",
            "preference test: the option named first in `condition` was chosen (G in GR and GS, S in SR)",
            nullable=True,
        ),
        Column(
            "rt_ms", "int", "reaction time, ms (after both options have been played through)", nullable=True, minimum=0
        ),
        *_TAIL,
    ],
    rules=(
        _CATCH_RULE,
        RowRule(
            "real trials name their items",
            "A trial that is not a catch trial has its query, both options and their sources.",
            _OPTION_IDS,
            _real_trials_name_their_items,
        ),
        RowRule(
            "chosen_id is the chosen option",
            "`chosen_id` equals `left_id` when `chosen_side` is `left` and `right_id` otherwise; "
            "it is empty when the trial has no options.",
            ("chosen_id", "chosen_side", "left_id", "right_id"),
            _chosen_id_is_the_chosen_option,
        ),
        RowRule(
            "two different options",
            "`left_id` and `right_id` differ.",
            ("left_id", "right_id"),
            _options_differ,
        ),
    ),
)

STIMULI = Table(
    "stimuli",
    meaning="one row per stimulus item (video clip or music excerpt) referenced above",
    columns=[
        Column("item_kind", "str", "what the item is", allowed=ITEM_KINDS),
        Column("item_id", "int", "clip id or excerpt id (the ids used in `ratings.csv`/`choices.csv`)"),
        Column("source_id", "int", "video id (clip) or track id (excerpt)"),
        Column("label", "str", "scene category (clip) or genre (excerpt)"),
        Column("start_s", "float", "start of the span within the source, seconds", minimum=0),
        Column("duration_s", "float", "length of the span, seconds", minimum=0),
        Column("seed", "int", "seed that chose the span"),
        Column(
            "ground_truth_id",
            "int",
            "for an excerpt cut from a music video's soundtrack: the clip of the same span (and vice versa)",
            nullable=True,
        ),
        Column(
            "file",
            "str",
            "path of the prepared media file: absolute for local storage, or the storage key for S3; "
            "empty while the item is not prepared yet",
            nullable=True,
        ),
        Column("source_file", "str", "path/key of the source file", nullable=True),
    ],
    unique=("item_kind", "item_id"),
)

ENTRY_CHANNELS = ("mturk", "link", "panel", "prolific")
SCREEN_OUTCOMES = ("none", "passed", "failed", "incomplete")
SCREENED_OUT_REASONS = ("sound_check", "headphones")
DEVICE_CLASSES = ("desktop", "mobile", "tablet", "unknown")
BROWSER_FAMILIES = ("Chrome", "Edge", "Firefox", "Safari", "Opera", "Samsung Internet", "Other", "unknown")
HEADPHONE_TESTS = ("antiphase", "huggins")
_PARTICIPANT = Column(
    "participant_id", "int", "the participant (one entry into one experiment; a worker may enter twice)", minimum=0
)


def _screen_failed_has_reason(frame: Any) -> Any:
    return (frame["headphone_screen"] != "failed") | (frame["screened_out_reason"] == "headphones")


PARTICIPANTS = Table(
    "participants",
    meaning="one row per participant of the exported experiments, whether they finished or not",
    columns=[
        _EXPERIMENT,
        _PARTICIPANT,
        _WORKER,
        Column(
            "entry_channel",
            "str",
            "how they entered: `mturk` (a HIT), `link` (a single-use invite link), `panel` (a panel link) or `prolific`",
            allowed=ENTRY_CHANNELS,
        ),
        Column("entered_at", "timestamp", "when they first opened the study"),
        Column("consented_at", "timestamp", "when they agreed to take part (empty: they did not)", nullable=True),
        Column("sound_check_attempts", "int", "sound-check attempts answered", minimum=0),
        Column("sound_check_passed", "bool", "whether they passed the sound check"),
        Column(
            "headphone_screen",
            "str",
            "the headphone screen's outcome (`none`: the experiment has none; `incomplete`: not finished)",
            allowed=SCREEN_OUTCOMES,
        ),
        Column("headphone_trials", "int", "headphone-screen trials answered (all tests)", minimum=0),
        Column("headphone_correct", "int", "of them answered correctly", minimum=0),
        Column(
            "screened_out_reason",
            "str",
            "the check that ended their session, empty when none did",
            nullable=True,
            allowed=SCREENED_OUT_REASONS,
        ),
        Column(
            "device_class",
            "str",
            "from the browser's user agent (the raw string is not exported)",
            allowed=DEVICE_CLASSES,
        ),
        Column("browser_family", "str", "from the browser's user agent", allowed=BROWSER_FAMILIES),
        Column("assignments_completed", "int", "bundles of trials they completed", minimum=0),
        Column("answers", "int", "answers stored (all their assignments)", minimum=0),
        Column("completed_at", "timestamp", "when they completed their last assignment", nullable=True),
        Column(
            "total_time_s",
            "float",
            "from entering to completing their last assignment, seconds (empty: never completed)",
            nullable=True,
            minimum=0,
        ),
        Column("playback_errors", "int", "media playback errors reported by the runner with their answers", minimum=0),
        Column("playback_stalls", "int", "`stalled` and `waiting` events reported with their answers", minimum=0),
        Column("skipped_trials", "int", "trials they skipped because the media would not play", minimum=0),
        Column(
            "focus_changes",
            "int",
            "times the page was hidden during a trial (another tab or window, a locked phone)",
            minimum=0,
        ),
        Column(
            "active_time_s",
            "float",
            "time spent on trials: the sum over their answers of answered_at minus presented_at (client clocks), seconds",
            nullable=True,
            minimum=0,
        ),
        Column("questionnaire_submitted", "bool", "whether they submitted the questionnaire"),
        Column(
            "gold_msi_training",
            "int",
            "Gold-MSI Musical Training score (Müllensiefen et al., 2014), when the block was asked and answered",
            nullable=True,
            minimum=7,
            maximum=49,
        ),
        Column(
            "simulated",
            "bool",
            "a simulated participant (the demo's crowd, `Participant.is_simulated`), not a person",
            since=2,
        ),
    ],
    unique=("participant_id",),
    rules=(
        RowRule(
            "failed_screen_has_reason",
            "a participant who failed the headphone screen was screened out for it",
            ("headphone_screen", "screened_out_reason"),
            _screen_failed_has_reason,
            since=2,
        ),
    ),
    since=2,
)

QUESTIONNAIRE = Table(
    "questionnaire",
    meaning="one row per questionnaire answer (long format; a skipped optional item has no row)",
    columns=[
        _EXPERIMENT,
        _PARTICIPANT,
        _WORKER,
        Column("item", "str", "the item's key (ready-made blocks: docs/experiments.md#questionnaire)"),
        Column("block", "str", "the ready-made block the item belongs to, or `custom`"),
        Column("value", "str", "the answer as given (choices: the option's text; numbers as digits)"),
        Column("submitted_at", "timestamp", "when the questionnaire was submitted"),
    ],
    unique=("participant_id", "item"),
    since=2,
)

HEADPHONE_TRIALS = Table(
    "headphone_trials",
    meaning="one row per answered headphone-screen trial",
    columns=[
        _EXPERIMENT,
        _PARTICIPANT,
        _WORKER,
        Column(
            "test",
            "str",
            "antiphase (Woods et al., 2017) or Huggins pitch (Milne et al., 2021)",
            allowed=HEADPHONE_TESTS,
        ),
        Column("number", "int", "1 for the first trial of this test", minimum=1),
        Column("expected", "int", "the interval that was right", minimum=1, maximum=3),
        Column("answer", "int", "the interval the participant chose", minimum=1, maximum=3),
        Column("correct", "bool", "answer == expected"),
        Column("answered_at", "timestamp", "when it was answered (server time)"),
    ],
    unique=("participant_id", "test", "number"),
    since=2,
)

TRIAL_EVENTS = Table(
    "trial_events",
    meaning="one row per event the runner recorded during a stored answer's trial (playback, page visibility)",
    columns=[
        _EXPERIMENT,
        _PARTICIPANT,
        _WORKER,
        _ASSIGNMENT,
        _TRIAL,
        Column("seq", "int", "order of the event within its trial, from 0", minimum=0),
        Column(
            "type",
            "str",
            "`play`, `replay`, `pause`, `ended`, `stalled`, `waiting`, `error`, `play_rejected`, `hidden`, "
            "`visible`, `blur`, `focus`, or `truncated` (the runner keeps at most 60 events per trial; "
            "`detail` then says how many were dropped)",
        ),
        Column("slot", "str", "the medium it concerns: `main`, `left`, `right` (empty for page events)", nullable=True),
        Column("t_ms", "int", "client milliseconds since the trial was shown", nullable=True),
        Column("media_time_s", "float", "the medium's playback position at the event, seconds", nullable=True),
        Column("detail", "str", "any other fields of the event, as JSON (e.g. a playback error's code)", nullable=True),
    ],
    unique=("assignment_id", "trial_index", "seq"),
    since=2,
)

SKIPPED_TRIALS = Table(
    "skipped_trials",
    meaning="one row per trial a worker skipped because its media would not play (not a judgment; re-offered)",
    columns=[
        _EXPERIMENT,
        _PARTICIPANT,
        _WORKER,
        _ASSIGNMENT,
        _TRIAL,
        Column("reason", "str", "why it was skipped", allowed=("playback",)),
        Column("is_catch", "bool", "the trial was an attention check"),
        Column(
            "pairing_ids",
            "str",
            "the pairings the trial showed, space-separated (empty for a catch trial)",
            nullable=True,
        ),
        Column("playback_errors", "int", "playback errors the runner saw on the trial before the skip", minimum=0),
        Column("answered_at", "timestamp", "when the worker skipped (client clock)", nullable=True),
        Column("received_at", "timestamp", "when the server stored the skip"),
    ],
    unique=("assignment_id", "trial_index"),
    since=2,
)

# ---------------------------------------------------------------------------------------------- montages
# Seed 004's whole-song music videos as stimuli (docs/montage.md): the montages a study showed, and the
# judgments of them. A montage is one video with the whole song as its soundtrack.

_MONTAGE_KIND_MEANING = (
    "`G` the song's real music video, `S` a model's montage (the nearest clips), `R` a montage of random "
    "clips, `anti` a montage of the farthest clips"
)

MONTAGES = Table(
    "montages",
    meaning="one row per montage (whole-song music video) that a montage experiment in this export showed",
    columns=[
        Column("montage_id", "int", "montage primary key (the id used in `montage_choices.csv`/`montage_ratings.csv`)"),
        Column("song_id", "int", "the song: a source music track (`stimuli.csv` `source_id` of its excerpts)"),
        Column("song_title", "str", "the track's title", nullable=True),
        Column("genre_label", "str", "the track's genre", nullable=True),
        Column("kind", "str", _MONTAGE_KIND_MEANING, allowed=MONTAGE_KINDS),
        Column(
            "model",
            "str",
            "the retrieval model that chose the clips, `NAME@VERSION` of the model registry (docs/retrieval.md); "
            "empty for `G`",
            nullable=True,
        ),
        Column(
            "strategy",
            "str",
            "`nearest` (S), `random` (R), `farthest` (anti), `original` (G)",
            allowed=MONTAGE_STRATEGIES,
        ),
        Column(
            "segments", "str", "the song's segmentation, e.g. `beats:4`, `fixed:2`, `foote`; empty for G", nullable=True
        ),
        Column("seed", "int", "the generator's seed (same inputs + seed = same montage); empty for G", nullable=True),
        Column("n_segments", "int", "how many song segments (= clips) it has; empty for G", nullable=True, minimum=1),
        Column("duration_s", "float", "length of the montage (= the song), seconds", minimum=0),
        Column(
            "mean_distance",
            "float",
            "mean model distance (1 - cosine) between each segment and its clip; empty for G",
            nullable=True,
            minimum=0,
        ),
        Column(
            "provenance_sha256",
            "str",
            "SHA-256 of the montage's provenance JSON (segment → clip, source, time range, distance, model, seed); "
            "empty for G",
            nullable=True,
            pattern=r"^[0-9a-f]{64}$",
        ),
        Column(
            "file",
            "str",
            "path of the montage video: absolute for local storage, or the storage key for S3",
            nullable=True,
        ),
    ],
    unique=("montage_id",),
    since=3,
)


def _montage_option(side: str) -> list[Column]:
    return [
        Column(f"{side}_montage_id", "int", f"montage shown on the {side}", nullable=True),
        Column(f"{side}_kind", "str", f"its kind: {_MONTAGE_KIND_MEANING}", nullable=True, allowed=MONTAGE_KINDS),
        Column(f"{side}_model", "str", "its model (`NAME@VERSION`; empty for G)", nullable=True),
    ]


def _montage_trials_name_both(frame: Any) -> Any:
    named = frame[["song_id", "left_montage_id", "right_montage_id"]].notna().all(axis=1)
    return frame["is_catch"].fillna(False) | named


def _chosen_montage_is_the_chosen_side(frame: Any) -> Any:
    chosen = frame["left_montage_id"].where(frame["chosen_side"] == "left", frame["right_montage_id"])
    no_options = frame["left_montage_id"].isna() & frame["right_montage_id"].isna()
    return (frame["chosen_montage_id"] == chosen).fillna(False) | (no_options & frame["chosen_montage_id"].isna())


def _montages_differ(frame: Any) -> Any:
    return (frame["left_montage_id"] != frame["right_montage_id"]).fillna(True)


MONTAGE_CHOICES = Table(
    "montage_choices",
    meaning="one row per montage preference answer: two montages of the same song, which fits the song better",
    columns=[
        _WORKER,
        _ASSIGNMENT,
        _EXPERIMENT,
        _TRIAL,
        Column("song_id", "int", "the song both montages are cut to", nullable=True),
        *_montage_option("left"),
        *_montage_option("right"),
        Column("chosen_side", "str", "the side the worker chose", allowed=SIDES),
        Column(
            "chosen_montage_id",
            "int",
            "the chosen montage (equals `left_montage_id` or `right_montage_id`)",
            nullable=True,
        ),
        Column(
            "rt_ms", "int", "reaction time, ms (after both montages have been played through)", nullable=True, minimum=0
        ),
        *_TAIL,
    ],
    rules=(
        _CATCH_RULE,
        RowRule(
            "montage trials name both montages",
            "A trial that is not a catch trial has its song and both montages.",
            ("song_id", "left_montage_id", "right_montage_id"),
            _montage_trials_name_both,
        ),
        RowRule(
            "chosen_montage_id is the chosen montage",
            "`chosen_montage_id` equals `left_montage_id` when `chosen_side` is `left` and `right_montage_id` "
            "otherwise; it is empty when the trial has no montages.",
            ("chosen_montage_id", "chosen_side", "left_montage_id", "right_montage_id"),
            _chosen_montage_is_the_chosen_side,
        ),
        RowRule(
            "two different montages",
            "`left_montage_id` and `right_montage_id` differ.",
            ("left_montage_id", "right_montage_id"),
            _montages_differ,
        ),
    ),
    since=3,
)

MONTAGE_RATINGS = Table(
    "montage_ratings",
    meaning="one row per song-level 7-point fit rating of a montage",
    columns=[
        _WORKER,
        _ASSIGNMENT,
        _EXPERIMENT,
        _TRIAL,
        Column("montage_id", "int", "the montage rated (empty for an on-screen instruction check)", nullable=True),
        Column("song_id", "int", "its song", nullable=True),
        Column("kind", "str", _MONTAGE_KIND_MEANING, nullable=True, allowed=MONTAGE_KINDS),
        Column("model", "str", "its model (`NAME@VERSION`; empty for G)", nullable=True),
        *_RATING_ANSWER,
    ],
    rules=(_CATCH_RULE,),
    since=3,
)

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        RATINGS,
        CHOICES,
        STIMULI,
        PARTICIPANTS,
        QUESTIONNAIRE,
        HEADPHONE_TRIALS,
        TRIAL_EVENTS,
        SKIPPED_TRIALS,
        MONTAGES,
        MONTAGE_CHOICES,
        MONTAGE_RATINGS,
    )
}


# ---------------------------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ManifestKey:
    """One key of ``manifest.json``: its JSON type(s), whether writers must write it, what it means."""

    name: str
    types: tuple[type, ...]
    meaning: str
    required: bool = True
    since: int = 1

    @property
    def type_text(self) -> str:
        names = {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array", type(None): "null"}
        return " / ".join(names[t] for t in self.types)


MANIFEST: dict[str, ManifestKey] = {
    key.name: key
    for key in (
        ManifestKey("format", (str,), f'always `"{FORMAT_NAME}"`'),
        ManifestKey(
            "format_version", (int,), f"version of this format (now {FORMAT_VERSION}); readers refuse unknown ones"
        ),
        ManifestKey("exported_at", (str,), "when the export was written (timestamp, as in the tables)"),
        ManifestKey("source", (str,), 'what wrote it: `"mvfit <version> @ <host>"`, `"mvfit simulator"`, …'),
        ManifestKey(
            "experiments",
            (list,),
            "the exported experiments: `id`, `slug`, `kind`, `seed` and `config` (the validated design "
            "parameters; with `seed` they regenerate the design)",
        ),
        ManifestKey("row_counts", (dict,), 'rows per table, e.g. `{"ratings": 716175, "choices": 0, …}`'),
        ManifestKey("pseudonymised", (bool,), "worker ids are pseudonyms (always true for the platform's exports)"),
        ManifestKey("simulation", (dict, type(None)), "`null`, or the simulator's parameters and planted truth"),
        ManifestKey(
            "assignments",
            (str,),
            '`"completed"` (only finished assignments) or `"all"` (`--include-incomplete`)',
            required=False,
        ),
        ManifestKey(
            "files",
            (dict,),
            'every data file with its size and SHA-256: `{"ratings.csv": {"bytes": 1234, "sha256": "…"}, …}`',
            required=False,
        ),
        ManifestKey(
            "software",
            (dict,),
            "versions of what wrote the files: `python`, `pandas`, `pyarrow`",
            required=False,
        ),
    )
}
