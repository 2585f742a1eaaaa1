"""Campaign curves as a PNG (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def plot_campaign(series: list[dict], out: Path, title: str = "") -> None:
    """Three panels over campaign time: unique buckets, failing cases, cases per second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t"] / 60 for s in series]
    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    axes[0].step(t, [s["buckets"] for s in series], where="post", color="tab:red")
    axes[0].set_ylabel("unique buckets")
    axes[1].plot(t, [s["failures"] for s in series], color="tab:orange", label="failing cases")
    axes[1].plot(t, [s["cases"] for s in series], color="tab:gray", label="all cases")
    axes[1].set_ylabel("cases")
    axes[1].legend(loc="upper left")
    axes[2].plot(t, [s.get("cases_per_s_now", 0) for s in series], color="tab:blue")
    axes[2].set_ylabel("cases/s (10 s window)")
    axes[2].set_xlabel("campaign time (minutes)")
    if title:
        fig.suptitle(title)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
