/** montecarlo.html: the tail-risk table with confidence intervals, histograms and the manifest. */
import { escapeHtml } from "../sim/html";
import type { Mode } from "../sim/report";
import type { Histogram } from "./stats";
import { summaryRows, type MonteCarloReport } from "./montecarlo";

const COLORS: Record<Mode, string> = { cross: "#1d4ed8", isolated: "#ea580c" };

/** An SVG bar chart of a histogram, drawn on the server (the page needs no script). */
function histogramSvg(title: string, h: Histogram, color: string): string {
  const [width, height, pad] = [520, 220, 36];
  const max = Math.max(1, ...h.counts);
  const barWidth = (width - 2 * pad) / h.counts.length;
  const bars = h.counts
    .map((c, i) => {
      const bh = ((height - 2 * pad) * c) / max;
      const x = pad + i * barWidth;
      const label = `${h.edges[i].toFixed(2)} – ${h.edges[i + 1].toFixed(2)}: ${c} paths`;
      return `<rect x="${x.toFixed(1)}" y="${(height - pad - bh).toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}"><title>${escapeHtml(label)}</title></rect>`;
    })
    .join("");
  const axis = `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#888"/>`;
  const ticks = `<text x="${pad}" y="${height - pad + 16}" font-size="11">$${h.edges[0].toFixed(0)}</text><text x="${width - pad}" y="${height - pad + 16}" font-size="11" text-anchor="end">$${h.edges[h.edges.length - 1].toFixed(0)}</text><text x="${pad - 4}" y="${pad}" font-size="11" text-anchor="end">${max}</text>`;
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${axis}${bars}${ticks}</svg></figure>`;
}

export function renderMonteCarloHtml(report: MonteCarloReport): string {
  const { headers, rows } = summaryRows(report);
  const table = `<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
  const charts = (Object.keys(report.modes) as Mode[])
    .map((m) => {
      const risk = report.modes[m]!;
      return `<section><h3>${m}</h3>${histogramSvg(`${m}: bad debt per path (USD)`, risk.histograms.badDebt, COLORS[m])}${histogramSvg(`${m}: liquidated notional per path (USD)`, risk.histograms.liquidatedNotional, COLORS[m])}</section>`;
    })
    .join("");
  const t = report.timing;
  const m = report.manifest;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Monte Carlo: ${escapeHtml(m.scenario.name)} — Crossmargin</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:24px}table{border-collapse:collapse}th,td{border-bottom:1px solid #dde1e7;padding:3px 9px;text-align:left}figure{display:inline-block;margin:8px}pre{background:#f6f7f9;padding:10px;overflow:auto}</style></head>
<body>
<h1>Monte Carlo: ${escapeHtml(m.scenario.name)}</h1>
<p>${report.paths} price paths, seed ${m.seed}, horizon ${report.horizon.steps} steps × ${report.horizon.stepSeconds} s (${report.horizon.hours} h). Every statistic is over that horizon; intervals are ${report.confidence * 100} % percentile-bootstrap (${report.resamples} resamples) or Wilson intervals; "converged" compares the estimate on the first half of the paths with all of them.</p>
<h2>Tail risk</h2>
${table}
<h2>Distributions</h2>
${charts}
<h2>Throughput</h2>
<p>${t.totalSeconds} s with ${t.workers} worker processes: ${t.pathsPerHour} paths/hour, ${t.secondsPerPath} s per path, ${t.transactionsPerSecond} transactions/s; per phase: ${escapeHtml(
    Object.entries(t.phaseSeconds)
      .map(([k, v]) => `${k} ${v} s`)
      .join(", "),
  )}; worker memory after the first path ${t.rssMbAfterFirst.min}–${t.rssMbAfterFirst.max} MB${
    t.rssGrowthMbPerPath === null
      ? ""
      : `, growth ${t.rssGrowthMbPerPath} MB per path (JavaScript heap ${t.heapGrowthMbPerPath} MB per path)`
  }${t.workerPaths > 0 ? `; a fresh worker process every ${t.workerPaths} paths bounds it` : ""}.</p>
<h2>Reproducibility manifest</h2>
<p>Rerun with <code>npx hardhat simulate --manifest montecarlo.json</code>: the result must be byte for byte the same apart from timing.</p>
<pre>${escapeHtml(JSON.stringify(m, null, 2))}</pre>
</body></html>
`;
}
