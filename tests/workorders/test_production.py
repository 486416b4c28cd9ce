"""The pure bin functions: readings sparser than the bins, the repair verdict."""

from __future__ import annotations

from alerts.workorders.production import hold, judge_repair, lost_wh


def test_hold_fills_short_gaps_only():
    assert hold([1.0, None, None, 2.0, None, None, None, None], 2) == [
        1.0,
        1.0,
        1.0,
        2.0,
        2.0,
        2.0,
        None,
        None,
    ]
    assert hold([None, 3.0], 2) == [None, 3.0]  # nothing before the first reading


def test_verdict_needs_a_run_and_counts_bad_minutes():
    peers = [0.8] * 20
    kw = dict(normal_share=0.6, bin_min=5, verify_min=30, reopen_min=30)
    # 5 normal bins, one low, then 6 normal: the run restarts, verified at the 12th bin
    own = [0.7] * 5 + [0.1] + [0.7] * 6 + [0.7] * 8
    v = judge_repair(own, peers, **kw)
    assert (v.outcome, v.index, v.restored_index) == ("verified", 11, 6)
    # six low or silent bins (30 minutes) before any run of six normal ones: reopened
    own = [0.0, None, 0.7, 0.0, 0.0, 0.7, 0.1, 0.0] + [0.7] * 12
    assert judge_repair(own, peers, **kw).outcome == "reopened"
    # under thick cloud (peers at 2 %) nothing is judged
    assert judge_repair([0.0] * 20, [0.02] * 20, **kw) is None


def test_lost_energy_leaves_unknown_bins_out_unless_claimed():
    exp, own = [1200.0, 1200.0, 1200.0], [0.0, None, 600.0]
    assert lost_wh(exp, own, 1 / 12, claim_missing=True) == round((1200 + 1200 + 600) / 12)
    assert lost_wh(exp, own, 1 / 12, claim_missing=False) == round((1200 + 600) / 12)
