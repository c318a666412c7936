"""Runs every panel query of a Grafana dashboard against Prometheus over a time range and plots
the panels in the dashboard's grid order, as one PNG (tools/dashboard-snapshot).

    python3 dashboard_snapshot.py --prometheus URL --dashboard FILE --start EPOCH --end EPOCH --output PNG
"""
import argparse
import json
import math
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def query_range(prometheus, expr, start, end, step):
    url = prometheus + "/api/v1/query_range?" + urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(url, timeout=30) as response:
        answer = json.load(response)
    if answer.get("status") != "success":
        raise RuntimeError(f"{expr}: {answer}")
    return answer["data"]["result"]


def fill(expr, job):
    # The dashboard's variables, as Grafana would fill them for the local job and every peer.
    return (expr.replace("$__rate_interval", "30s").replace('"$job"', f'"{job}"').replace('"$peer"', '".*"')
            .replace("[5m]", "[1m]"))


def label(series, legend):
    metric = series["metric"]
    if legend and legend != "__auto":
        text = legend
        for key, value in metric.items():
            text = text.replace("{{" + key + "}}", value).replace("{{ " + key + " }}", value)
        return text
    return ",".join(f"{key}={value}" for key, value in sorted(metric.items()) if key not in ("job", "instance")) or "value"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--start", type=float, required=True)
    parser.add_argument("--end", type=float, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--job", default="model-mesh-local")
    arguments = parser.parse_args()

    dashboard = json.load(open(arguments.dashboard))
    panels = [panel for panel in dashboard["panels"] if panel.get("type") != "row"]
    panels.sort(key=lambda panel: (panel["gridPos"]["y"], panel["gridPos"]["x"]))
    columns = 3
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.4 * rows))
    step = max(2, int((arguments.end - arguments.start) / 200))
    for axis, panel in zip(axes.flat, panels):
        axis.set_title(panel["title"], fontsize=10)
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        lines = 0
        table_rows = []
        for target in panel.get("targets", []):
            expr = fill(target["expr"], arguments.job)
            for series in query_range(arguments.prometheus, expr, arguments.start, arguments.end, step):
                values = [(float(t) - arguments.start, float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf", "-Inf")]
                if not values:
                    continue
                name = label(series, target.get("legendFormat", ""))
                if panel["type"] == "table":
                    table_rows.append((name, values[-1][1]))
                elif panel["type"] == "stat":
                    axis.text(0.5, 0.5, f"{values[-1][1]:.1%}" if unit == "percentunit" else f"{values[-1][1]:.3g}",
                              fontsize=30, ha="center", va="center", transform=axis.transAxes)
                    axis.set_axis_off()
                else:
                    if lines < 12:
                        axis.plot([t for t, _ in values], [v for _, v in values], label=name, linewidth=1)
                    lines += 1
        if panel["type"] == "table":
            axis.set_axis_off()
            table_rows.sort(key=lambda row: (-row[1], row[0]))
            shown = table_rows[:14]
            if shown:
                table = axis.table(cellText=[[name, f"{value:g}"] for name, value in shown], colLabels=["series", "value"], loc="center")
                table.auto_set_font_size(False)
                table.set_fontsize(7)
        elif panel["type"] != "stat":
            axis.set_xlabel("seconds", fontsize=8)
            axis.tick_params(labelsize=7)
            if unit:
                axis.set_ylabel(unit, fontsize=8)
            if lines:
                axis.legend(fontsize=6, loc="upper left", ncol=2 if lines > 4 else 1)
            if lines > 12:
                axis.text(0.99, 0.01, f"{lines - 12} more series", fontsize=6, ha="right", transform=axis.transAxes)
    for axis in list(axes.flat)[len(panels):]:
        axis.set_axis_off()
    figure.suptitle(f"{dashboard.get('title', 'dashboard')} — a local mesh under load, every panel's query run against Prometheus", fontsize=12)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(arguments.output, dpi=80)
    print(f"wrote {arguments.output} ({len(panels)} panels)")


if __name__ == "__main__":
    main()
