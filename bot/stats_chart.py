"""The /stats picture: questions per day with the answered part, and 👍 / 👎 per day, as a PNG.

Drawn with matplotlib's object API (no pyplot: its global state is not safe across the threads handlers
render in), imported only when a chart is drawn. Every label is ASCII (dates, numbers, English words): the
fonts matplotlib ships have no Chinese glyphs, and the Chinese explanation goes in the photo's caption.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from .questionlog import DayCounts

# 1200 × 1080 pixels (Telegram shows up to 1280 without scaling down); a small figure at a high resolution gives
# large letters, readable on a phone
WIDTH_IN, HEIGHT_IN, DPI = 6.0, 5.4, 200
MAX_DATE_LABELS = 6  # on the time axis; more crowd a phone screen
ANSWERED, UNANSWERED, UP, DOWN = "#2e7d32", "#bdbdbd", "#1565c0", "#c62828"


def render_chart(series: Sequence[DayCounts]) -> bytes:
    """Two panels over the same days: stacked bars of questions per day (answered / not answered) and lines of
    up and down votes per day; the title names the period. `series` is one entry per day, oldest first."""
    if not series:
        raise ValueError("render_chart needs at least one day")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    positions = range(len(series))
    answered = [day.answered for day in series]
    unanswered = [day.questions - day.answered for day in series]
    questions, answered_total = sum(day.questions for day in series), sum(answered)
    share = round(100 * answered_total / questions) if questions else 0

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    bars, votes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    figure.suptitle(f"{questions} question{'' if questions == 1 else 's'}, {period(series)}", fontsize=12)

    width = 0.8 if len(series) <= 60 else 1.0  # a year of days: bars touch rather than vanish between gaps
    bars.bar(positions, answered, width, color=ANSWERED, label=f"answered: {answered_total} ({share}%)")
    bars.bar(
        positions,
        unanswered,
        width,
        bottom=answered,
        color=UNANSWERED,
        label=f"not answered: {questions - answered_total}",
    )
    bars.set_ylabel("questions/day")

    up = [day.up for day in series]
    down = [day.down for day in series]
    marker = "o" if len(series) <= 60 else None
    votes.plot(positions, up, color=UP, marker=marker, label=f"up: {sum(up)}", clip_on=False)
    votes.plot(positions, down, color=DOWN, marker=marker, label=f"down: {sum(down)}", clip_on=False)
    votes.set_ylabel("votes/day")

    for axes in (bars, votes):
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False, borderaxespad=0.2)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0, top=max(axes.get_ylim()[1], 1))
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    step = math.ceil(len(series) / MAX_DATE_LABELS)
    ticks = list(positions)[::-1][::step][::-1]  # the last day (today) is always labelled
    votes.set_xticks(ticks, [f"{series[i].day:%m-%d}" for i in ticks])
    votes.set_xlim(-0.6, len(series) - 0.4)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def period(series: Sequence[DayCounts]) -> str:
    """The title's dates: "2025-03-10 (UTC)" for one day, "2025-02-09 to 2025-03-10 (UTC)" for more."""
    first, last = series[0].day, series[-1].day
    return f"{first} (UTC)" if first == last else f"{first} to {last} (UTC)"
