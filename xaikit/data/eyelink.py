"""EyeLink ``.asc`` files (from SR Research's ``edf2asc``): fixations split into trials.

Conventions used throughout this module:

* Times are the tracker clock in milliseconds. A message line ``MSG <time> [<offset>] <text>``
  happened at ``time - offset`` (SR Research's Data Viewer rule; ``offset`` is optional).
  Regexes are matched with :func:`re.search` against ``<text>`` only.
* A fixation belongs to the trial in which it *starts*: ``trial start <= fixation start <
  trial end`` (so a fixation that began before the trial's first message is not in it).
* Durations: ``duration="eyelink"`` keeps the EFIX line's own duration field, which EyeLink
  counts in samples and so is one sample more than ``end - start`` (``end - start + 1`` at
  1000 Hz, ``+ 0.5`` at 2000 Hz, ``+ 4`` at 250 Hz); ``duration="end-start"`` gives
  ``end - start`` (the convention of pymovements).
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import math
import os
import re
import warnings

import numpy as np
import pandas as pd

from xaikit.data._fixation_table import _drop_incomplete, _number_or_nan
from xaikit.data.errors import DataFileError, check_readable_file

__all__ = ["PRESETS", "read_eyelink_asc", "read_messages"]

#: The message conventions of common experiment software, as regexes on the message text.
#: ``psychopy``: PsychoPy itself writes no EyeLink messages; these are the ones SR Research's
#: PsychoPy (pylink) example scripts and Builder templates send: ``TRIALID <n>``,
#: ``image_onset``, ``!V IMGLOAD FILL <file>``, ``blank_screen`` and ``TRIAL_RESULT <code>``.
PRESETS: dict[str, dict[str, str]] = {
    "experiment_builder": {
        "trial_start": r"^TRIALID\b\s*(?P<trial>.*)",
        "trial_end": r"^TRIAL_RESULT\b",
        "image_name": r"^!V\s+IMGLOAD\s+(?:FILL|TOP_LEFT|CENTER)\s+(?P<image>\S+)",
    },
    "opensesame": {
        "trial_start": r"^start_trial\b\s*(?P<trial>\S*)",
        "trial_end": r"^stop_trial\b",
        "image_name": r"^var\s+image\s+(?P<image>.+)",
    },
    "psychopy": {
        "trial_start": r"^TRIALID\b\s*(?P<trial>.*)",
        "trial_end": r"^TRIAL_RESULT\b",
        "image_onset": r"^image_onset\b",
        "image_offset": r"^blank_screen\b",
        "image_name": r"^!V\s+IMGLOAD\s+(?:FILL|TOP_LEFT|CENTER)\s+(?P<image>\S+)",
    },
}

_PATTERN_NAMES = ("trial_start", "trial_end", "image_onset", "image_offset", "image_name")
_EYES = {"left": "L", "right": "R"}
_EFIX = re.compile(r"^EFIX\s+([LR])\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")
_MSG = re.compile(r"^MSG\s+(\d+(?:\.\d+)?)\s+(?:(-?\d+)\s+)?(.*)$")
_VALIDATION = re.compile(
    r"^!CAL\s+VALIDATION\b.*?\b(LEFT|RIGHT)\b.*?\bERROR\s+(\d+(?:\.\d+)?)\s+avg\."
)
_COLUMNS = ["x", "y", "duration", "start", "end", "eye", "trial", "block"]


def read_eyelink_asc(
    path: str | os.PathLike,
    *,
    subject: str | None = None,
    preset: str | None = None,
    trial_start: str | None = None,
    trial_end: str | None = None,
    image_onset: str | None = None,
    image_offset: str | None = None,
    image_name: str | None = None,
    eye: str = "both",
    duration: str = "eyelink",
    start_message: str | None = None,
    end_message: str | None = None,
) -> pd.DataFrame:
    """Read the fixations (``EFIX`` events) of an EyeLink ``.asc`` file, split into trials.

    An ``EFIX <eye> <start> <end> <duration> <x> <y> <pupil>`` line becomes one row. A file
    whose name ends in ``.gz`` is read through gzip. The module docstring states the time,
    trial and duration conventions.

    Trials by message (``preset`` or ``trial_start``): a trial opens at a message matching
    ``trial_start`` and closes at the next message matching ``trial_end`` (or at the next
    ``trial_start``, or the end of the file). Its label is the regex's named group ``trial``
    (stripped) or, without one (or when it is empty), the trial's number 1, 2, ... in the file.
    Within a trial (messages are placed by their order in the file):

    * ``image`` is the ``image`` group of the first message matching ``image_name``, else that
      of the first ``image_onset`` message, else ``None``; trials naming several images keep
      the first, with a warning that counts them.
    * ``image_onset`` / ``image_offset``: the first match of each sets the display period; only
      fixations that start in ``[image onset, image offset)`` are kept (no ``image_onset``:
      from the trial start; no ``image_offset``: to the trial end). With ``image_onset``, a
      trial without an onset message keeps no fixation.
    * ``onset`` = fixation start - image onset (or - trial start), in ms.

    Fixations outside every trial or display period are dropped with a warning that counts
    them. ``preset`` picks the regexes of :data:`PRESETS` (``"experiment_builder"``,
    ``"opensesame"``, ``"psychopy"``); an argument given explicitly replaces the preset's.

    Without ``preset`` and ``trial_start`` (the original behaviour), every fixation is kept and
    ``trial`` is the text after the latest ``TRIALID`` message above its line (``None`` before
    the first). The older ``start_message`` / ``end_message`` still work the same way: a
    period opens at a message containing ``start_message`` and closes at the next one holding
    ``end_message`` (or the next ``start_message``, or the end of the file), at the message's
    timestamp without its offset; only fixations lying entirely within a period are kept, and
    ``image`` is the text after ``start_message`` (``None`` when nothing follows).

    Args:
        path: The ``.asc`` (or ``.asc.gz``) file.
        subject: Value of the ``subject`` column; defaults to the file name without suffix
            (and without ``.gz``).
        preset: ``"experiment_builder"``, ``"opensesame"``, ``"psychopy"`` or ``None``.
        trial_start: Regex of the message opening a trial, e.g. ``r"^TRIALID\\s*(?P<trial>.*)"``.
        trial_end: Regex of the message closing a trial, e.g. ``r"^TRIAL_RESULT"``.
        image_onset: Regex of the message marking the image onset (may hold group ``image``).
        image_offset: Regex of the message marking the image offset.
        image_name: Regex of a message naming the trial's image in group ``image``, e.g.
            ``r"^var\\s+image\\s+(?P<image>.+)"`` (OpenSesame) or ``!V IMGLOAD`` (Data Viewer).
        eye: ``"both"`` keeps every EFIX line; ``"left"`` / ``"right"`` keep that eye's;
            ``"best"`` keeps, in each recording block (``START`` line), the eye with the lower
            average error (``ERROR <x> avg.``) on the latest ``!CAL VALIDATION`` lines above
            it, the left eye on a tie, and the recorded eye when the block has only one.
        duration: ``"eyelink"`` (the EFIX field, one sample more than ``end - start``) or
            ``"end-start"``.
        start_message: Old style: text marking the onset of an image, e.g. ``"DISPLAY_ON"``.
        end_message: Old style: text marking its offset, e.g. ``"DISPLAY_OFF"``.

    Returns:
        DataFrame with columns ``x``, ``y``, ``duration`` (ms), ``start``, ``end`` (tracker
        clock, ms), ``eye`` (``"L"``/``"R"``), ``trial``, ``subject``; with trials by message
        also ``image`` and ``onset``; with ``start_message`` also ``image``. Fixations without
        a position (``.``) or with an infinite value are dropped with a warning that counts
        them. A last line without its newline (a file cut while it was written or copied) may
        hold a cut number, so it is ignored with a warning that names it.

    Raises:
        DataFileError: the file is missing or empty, holds no ``EFIX`` line, an ``EFIX`` line
            has non-numeric times, ``trial_start`` or an explicitly given regex matches no
            message (the error lists the most common messages; a preset's other regexes that
            match nothing are left out with a warning), ``eye`` asks for an eye the file lacks,
            or ``eye="best"`` finds no validation of both eyes for a binocular block.
        ValueError: an unknown ``preset``, ``eye`` or ``duration``; an empty or invalid regex;
            message regexes without ``trial_start``; ``start_message`` mixed with them; or an
            empty ``start_message`` / ``end_message`` (it would match every message).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s01.asc"
        >>> _ = path.write_text(
        ...     "MSG\\t1000 start_trial 7\\n"
        ...     "MSG\\t1005 var image dog.jpg\\n"
        ...     "EFIX R   1010\\t1260\\t251\\t  512.0\\t  384.5\\t  1200\\n"
        ...     "MSG\\t1300 stop_trial\\n")
        >>> table = read_eyelink_asc(path, preset="opensesame", duration="end-start")
        >>> table[["x", "y", "duration", "trial", "image", "onset"]]
               x      y  duration trial    image  onset
        0  512.0  384.5     250.0     7  dog.jpg   10.0
    """
    patterns, explicit = _patterns(
        preset, trial_start, trial_end, image_onset, image_offset, image_name
    )
    _check_options(eye, duration, start_message, end_message, patterns)
    check_readable_file(path)
    scan = _scan(path)
    if scan.table.empty:
        raise DataFileError(path, "no EFIX (end of fixation) line: is this an EyeLink .asc file?")
    table = _select_eye(scan.table, eye, scan.blocks, path)
    if duration == "end-start":
        table["duration"] = table["end"] - table["start"]
    table["subject"] = subject if subject is not None else _file_stem(path)
    if patterns:
        patterns = _drop_unmatched(patterns, explicit, scan.messages, path)
        trials = _split_trials(scan.messages, patterns)
        table = _assign_trials(table, trials, "image_onset" in patterns, path)
    elif start_message is not None:
        periods = _display_periods(scan.messages, start_message, end_message)
        table = _keep_within_periods(table, periods)
    table = table.drop(columns="block")
    return _drop_incomplete(table, str(path))


def read_messages(path: str | os.PathLike, pattern: str | None = None) -> pd.DataFrame:
    """The ``MSG`` lines of an EyeLink ``.asc`` (or ``.asc.gz``) file, optionally filtered.

    Args:
        path: The file.
        pattern: A regex searched in each message's text; ``None`` keeps every message.

    Returns:
        DataFrame with ``time`` (ms, the timestamp minus the message's offset, as in
        :func:`read_eyelink_asc`) and ``text``, in file order.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s01.asc"
        >>> _ = path.write_text(
        ...     "MSG\\t1000 TRIALID 1\\nMSG\\t1010 -4 !V IMGLOAD CENTER a.jpg 512 384\\n"
        ... )
        >>> read_messages(path, r"IMGLOAD").values.tolist()
        [[1014.0, '!V IMGLOAD CENTER a.jpg 512 384']]
    """
    check_readable_file(path)
    wanted = None if pattern is None else _compile("pattern", pattern)
    messages = [
        (time, text)
        for _, time, text in _scan(path).messages
        if wanted is None or wanted.search(text)
    ]
    return pd.DataFrame(messages, columns=["time", "text"]).astype({"time": float})


def _file_stem(path) -> str:
    """The file name without ``.gz`` and its suffix: ``s01.asc.gz`` -> ``s01``."""
    name = os.path.basename(os.fspath(path))
    return os.path.splitext(name[:-3] if name.endswith(".gz") else name)[0]


# ------------------------------------------------------------------------------ options


def _patterns(preset, trial_start, trial_end, image_onset, image_offset, image_name):
    """The regexes to use, compiled: {name: pattern}, and the names given explicitly."""
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)} or None; got {preset!r}")
    given = dict(
        zip(
            _PATTERN_NAMES,
            (trial_start, trial_end, image_onset, image_offset, image_name),
            strict=True,
        )
    )
    explicit = {name for name, value in given.items() if value is not None}
    chosen = dict(PRESETS.get(preset, {}))
    chosen.update({name: given[name] for name in explicit})
    if chosen and "trial_start" not in chosen:
        raise ValueError(
            f"{sorted(explicit)} need trial_start (a regex of the message that opens a trial) "
            "or a preset"
        )
    return {name: _compile(name, value) for name, value in chosen.items()}, explicit


def _compile(name: str, value) -> re.Pattern:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be None or a non-empty regex; got {value!r}")
    try:
        return re.compile(value)
    except re.error as error:
        raise ValueError(f"{name} is not a valid regex ({error}): {value!r}") from error


def _check_options(eye, duration, start_message, end_message, patterns) -> None:
    if eye not in ("left", "right", "both", "best"):
        raise ValueError(f"eye must be 'left', 'right', 'both' or 'best'; got {eye!r}")
    if duration not in ("eyelink", "end-start"):
        raise ValueError(f"duration must be 'eyelink' or 'end-start'; got {duration!r}")
    for name, message in (("start_message", start_message), ("end_message", end_message)):
        if message is not None and (not isinstance(message, str) or not message.strip()):
            raise ValueError(
                f"{name} must be None or the non-empty text of a message (e.g. 'DISPLAY_ON'); "
                f"got {message!r}, which would match every message"
            )
    if patterns and (start_message is not None or end_message is not None):
        raise ValueError(
            "start_message/end_message cannot be combined with preset or the message regexes; "
            "use image_onset/image_offset instead"
        )


# ------------------------------------------------------------------------------ reading


@dataclasses.dataclass
class _Scan:
    table: pd.DataFrame  # one row per EFIX line, columns _COLUMNS
    messages: list  # (timestamp, time = timestamp - offset, text), in file order
    blocks: list  # (line number, {eye: validation error}) per recording block


def _scan(path) -> _Scan:
    """Read the EFIX, MSG and START lines of the file (one pass)."""
    rows, messages, blocks = [], [], []
    trial, errors = None, {}
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith("\n") and line.strip():
                warnings.warn(
                    f"{path}: ignored the last line {number} ({line.strip()[:60]!r}): it has no "
                    "newline, so the file was probably cut and its numbers may be cut too",
                    stacklevel=3,
                )
                break
            line = line.strip()
            if line.startswith("MSG"):
                message = _read_message(line)
                if message is not None:
                    messages.append(message)
                    text = message[2]
                    if text.startswith("TRIALID"):
                        trial = text[len("TRIALID") :].strip() or None
                    validation = _VALIDATION.search(text)
                    if validation is not None:
                        errors[validation.group(1)[0]] = float(validation.group(2))
            elif line.startswith("START"):
                blocks.append((number, dict(errors)))
            elif line.startswith("EFIX"):
                if not blocks:  # fixations before any START line: a block of their own
                    blocks.append((number, dict(errors)))
                rows.append(_read_efix(line, number, path, trial) + [len(blocks) - 1])
    return _Scan(pd.DataFrame(rows, columns=_COLUMNS), messages, blocks)


def _read_message(line: str):
    match = _MSG.match(line)
    if match is None:
        return None
    timestamp = float(match.group(1))
    offset = float(match.group(2)) if match.group(2) is not None else 0.0
    return timestamp, timestamp - offset, match.group(3).strip()


def _read_efix(line, number, path, trial) -> list:
    match = _EFIX.match(line)
    if match is None:
        raise DataFileError(path, f"line {number} is not a valid EFIX line: {line!r}")
    eye, start, end, duration, x, y = match.groups()
    try:
        start, end, duration = float(start), float(end), float(duration)
    except ValueError as error:
        raise DataFileError(path, f"line {number} has non-numeric times: {line!r}") from error
    return [_number_or_nan(x), _number_or_nan(y), duration, start, end, eye, trial]


# ------------------------------------------------------------------------------ eyes


def _select_eye(table: pd.DataFrame, eye: str, blocks, path) -> pd.DataFrame:
    """Keep the rows of the eye(s) asked for (see ``eye`` in :func:`read_eyelink_asc`)."""
    present = sorted(set(table["eye"]))
    if eye == "both":
        return table
    if eye in _EYES:
        wanted = _EYES[eye]
        if wanted not in present:
            raise DataFileError(
                path, f"eye={eye!r} but the file has no {eye}-eye EFIX line (eyes: {present})"
            )
        return table[table["eye"] == wanted].reset_index(drop=True)
    best = {}
    for block, eyes in table.groupby("block")["eye"].unique().items():
        best[block] = _best_eye(sorted(eyes), *blocks[block], path)
    return table[table["eye"] == table["block"].map(best)].reset_index(drop=True)


def _best_eye(eyes: list, line: int, errors: dict, path) -> str:
    """The eye of a block with the lower validation error (left on a tie)."""
    if len(eyes) == 1:
        return eyes[0]
    if not all(name in errors for name in eyes):
        raise DataFileError(
            path,
            f"eye='best' needs a '!CAL VALIDATION ... ERROR <x> avg.' line for both eyes above "
            f"the recording block at line {line}; found errors {errors or 'for none'}; pass "
            "eye='left' or eye='right'",
        )
    return min(eyes, key=lambda name: (errors[name], name))


# ------------------------------------------------------------------------------ trials


@dataclasses.dataclass
class _Trial:
    label: object
    start: float
    end: float = math.inf
    closed: bool = False
    onset: float | None = None
    offset: float | None = None
    image: str | None = None
    images: set = dataclasses.field(default_factory=set)


def _drop_unmatched(patterns: dict, explicit: set, messages, path) -> dict:
    """Refuse a needed regex that matches no message; leave out a preset's optional ones."""
    kept = {}
    for name, pattern in patterns.items():
        if any(pattern.search(text) for _, _, text in messages):
            kept[name] = pattern
        elif name == "trial_start" or name in explicit:
            raise DataFileError(
                path,
                f"{name} regex {pattern.pattern!r} matches no message in the file; the most "
                f"common messages are: {_common_messages(messages)}",
            )
        else:
            warnings.warn(
                f"{path}: the preset's {name} regex {pattern.pattern!r} matches no message, "
                "so it is not used",
                stacklevel=3,
            )
    return kept


def _common_messages(messages, count: int = 6) -> str:
    """The most frequent first words of the messages, each with a count and an example."""
    heads = collections.Counter()
    examples = {}
    for _, _, text in messages:
        head = text.split(maxsplit=1)[0] if text else ""
        heads[head] += 1
        examples.setdefault(head, text[:50])
    if not heads:
        return "none (the file has no MSG line)"
    return "; ".join(
        f"{head!r} x{number} (e.g. {examples[head]!r})" for head, number in heads.most_common(count)
    )


def _split_trials(messages, patterns: dict) -> list[_Trial]:
    """Walk the messages in file order and build the trials they mark."""
    trials: list[_Trial] = []
    for _, time, text in messages:
        match = patterns["trial_start"].search(text)
        if match is not None:
            if trials and not trials[-1].closed:
                trials[-1].end, trials[-1].closed = time, True
            label = (match.groupdict().get("trial") or "").strip()
            trials.append(_Trial(label or len(trials) + 1, time))
            continue
        if not trials or trials[-1].closed:
            continue
        _read_trial_message(trials[-1], time, text, patterns)
    return trials


def _read_trial_message(trial: _Trial, time: float, text: str, patterns: dict) -> None:
    if "trial_end" in patterns and patterns["trial_end"].search(text):
        trial.end, trial.closed = time, True
        return
    onset = patterns.get("image_onset") and patterns["image_onset"].search(text)
    if onset and trial.onset is None:
        trial.onset = time
        image = (onset.groupdict().get("image") or "").strip()
        if image and trial.image is None:
            trial.image = image
    offset = patterns.get("image_offset") and patterns["image_offset"].search(text)
    if offset and trial.offset is None:
        trial.offset = time
    named = patterns.get("image_name") and patterns["image_name"].search(text)
    if named:
        image = (named.groupdict().get("image") or "").strip()
        if image:
            trial.images.add(image)
            if not trial.images - {image}:  # the first name given: wins over image_onset's
                trial.image = image


def _assign_trials(table: pd.DataFrame, trials: list[_Trial], by_onset: bool, path):
    """Give each fixation its trial, image and onset; drop the ones outside (counted)."""
    start = table["start"].to_numpy(float)
    labels = np.full(len(table), None, dtype=object)
    images = np.full(len(table), None, dtype=object)
    onsets = np.full(len(table), math.nan)
    in_trial = np.zeros(len(table), bool)
    keep = np.zeros(len(table), bool)
    no_onset = []
    for trial in trials:
        inside = (start >= trial.start) & (start < trial.end) & ~in_trial
        in_trial |= inside
        if by_onset and trial.onset is None:
            no_onset.append(trial.label)
            continue
        begin = trial.onset if by_onset else trial.start
        finish = trial.offset if trial.offset is not None else trial.end
        shown = inside & (start >= begin) & (start < finish)
        keep |= shown
        labels[shown], images[shown], onsets[shown] = trial.label, trial.image, begin
    _warn_dropped(path, int((~in_trial).sum()), int((in_trial & ~keep).sum()), no_onset)
    several = [trial.label for trial in trials if len(trial.images) > 1]
    if several:
        warnings.warn(
            f"{path}: {len(several)} trial(s) name several images (e.g. trial {several[0]!r}); "
            "each keeps the first",
            stacklevel=3,
        )
    table = table.assign(trial=labels, image=images, onset=start - onsets)
    return table[keep].reset_index(drop=True)


def _warn_dropped(path, outside: int, off_display: int, no_onset: list) -> None:
    if outside:
        warnings.warn(
            f"{path}: dropped {outside} fixation(s) that start outside every trial",
            stacklevel=4,
        )
    if off_display:
        detail = (
            f"; {len(no_onset)} trial(s) have no image_onset message (e.g. {no_onset[0]!r})"
            if no_onset
            else ""
        )
        warnings.warn(
            f"{path}: dropped {off_display} fixation(s) that start in a trial but outside its "
            f"image display period{detail}",
            stacklevel=4,
        )


# ------------------------------------------------------------------------------ old style


def _display_periods(messages, start_message: str, end_message: str | None) -> list:
    """[onset, offset or None, image] per display period, at the messages' timestamps."""
    periods: list[list] = []
    for timestamp, _, text in messages:
        if start_message in text:
            if periods and periods[-1][1] is None:
                periods[-1][1] = timestamp
            image = text.split(start_message, 1)[1].strip() or None
            periods.append([timestamp, None, image])
        elif end_message is not None and end_message in text and periods:
            if periods[-1][1] is None:
                periods[-1][1] = timestamp
    return periods


def _keep_within_periods(table: pd.DataFrame, periods) -> pd.DataFrame:
    images = np.full(len(table), None, dtype=object)
    keep = np.zeros(len(table), bool)
    for onset, offset, image in periods:
        offset = math.inf if offset is None else offset
        inside = ((table["start"] >= onset) & (table["end"] <= offset)).to_numpy()
        keep |= inside
        images[inside] = image
    table = table.assign(image=images)
    return table[keep].reset_index(drop=True)
