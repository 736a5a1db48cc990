"""The measured effect of deferring the long-tail features (story 2's "quantified impact of deferrals").

Backs the follow-up "What you cut and why; quantified impact of deferrals".
An online effect (the story's "CTR improved 3.1%" after adding them) needs
users; what can be measured honestly offline, on generated data, is:

1. how well each ranking recovers the items' true appeal: the generator
   draws a latent `quality` per item that scales click and like
   probabilities (starlab/events/generator.py), so Spearman's rho between a
   ranking signal and `quality` says how much signal it carries;
2. how much the served list would change if a deferred feature were added:
   rank correlation and top-20 overlap between the launch score and the
   variant.

Only two deferred features have a signal in the generator's data at all:
`like_share_rate` (likes are drawn with probability 0.03 x quality) and
`dwell_quality` (dwell is uniform, independent of quality: a control that
should show no gain). `unique_user_reach`, `trending_velocity` and
`country_affinity` have no counterpart in the generator; their effect is not
measurable here and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rankings.errors import RankingsError
from rankings.publish.state import Color
from rankings.publish.warehouse import connect
from starlab.events.generator import Generator, GeneratorConfig

ALPHA = 100.0
"""Same prior weight as the launch CTR (dbt var ctr_prior_impressions)."""
TOP_K = 20


@dataclass(frozen=True)
class ListChange:
    """How the served list would move if one deferred feature were added to the score."""

    spearman_vs_launch_score: float
    top_overlap: int
    """Items of the launch top-K still in the variant's top-K (K = TOP_K)."""


@dataclass(frozen=True)
class DeferralEffect:
    ranking_date: str
    items: int
    spearman_with_latent_quality: dict[str, float]
    """Rank correlation of each appeal signal with the generator's hidden item quality."""
    spearman_items_with_alpha_impressions: dict[str, float]
    """The same, on items with at least ALPHA impressions (where data, not the prior, decides)."""
    items_with_alpha_impressions: int
    served_list_change: dict[str, ListChange]
    not_measurable_here: list[str] = field(
        default_factory=lambda: ["unique_user_reach", "trending_velocity", "country_affinity"]
    )
    method: str = (
        "served date of the live build; Spearman rho of each appeal signal with the generator's "
        "latent item quality (recency decay left out: it measures recency, not appeal); the "
        "variant score adds the feature to the launch score; top-20 overlap with the launch list"
    )


def _spearman(a: pd.Series, b: pd.Series) -> float:
    return round(float(a.rank().corr(b.rank())), 4)


def measure_deferral(
    warehouse: Path, color: Color, *, seed: int = 7, items: int = 300, window_days: int = 7
) -> DeferralEffect:
    """Signal of the launch ranking vs with each measurable deferred feature, on the served date."""
    quality = {i.item_id: i.quality for i in Generator(GeneratorConfig(seed=seed, items=items)).items}
    with connect(warehouse) as con:
        day = con.execute(
            f"""
            select item_id, impressions, clicks, likes, shares, smoothed_ctr, decay_factor, score,
                   rank_overall, ranking_date
            from {color.table}
            where ranking_date = (select max(ranking_date) from {color.table})
            """
        ).df()
        if day.empty:
            raise RankingsError(f"{color.table} is empty")
        served = day["ranking_date"].iloc[0]
        dwell = con.execute(
            f"""
            select item_id, avg(dwell_ms) as mean_dwell_ms
            from staging.stg_events
            where event_type = 'impression'
              and event_date between date '{served}' - {window_days - 1} and date '{served}'
            group by item_id
            """
        ).df()
    df = day.merge(dwell, on="item_id", how="left")
    df["quality"] = df["item_id"].map(quality)
    if df["quality"].isna().mean() > 0.01:
        raise RankingsError(
            "the served items are not the generator's (seed, items): no latent quality to compare with"
        )
    # like_share_rate: its own prior, like the launch CTR (dbt_project.yml's reason for deferring it)
    prior = (df["likes"] + df["shares"]).sum() / max(df["impressions"].sum(), 1)
    df["like_share_rate"] = (df["likes"] + df["shares"] + ALPHA * prior) / (df["impressions"] + ALPHA)
    mean_dwell = df["mean_dwell_ms"].mean()
    df["dwell_quality"] = (df["mean_dwell_ms"].fillna(mean_dwell) / mean_dwell).clip(0.5, 2.0)
    variants = {
        "like_share_rate": (df["smoothed_ctr"] + df["like_share_rate"]) * df["decay_factor"],
        "dwell_quality": df["smoothed_ctr"] * df["dwell_quality"] * df["decay_factor"],
    }
    appeal = {
        "launch (smoothed_ctr)": df["smoothed_ctr"],
        "+ like_share_rate": df["smoothed_ctr"] + df["like_share_rate"],
        "+ dwell_quality": df["smoothed_ctr"] * df["dwell_quality"],
    }
    # Items with at least alpha impressions: where the data, not the prior, drives the estimate.
    seen = df["impressions"] >= ALPHA
    launch_top = set(df.nsmallest(TOP_K, "rank_overall")["item_id"])
    changes = {}
    for name, score in variants.items():
        top = set(df.assign(v=score).nlargest(TOP_K, "v")["item_id"])
        changes[name] = ListChange(_spearman(df["score"], score), len(top & launch_top))
    return DeferralEffect(
        ranking_date=pd.Timestamp(served).date().isoformat(),
        items=len(df),
        spearman_with_latent_quality={k: _spearman(v, df["quality"]) for k, v in appeal.items()},
        spearman_items_with_alpha_impressions={
            k: _spearman(v[seen], df.loc[seen, "quality"]) for k, v in appeal.items()
        },
        items_with_alpha_impressions=int(seen.sum()),
        served_list_change=changes,
    )


__all__ = ["DeferralEffect", "ListChange", "measure_deferral"]
