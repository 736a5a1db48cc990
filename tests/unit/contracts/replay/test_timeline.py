"""The replay's calendar: quarter days to dates, and a day's actions in order, added while replaying."""

from __future__ import annotations

from datetime import date

from contracts.replay.timeline import Action, Agenda, Timeline, lead_time_days


def test_day_one_is_the_quarter_start_and_the_gate_quarter_follows() -> None:
    q = Timeline(date(2026, 3, 2), 91)
    assert q.date_of(1) == date(2026, 3, 2)
    assert q.date_of(0) == date(2026, 3, 1)  # history before the quarter
    assert q.day_of(date(2026, 3, 31)) == 30
    assert q.end == date(2026, 5, 31)
    nxt = q.following()
    assert nxt.start == date(2026, 6, 1) and nxt.days == 91 and nxt.end == date(2026, 8, 30)


def test_a_day_runs_opens_before_fixes_before_incident_fixes_before_landings() -> None:
    agenda = Agenda()
    agenda.add(5, Action.LAND, "A")
    agenda.add(5, Action.OPEN, "B")
    agenda.add(5, Action.INCIDENT_FIX, "C")
    agenda.add(5, Action.FIX, "D")
    agenda.add(3, Action.QUIET)
    assert agenda.next_day() == 3
    assert [i.action for i in agenda.pop_day(3)] == [Action.QUIET]
    assert [(i.action, i.change_id) for i in agenda.pop_day(5)] == [
        (Action.OPEN, "B"),
        (Action.FIX, "D"),
        (Action.INCIDENT_FIX, "C"),
        (Action.LAND, "A"),
    ]
    assert len(agenda) == 0 and agenda.next_day() is None


def test_actions_scheduled_while_replaying_are_picked_up_in_day_order() -> None:
    agenda = Agenda()
    agenda.add(10, Action.OPEN, "U1")
    agenda.add(20, Action.QUIET)
    seen: list[tuple[int, Action]] = []
    for day, items in agenda:
        for item in items:
            seen.append((day, item.action))
            if item.action is Action.OPEN:
                agenda.add(12, Action.LAND, "U1")  # after review
                agenda.add(11, Action.FIX, "U1")  # blocked by CI: the fix comes first
    assert seen == [(10, Action.OPEN), (11, Action.FIX), (12, Action.LAND), (20, Action.QUIET)]


def test_same_day_actions_keep_insertion_order() -> None:
    agenda = Agenda()
    agenda.add(4, Action.LAND, "C01")
    agenda.add(4, Action.LAND, "C02")
    assert [i.change_id for i in agenda.pop_day(4)] == ["C01", "C02"]


def test_lead_time_is_landing_minus_opening_day() -> None:
    assert lead_time_days(20, 23) == 3
    assert lead_time_days(62, 62) == 0  # urgent, landed the same day
    assert lead_time_days(5, None) is None  # never landed
