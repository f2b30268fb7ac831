/**
 * Self-contained HTML pages for simulation reports and sweeps: no network access at view time (no
 * CDN, fonts, images or external scripts). Tables are rendered here; charts are drawn in the browser
 * as SVG by a small inline library (CHART_JS) from the data embedded in
 * `<script type="application/json" id="report-data">`. The output is a pure function of the input.
 *
 * Chart conventions (the same on every chart): colour family = mode (cross: blues, drawn thicker;
 * isolated: oranges, drawn thinner on top, so identical series stay visible), shade + dash pattern =
 * sub-series (symbol, market, side or metric). Bars are grouped per step, cross left of isolated.
 * Every drawn series is a `path.series` (lines and bands) or `rect.bar`; a chart without any finite
 * value shows "no data" and gets `data-empty="true"`. `body[data-rendered=true]` once all are drawn.
 */
import { formatFixed } from "../report/format";
import type {
  CascadeReport,
  ComparisonRow,
  KeeperReport,
  OracleReport,
  Mode,
  ModeSummary,
  SimulationReport,
  SweepReport,
  Timing,
  TraderOutcome,
} from "./report";

const MODES: Mode[] = ["cross", "isolated"];
/** Rows of the per-trader table rendered per mode; the rest is summarised in a note. */
export const MAX_TRADER_ROWS = 500;

// ---------------------------------------------------------------------------------------------
// Formatting (deterministic: no locale or time zone involved)

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** JSON that is safe inside a `<script>` element: no `<` (so no `</script>` or `<!--`), no U+2028/9. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const group = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const DASH = "—";

function fixed(value: number, places: number): string {
  const text = Math.abs(value).toFixed(places);
  const [whole, fraction] = text.split(".");
  const sign = value < 0 && Number(text) !== 0 ? "−" : "";
  return sign + group(whole) + (fraction ? "." + fraction : "");
}

export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const text = fixed(value, 2);
  return text.startsWith("−") ? "−$" + text.slice(1) : "$" + text;
}

function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return Number.isInteger(value) ? fixed(value, 0) : formatRatio(value);
}

function formatRatio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return fixed(value, 4)
    .replace(/(\.\d*?)0+$/, "$1")
    .replace(/\.$/, "");
}

function formatShare(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return fixed(value, 6);
}

/** An exact WAD decimal string as USD with all significant digits ("$1,234.5678…"). */
function formatWad(text: string): string {
  if (!/^-?\d+$/.test(text)) return escapeHtml(text);
  const exact = formatFixed(BigInt(text), 18, 18)
    .replace(/(\.\d*?)0+$/, "$1")
    .replace(/\.$/, "");
  return exact.startsWith("-") ? "−$" + exact.slice(1) : "$" + exact;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return DASH;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  const parts = [d ? d + "d" : "", h ? h + "h" : "", m ? m + "m" : "", s ? s + "s" : ""].filter(Boolean);
  return parts.length > 0 ? parts.join(" ") : "0s";
}

type Unit = ComparisonRow["unit"];

function formatUnit(value: number, unit: Unit): string {
  return unit === "usd" ? formatUsd(value) : unit === "count" ? formatCount(value) : formatRatio(value);
}

function formatDifference(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return DASH;
  if (value === 0) return "0";
  const text = formatUnit(value, unit);
  return value > 0 ? "+" + text : text;
}

// ---------------------------------------------------------------------------------------------
// Report page

type SummaryKind = "usd" | "count" | "share" | "reasons" | "wad";

/** Every ModeSummary field (the mapped type makes a new field a compile error until it is listed). */
const SUMMARY_FIELDS: { [K in keyof ModeSummary]: [label: string, kind: SummaryKind] } = {
  traders: ["Traders", "count"],
  accounts: ["Accounts", "count"],
  collateralNeeded: ["Collateral needed (Σ initial margin)", "usd"],
  collateralDeposited: ["Collateral deposited", "usd"],
  exposure: ["Exposure (gross notional opened)", "usd"],
  tradersLiquidated: ["Traders liquidated", "count"],
  accountsLiquidated: ["Accounts liquidated", "count"],
  liquidations: ["Liquidations", "count"],
  notionalLiquidated: ["Notional liquidated", "usd"],
  penaltiesPaid: ["Penalties paid", "usd"],
  keeperRewards: ["Keeper rewards", "usd"],
  badDebt: ["Bad debt", "usd"],
  insuranceDrawdown: ["Insurance drawdown", "usd"],
  insuranceStart: ["Insurance fund at start", "usd"],
  insuranceEnd: ["Insurance fund at end", "usd"],
  poolSharePriceStart: ["Pool share price at start", "share"],
  poolSharePriceEnd: ["Pool share price at end", "share"],
  maxCascadeDepth: ["Max cascade depth", "count"],
  collateralLiquidations: ["Collateral liquidations", "count"],
  badDebtSettlements: ["Bad-debt settlements", "count"],
  traderTxs: ["Trader transactions", "count"],
  traderTxsReverted: ["Trader transactions reverted", "count"],
  revertReasons: ["Revert reasons", "reasons"],
  keeperTxs: ["Keeper transactions", "count"],
  invariantChecks: ["Invariant checks", "count"],
  badDebtWad: ["Bad debt (exact, on chain)", "wad"],
  notionalLiquidatedWad: ["Notional liquidated (exact, on chain)", "wad"],
  penaltiesPaidWad: ["Penalties paid (exact, on chain)", "wad"],
};

function summaryCell(summary: ModeSummary, key: keyof ModeSummary): string {
  const [, kind] = SUMMARY_FIELDS[key];
  const value = summary[key];
  switch (kind) {
    case "usd":
      return formatUsd(value as number);
    case "count":
      return formatCount(value as number);
    case "share":
      return formatShare(value as number);
    case "wad":
      return `<span class="mono" title="${escapeHtml(String(value))} (WAD)">${formatWad(String(value))}</span>`;
    case "reasons": {
      const entries = Object.entries((value ?? {}) as Record<string, number>).sort(
        (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
      );
      if (entries.length === 0) return DASH;
      return entries.map(([name, n]) => `${escapeHtml(name)}: ${formatCount(n)}`).join("<br>");
    }
  }
}

function summaryTable(mode: Mode, summary: ModeSummary): string {
  const rows = (Object.keys(SUMMARY_FIELDS) as (keyof ModeSummary)[]).map((key) => {
    const kind = SUMMARY_FIELDS[key][1];
    const cls = kind === "reasons" ? "" : ' class="num"';
    return `<tr data-field="${key}"><th scope="row">${escapeHtml(SUMMARY_FIELDS[key][0])}</th><td${cls}>${summaryCell(summary, key)}</td></tr>`;
  });
  return `<table class="summary" data-mode="${mode}">
<caption><span class="swatch mode-${mode}"></span>${mode} margin</caption>
<tbody>
${rows.join("\n")}
</tbody>
</table>`;
}

function comparisonTable(rows: ComparisonRow[]): string {
  const body = rows.map((row) => {
    const diff = row.isolated - row.cross;
    const change = row.cross !== 0 && Number.isFinite(diff) ? fixed((diff / Math.abs(row.cross)) * 100, 1) + "%" : DASH;
    const signed = change !== DASH && diff > 0 ? "+" + change : change;
    return `<tr data-metric="${escapeHtml(row.metric)}"><th scope="row">${escapeHtml(row.metric)}</th><td class="num">${formatUnit(row.cross, row.unit)}</td><td class="num">${formatUnit(row.isolated, row.unit)}</td><td class="num diff">${formatDifference(diff, row.unit)}</td><td class="num">${signed}</td></tr>`;
  });
  return `<table class="comparison" id="comparison">
<thead><tr><th>metric</th><th>cross</th><th>isolated</th><th>difference (isolated − cross)</th><th>change</th></tr></thead>
<tbody>
${body.length > 0 ? body.join("\n") : '<tr><td colspan="5">no comparison rows</td></tr>'}
</tbody>
</table>`;
}

const TRADER_COLUMNS: [label: string, type: "num" | "text"][] = [
  ["trader", "num"],
  ["cohort", "text"],
  ["strategy", "text"],
  ["accounts", "text"],
  ["markets", "text"],
  ["deposited", "num"],
  ["initial margin", "num"],
  ["start equity", "num"],
  ["end equity", "num"],
  ["PnL", "num"],
  ["liquidated", "text"],
  ["liquidations", "num"],
  ["liquidated markets", "text"],
  ["worst margin ratio", "num"],
];

function numCell(value: number | null, text: string): string {
  const v = value === null || !Number.isFinite(value) ? "" : String(value);
  return `<td class="num" data-v="${v}">${text}</td>`;
}

/** Account ids; a long list shows its first three and the full list as a tooltip. */
function accountsCell(accounts: number[]): string {
  if (accounts.length === 0) return `<td>${DASH}</td>`;
  const all = accounts.join(", ");
  if (accounts.length <= 4) return `<td class="nw">${escapeHtml(all)}</td>`;
  return `<td class="nw" title="${escapeHtml(all)}">${escapeHtml(accounts.slice(0, 3).join(", "))}, … (+${accounts.length - 3})</td>`;
}

function traderRow(t: TraderOutcome): string {
  const pnl = t.endEquity - t.startEquity;
  const list = (items: string[]): string =>
    items.length === 0 ? DASH : items.map((item) => `<span class="nw">${escapeHtml(item)}</span>`).join(", ");
  return (
    `<tr${t.liquidated ? ' class="liquidated"' : ""}>` +
    numCell(t.trader, String(t.trader)) +
    `<td>${escapeHtml(t.cohort)}</td><td>${escapeHtml(t.strategy)}</td>` +
    accountsCell(t.accounts) +
    `<td>${list(t.markets)}</td>` +
    numCell(t.depositedUsd, formatUsd(t.depositedUsd)) +
    numCell(t.initialMarginUsd, formatUsd(t.initialMarginUsd)) +
    numCell(t.startEquity, formatUsd(t.startEquity)) +
    numCell(t.endEquity, formatUsd(t.endEquity)) +
    numCell(pnl, formatUsd(pnl)) +
    `<td>${t.liquidated ? "yes" : "no"}</td>` +
    numCell(t.liquidations, formatCount(t.liquidations)) +
    `<td>${list(t.liquidatedMarkets)}</td>` +
    numCell(t.worstMarginRatio, formatRatio(t.worstMarginRatio)) +
    "</tr>"
  );
}

function traderTable(mode: Mode, traders: TraderOutcome[]): string {
  const shown = traders.slice(0, MAX_TRADER_ROWS);
  const liquidated = traders.filter((t) => t.liquidated).length;
  const note =
    traders.length > MAX_TRADER_ROWS
      ? `<p class="note">Showing the first ${MAX_TRADER_ROWS} of ${formatCount(traders.length)} traders (report order); sorting applies to the rows shown.</p>`
      : "";
  const head = TRADER_COLUMNS.map(
    ([label, type]) => `<th data-type="${type}" title="click to sort">${escapeHtml(label)}</th>`,
  ).join("");
  return `<h3><span class="swatch mode-${mode}"></span>${mode} margin: ${formatCount(traders.length)} traders, ${formatCount(liquidated)} liquidated</h3>
${note}<div class="scroll"><table class="traders sortable" data-mode="${mode}">
<thead><tr>${head}</tr></thead>
<tbody>
${shown.length > 0 ? shown.map(traderRow).join("\n") : `<tr><td colspan="${TRADER_COLUMNS.length}">no traders</td></tr>`}
</tbody>
</table></div>`;
}

function timingNote(timing: Timing): string {
  const perMode = Object.entries(timing.perMode ?? {}).map(
    ([mode, t]) =>
      `${escapeHtml(mode)}: ${fixed(t.seconds, 1)} s for ${formatCount(t.steps)} steps (${fixed(t.stepsPerSecond, 1)} steps/s), ` +
      `${formatCount(t.transactions)} transactions (${fixed(t.transactionsPerSecond, 1)} tx/s)`,
  );
  return `<footer class="timing"><strong>Timing</strong> (wall clock, the only part of the report that varies between runs):
started ${escapeHtml(String(timing.startedAt))}, total ${fixed(timing.totalSeconds, 1)} s${perMode.length ? "; " + perMode.join("; ") : ""}; peak RSS ${fixed(timing.peakRssMb, 0)} MB.</footer>`;
}

function chartFigure(id: string, label: string): string {
  return `<figure class="chart" data-chart="${escapeHtml(id)}" aria-label="${escapeHtml(label)}"></figure>`;
}

/** Chart ids of the per-market open-interest charts (also used by the page script). */
function marketChartId(market: string): string {
  return "open-interest-" + market.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** A mode's cascade figures and its largest cascade drawn as a graph (server-side SVG, one column per generation). */
function cascadeSection(mode: Mode, c: CascadeReport | undefined): string {
  if (!c) return "";
  const facts = `<p><span class="swatch mode-${mode}"></span>${mode}: ${formatCount(c.nodes.length)} liquidations, depth ${c.depth}, amplification ${fixed(c.amplification, 2)}×${
    c.largest
      ? `; largest cascade ${formatCount(c.largest.nodes.length)} liquidations, ${formatUsd(c.largest.notional)} from liquidation #${c.largest.root}`
      : "; no cascade (no liquidation pushed another account under)"
  }.</p>`;
  if (!c.largest) return facts;
  const nodes = c.largest.nodes.map((id) => c.nodes[id]);
  const columns = new Map<number, typeof nodes>();
  for (const n of nodes) columns.set(n.generation, [...(columns.get(n.generation) ?? []), n]);
  const [colWidth, rowHeight, boxW, boxH] = [190, 46, 160, 34];
  const rows = Math.max(...[...columns.values()].map((c) => c.length));
  const width = columns.size * colWidth + 20;
  const height = rows * rowHeight + 20;
  const at = new Map<number, { x: number; y: number }>();
  [...columns.keys()]
    .sort((a, b) => a - b)
    .forEach((g, col) =>
      columns.get(g)!.forEach((n, row) => at.set(n.id, { x: 10 + col * colWidth, y: 10 + row * rowHeight })),
    );
  const edges = nodes
    .filter((n) => n.parent !== null && at.has(n.parent))
    .map((n) => {
      const [from, to] = [at.get(n.parent!)!, at.get(n.id)!];
      return `<line class="edge" x1="${from.x + boxW}" y1="${from.y + boxH / 2}" x2="${to.x}" y2="${to.y + boxH / 2}" stroke="#5b6472" marker-end="url(#arrow-${mode})"/>`;
    })
    .join("");
  const boxes = nodes
    .map((n) => {
      const p = at.get(n.id)!;
      return `<g class="cascade-node"><rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="4" fill="#fff" stroke="var(--${mode})"/><text x="${p.x + 6}" y="${p.y + 14}" font-size="11">#${n.id} account ${n.account} · ${escapeHtml(n.market)}</text><text x="${p.x + 6}" y="${p.y + 28}" font-size="11">${escapeHtml(formatUsd(n.notional))} · gen ${n.generation} · step ${n.step}</text></g>`;
    })
    .join("");
  return `${facts}<svg class="cascade" role="img" aria-label="largest cascade, ${mode} mode" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><defs><marker id="arrow-${mode}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5b6472"/></marker></defs>${edges}${boxes}</svg>`;
}

/** A mode's keepers (bids, capital, profit) and how long liquidatable accounts waited for them. */
function keeperSection(mode: Mode, k: KeeperReport | undefined, stepSeconds: number): string {
  if (!k) return "";
  const t = k.timeToLiquidation;
  const rows = k.agents
    .map(
      (a) =>
        `<tr><td class="num">${a.keeper}</td><td class="mono">${escapeHtml(a.address)}</td><td class="num">${formatCount(a.latencySteps)}</td><td class="num">${fixed(a.priorityFeeGwei, 2)}</td><td class="num">${formatUsd(a.capitalUsd)}</td><td class="num">${formatCount(a.transactions)}</td><td class="num">${formatCount(a.liquidations)}</td><td class="num">${formatCount(a.collateralLiquidations)}</td><td class="num">${formatCount(a.badDebtSettlements)}</td><td class="num">${formatUsd(a.rewardsUsd)}</td><td class="num">${formatUsd(a.gasCostUsd)}</td><td class="num">${formatUsd(a.profitUsd)}</td><td class="num">${formatUsd(a.capitalEndUsd)}</td></tr>`,
    )
    .join("");
  const table = `<table class="keepers"><thead><tr><th>keeper</th><th>address</th><th>latency (steps)</th><th>bid (gwei)</th><th>capital</th><th>txs</th><th>liquidations</th><th>collateral repaid</th><th>bad debt settled</th><th>rewards</th><th>gas</th><th>profit</th><th>capital left</th></tr></thead><tbody>${rows}</tbody></table>`;
  const stat = (v: number | null) => (v === null ? DASH : `${fixed(v, 2)} steps (${formatSeconds(v * stepSeconds)})`);
  const facts = `<p><span class="swatch mode-${mode}"></span>${mode}: ${formatCount(t.episodes)} accounts went under; ${formatCount(t.served)} served by a keeper, ${formatCount(t.recovered)} recovered first, ${formatCount(t.pending)} still waiting at the end${t.oldestPendingSteps === null ? "" : ` (oldest ${formatCount(t.oldestPendingSteps)} steps)`}. Wait: mean ${stat(t.meanSteps)}, p50 ${stat(t.p50Steps)}, p95 ${stat(t.p95Steps)}, max ${stat(t.maxSteps)}.${k.outageSteps > 0 ? ` No keeper ran for ${formatCount(k.outageSteps)} steps (outages).` : ""}</p>`;
  if (t.delaysSteps.length === 0) return facts + table;
  const max = Math.max(...t.delaysSteps);
  const counts = new Array<number>(max + 1).fill(0);
  for (const d of t.delaysSteps) counts[d]++;
  const top = Math.max(...counts);
  const [barW, h, pad] = [Math.max(6, Math.min(28, Math.floor(560 / counts.length))), 120, 24];
  const width = counts.length * barW + 2 * pad;
  const bars = counts
    .map((c, d) => {
      const bh = top > 0 ? (c / top) * h : 0;
      return `<rect x="${pad + d * barW + 1}" y="${pad + h - bh}" width="${barW - 2}" height="${bh}" fill="var(--${mode})"><title>${d} steps: ${c} accounts</title></rect>`;
    })
    .join("");
  const svg = `<svg class="ttl" role="img" aria-label="time to liquidation, ${mode} mode" viewBox="0 0 ${width} ${h + 2 * pad + 10}" width="${width}" height="${h + 2 * pad + 10}">${bars}<line x1="${pad}" y1="${pad + h}" x2="${width - pad}" y2="${pad + h}" stroke="#5b6472"/><text x="${pad}" y="${pad + h + 16}" font-size="11">0</text><text x="${width - pad}" y="${pad + h + 16}" font-size="11" text-anchor="end">${max} steps</text><text x="${pad}" y="${pad - 8}" font-size="11">accounts per wait (max ${top})</text></svg>`;
  return facts + svg + table;
}

/** What the scenario's oracle outages did in a mode (nothing when no feed was silent). */
function oracleNote(mode: Mode, o: OracleReport | undefined): string {
  if (!o) return "";
  const silent = Object.entries(o.frozenSteps).filter(([, n]) => n > 0);
  if (silent.length === 0) return "";
  return `<p><span class="swatch mode-${mode}"></span>${mode}: feeds silent — ${silent
    .map(([symbol, n]) => `${escapeHtml(symbol)} ${formatCount(n)} steps`)
    .join(
      ", ",
    )}; ${formatCount(o.stepsWithUnpriced)} steps in which the protocol refused to price some account (${formatCount(o.unpricedAccountSteps)} account-steps left out of the health read); ${formatCount(o.mirrorChecksSkipped)} mirror checks skipped.</p>`;
}

export function renderReportHtml(report: SimulationReport): string {
  const s = report.scenario;
  const modes = MODES.filter((m) => report.modes[m] !== undefined);
  const both = modes.length === 2;
  const data = {
    schema: report.schema,
    scenario: {
      name: s.name,
      description: s.description,
      seed: s.seed,
      hash: s.hash,
      steps: s.steps,
      stepSeconds: s.stepSeconds,
      symbols: s.symbols,
      markets: s.markets,
    },
    modes: modes.map((m) => ({ mode: m, series: report.modes[m]!.series })),
  };
  const modeLegend = modes.map((m) => `<span class="key"><span class="swatch mode-${m}"></span>${m}</span>`).join(" ");
  const markets = s.markets ?? [];
  const panel = (title: string, body: string, note = ""): string =>
    `<section class="panel"><h3>${title}</h3>${note ? `<p class="note">${note}</p>` : ""}${body}</section>`;
  const charts = [
    panel(
      "1. Price paths",
      chartFigure("prices", "price paths"),
      "Each symbol normalised to 100 at step 0 so all share one axis; the tooltip shows the USD price.",
    ),
    panel("2. Total trader equity", chartFigure("equity", "total trader equity")),
    panel(
      "3. Open interest per market",
      `<div class="grid2">${markets.map((m) => chartFigure(marketChartId(m), "open interest " + m)).join("")}</div>`,
      "Long (solid) and short (dashed) open interest, USD notional at the oracle price.",
    ),
    panel(
      "4. Margin ratio (equity ÷ maintenance margin)",
      chartFigure("margin-ratio", "margin ratio bands"),
      "Over accounts with open positions: shaded p5–p95 (light) and p25–p75 (dark), line p50. " +
        "The axis is clamped to [0, 10] (the tooltip shows the actual values); 1 is the liquidation threshold; " +
        "gaps are steps without open positions.",
    ),
    panel(
      "5. Liquidations",
      chartFigure("liquidations", "liquidations"),
      "Bars: liquidations per step (left axis). Line: cumulative liquidated notional (right axis).",
    ),
    panel(
      "6. Insurance fund and pool share price",
      `<div class="grid2">${chartFigure("insurance-fund", "insurance fund")}${chartFigure("pool-share-price", "pool share price")}</div>`,
    ),
    panel(
      "7. Bad debt and cascade depth",
      chartFigure("bad-debt", "bad debt and cascade depth"),
      "Bars: deepest liquidation generation in the step (left axis; 1 = the price path alone, &gt; 1 = a cascade). " +
        "Line: bad debt settled so far (right axis).",
    ),
    panel("8. Funding rate", chartFigure("funding-rate", "funding rate"), "Per market, % per day."),
  ];
  const durationText = `${formatCount(s.steps)} steps × ${formatCount(s.stepSeconds)} s (${formatSeconds(s.steps * s.stepSeconds)})`;
  const resolved = JSON.stringify(s.resolved ?? null, null, 2) ?? "null";
  const body = `<header>
<h1>${escapeHtml(s.name)}</h1>
<p class="description">${escapeHtml(s.description ?? "")}</p>
<dl class="meta">
<dt>seed</dt><dd>${escapeHtml(String(s.seed))}</dd>
<dt>steps</dt><dd>${durationText}</dd>
<dt>scenario hash</dt><dd class="mono">${escapeHtml(s.hash)}</dd>
<dt>symbols</dt><dd>${escapeHtml((s.symbols ?? []).join(", ")) || DASH}</dd>
<dt>markets</dt><dd>${escapeHtml(markets.join(", ")) || DASH}</dd>
<dt>price impact</dt><dd>${s.impact ? "on" : "off"}</dd>
<dt>modes</dt><dd>${modeLegend || DASH}</dd>
<dt>schema</dt><dd class="mono">${escapeHtml(String(report.schema))}</dd>
</dl>
<details><summary>Resolved scenario</summary><pre>${escapeHtml(resolved)}</pre></details>
</header>
<section id="summaries"><h2>Summary</h2>
<div class="grid2">${modes.map((m) => summaryTable(m, report.modes[m]!.summary)).join("\n")}</div>
${modes.length === 0 ? '<p class="note">This report contains no mode.</p>' : ""}
</section>
${both ? `<section id="cross-vs-isolated"><h2>Cross vs isolated</h2>\n${comparisonTable(report.comparison ?? [])}\n</section>` : ""}
<section id="charts"><h2>Charts</h2>
<p class="note">Colour = mode (${modeLegend || DASH}); shade and dash = series within a mode. Hover a chart for values. x axis: step.</p>
${charts.join("\n")}
</section>
<section id="cascades"><h2>Cascades</h2>
<p class="note">Which liquidation's price impact pushed which account under. Generation 1: made liquidatable by the price path; an arrow points from the liquidation whose sale moved the oracle to the one it caused. Amplification = notional liquidated ÷ what generation 1 alone liquidated.</p>
${modes.map((m) => cascadeSection(m, report.modes[m]!.cascades)).join("\n")}
</section>
<section id="keepers"><h2>Keepers and oracles</h2>
<p class="note">Every keeper is the production Keeper class. Within a keeper round the higher bid lands first; gas = gasUsed × (base fee + bid) at the step's ETH price; profit = change of its wallet at the final prices − gas. The histogram counts, per account that went under, the steps until a keeper first served it.</p>
${modes.map((m) => keeperSection(m, report.modes[m]!.keepers, s.stepSeconds)).join("\n")}
${modes.map((m) => oracleNote(m, report.modes[m]!.oracles)).join("\n")}
</section>
<section id="traders"><h2>Traders</h2>
<p class="note">Liquidated traders are highlighted. Click a column header to sort.</p>
${modes.map((m) => traderTable(m, report.modes[m]!.traders)).join("\n")}
</section>
${report.timing ? timingNote(report.timing) : ""}`;
  return page(`${s.name} — Crossmargin simulation`, body, data, REPORT_JS);
}

// ---------------------------------------------------------------------------------------------
// Sweep page

const SWEEP_METRICS: [key: keyof ModeSummary, label: string, unit: Unit][] = [
  ["accountsLiquidated", "accounts liquidated", "count"],
  ["notionalLiquidated", "notional liquidated", "usd"],
  ["badDebt", "bad debt", "usd"],
  ["insuranceDrawdown", "insurance drawdown", "usd"],
  ["collateralNeeded", "collateral needed", "usd"],
  ["maxCascadeDepth", "max cascade depth", "count"],
];

export function renderSweepHtml(sweep: SweepReport): string {
  const modes = MODES.filter((m) => sweep.points.some((p) => p.summaries[m] !== undefined));
  const keys =
    sweep.keys.length > 0 ? sweep.keys : [...new Set(sweep.points.flatMap((p) => Object.keys(p.parameters)))];
  const data = {
    schema: sweep.schema,
    keys,
    modes,
    points: sweep.points.map((p) => ({
      parameters: p.parameters,
      summaries: Object.fromEntries(
        modes.map((m) => {
          const summary = p.summaries[m];
          return [m, summary ? { badDebt: summary.badDebt, notionalLiquidated: summary.notionalLiquidated } : null];
        }),
      ),
    })),
  };
  const head =
    `<tr><th data-type="num">#</th>` +
    keys.map((k) => `<th data-type="text">${escapeHtml(k)}</th>`).join("") +
    `<th data-type="text">mode</th>` +
    SWEEP_METRICS.map(([, label]) => `<th data-type="num">${escapeHtml(label)}</th>`).join("") +
    `<th>report</th></tr>`;
  // One row per grid point and mode (the modes of a point are adjacent until the table is sorted).
  const rows = sweep.points.flatMap((p, i) => {
    const params = keys
      .map((k) => {
        const v = p.parameters[k];
        return typeof v === "number"
          ? numCell(v, formatRatio(v))
          : `<td>${v === undefined ? DASH : escapeHtml(v)}</td>`;
      })
      .join("");
    const link = p.reportPath ? `<a href="${escapeHtml(p.reportPath)}">${escapeHtml(p.reportPath)}</a>` : DASH;
    const present = modes.filter((m) => p.summaries[m] !== undefined);
    return (present.length > 0 ? present : [null]).map((m, k) => {
      const summary = m === null ? undefined : p.summaries[m];
      const metrics = SWEEP_METRICS.map(([key, , unit]) => {
        const v = summary ? (summary[key] as number) : null;
        return numCell(v, v === null ? DASH : formatUnit(v, unit));
      }).join("");
      const mode = m === null ? DASH : `<span class="swatch mode-${m}"></span>${m}`;
      return `<tr data-point="${i}"${k === 0 ? ' class="point-start"' : ""}>${numCell(i, String(i))}${params}<td>${mode}</td>${metrics}<td>${link}</td></tr>`;
    });
  });
  const first = keys[0] ?? "point";
  const modeLegend = modes.map((m) => `<span class="key"><span class="swatch mode-${m}"></span>${m}</span>`).join(" ");
  const t = sweep.timing;
  const body = `<header>
<h1>Sweep: ${escapeHtml(sweep.scenario)}</h1>
<dl class="meta">
<dt>seed</dt><dd>${escapeHtml(String(sweep.seed))}</dd>
<dt>swept parameters</dt><dd>${escapeHtml(keys.join(", ")) || DASH}</dd>
<dt>grid points</dt><dd>${formatCount(sweep.points.length)}</dd>
<dt>modes</dt><dd>${modeLegend || DASH}</dd>
<dt>schema</dt><dd class="mono">${escapeHtml(String(sweep.schema))}</dd>
</dl>
</header>
<section id="points"><h2>Grid points</h2>
<p class="note">Click a column header to sort. Each point links to its full report (relative path).</p>
<div class="scroll"><table class="sweep sortable">
<thead>${head}</thead>
<tbody>
${rows.length > 0 ? rows.join("\n") : '<tr><td colspan="99">no points</td></tr>'}
</tbody>
</table></div>
</section>
<section id="charts"><h2>Charts</h2>
<p class="note">x axis: ${escapeHtml(first)} (grid values, evenly spaced). One line per mode${keys.length > 1 ? " and combination of the other swept parameters" : ""}.</p>
<section class="panel"><h3>Bad debt and notional liquidated against ${escapeHtml(first)}</h3>
<div class="grid2">${chartFigure("sweep-bad-debt", "bad debt")}${chartFigure("sweep-notional-liquidated", "notional liquidated")}</div>
</section>
</section>
${t ? `<footer class="timing"><strong>Timing</strong> (wall clock): total ${fixed(t.totalSeconds, 1)} s with ${formatCount(t.workers)} worker${t.workers === 1 ? "" : "s"}.</footer>` : ""}`;
  return page(`Sweep: ${sweep.scenario} — Crossmargin`, body, data, SWEEP_JS);
}

// ---------------------------------------------------------------------------------------------
// Page shell, CSS and client-side scripts

function page(title: string, body: string, data: unknown, script: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
${body}
<script type="application/json" id="report-data">${embedJson(data)}</script>
<script>${CHART_JS}</script>
<script>${script}</script>
</body>
</html>
`;
}

const CSS = `
:root { --cross: #1d4ed8; --isolated: #ea580c; --muted: #5b6472; --rule: #dde1e7; --bg-alt: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1240px; padding: 24px 28px 40px; color: #1c2330; background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 32px 0 10px; border-bottom: 2px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.description { color: var(--muted); margin: 0 0 12px; max-width: 90ch; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 10px; }
.meta dt { color: var(--muted); } .meta dd { margin: 0; }
.mono, pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
.meta dd.mono { word-break: break-all; }
details pre { background: var(--bg-alt); padding: 10px; max-height: 320px; overflow: auto; border: 1px solid var(--rule); }
.note { color: var(--muted); font-size: 12.5px; margin: 4px 0 8px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 14px 22px; align-items: start; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 9px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { background: var(--bg-alt); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.summary { width: 100%; } table.summary th { font-weight: normal; color: #333b48; }
table.summary caption, table.comparison caption { text-align: left; font-weight: 600; font-size: 15px; padding: 4px 0; }
table.comparison td.diff { font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.liquidated, tbody tr.liquidated:nth-child(even) { background: #fde8e8; }
tr.liquidated td:nth-child(11) { color: #b91c1c; font-weight: 600; }
.scroll { overflow-x: auto; max-width: 100%; }
table.sortable thead th[data-type] { cursor: pointer; user-select: none; }
table.sortable th.sorted-asc::after { content: " ▲"; font-size: 10px; } table.sortable th.sorted-desc::after { content: " ▼"; font-size: 10px; }
table.sweep tr.point-start td { border-top: 2px solid #c5cbd3; }
table.traders, table.sweep { font-size: 12.5px; } table.traders th, table.traders td, table.sweep th, table.sweep td { padding: 3px 7px; }
table.traders thead th, table.sweep thead th { white-space: normal; vertical-align: bottom; }
table.sweep td { white-space: nowrap; } .nw { white-space: nowrap; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.swatch.mode-cross { background: var(--cross); } .swatch.mode-isolated { background: var(--isolated); }
.key { margin-right: 10px; white-space: nowrap; }
.panel { margin: 0 0 22px; break-inside: avoid; }
figure.chart { position: relative; margin: 0; min-width: 0; }
figure.chart > svg { display: block; width: 100%; height: auto; overflow: visible; }
figure.chart svg text { font-size: 11.5px; fill: #3b4452; }
figure.chart .axis-title { font-size: 11.5px; fill: var(--muted); }
figure.chart .grid { stroke: #e9ecf0; } figure.chart .axis { stroke: #9aa3ad; }
figure.chart .ref { stroke: #b91c1c; stroke-dasharray: 4 3; } figure.chart .ref.neutral { stroke: #aab1ba; } figure.chart .ref-label { fill: #b91c1c; }
figure.chart .cursor { stroke: #4b5563; stroke-width: 1; pointer-events: none; }
figure.chart .empty-label { font-size: 14px; fill: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; margin: 2px 0 4px 4px; }
.legend .item { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; }
.legend svg { width: 26px; height: 12px; }
.tooltip { position: absolute; top: 8px; left: 0; display: none; pointer-events: none; z-index: 5; background: rgba(255,255,255,0.96);
  border: 1px solid #c5cbd3; border-radius: 4px; box-shadow: 0 2px 8px rgba(0,0,0,0.12); padding: 6px 8px; font-size: 12px; min-width: 160px; }
.tooltip .title { font-weight: 600; margin-bottom: 3px; }
.tooltip .row { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.tooltip .row .name { flex: 1; } .tooltip .row .value { font-variant-numeric: tabular-nums; margin-left: 10px; }
.tooltip .dot { width: 9px; height: 9px; border-radius: 50%; display: inline-block; }
footer.timing { margin-top: 34px; padding-top: 10px; border-top: 1px solid var(--rule); color: var(--muted); font-size: 12px; }
@media print { .tooltip { display: none !important; } }
`;

/**
 * The chart library: `CM.chart(figure, spec)` draws one SVG chart and keeps it redrawn on resize.
 * spec: { n, xTick(i), xTitle(i), y: axis, y2?: axis, refs?: [{ value, label }], series: [...] }
 * axis: { fmt: "usd" | "num" | "pct" | "count" | "share", title, zero?, clamp?: [lo, hi] }
 * series: { name, type: "line" | "band" | "bar", axis?: "y" | "y2", color, dash?, width?, opacity?,
 *   values (line, bar), lo/hi (band), tip?: raw values for the tooltip, tipLo/tipHi (band), tipFmt? }
 * Non-finite entries (null) are gaps. Written as plain ES2017 without template literals.
 */
const CHART_JS = `
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var H = 290;
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVGNS, name);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(node);
    return node;
  }
  function div(cls, parent, text) {
    var node = document.createElement(cls === "span" ? "span" : "div");
    if (cls !== "span") node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function finite(v) { return typeof v === "number" && isFinite(v); }
  function group(s) { return s.replace(/\\B(?=(\\d{3})+(?!\\d))/g, ","); }
  function fixed(v, places) {
    var t = Math.abs(v).toFixed(places), parts = t.split(".");
    var sign = v < 0 && Number(t) !== 0 ? "\\u2212" : "";
    return sign + group(parts[0]) + (parts[1] ? "." + parts[1] : "");
  }
  /** Decimal places that show every multiple of step exactly (0.25 → 2, 2.5 → 1, 50 → 0). */
  function placesFor(step) {
    var p = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    while (p < 8 && Math.abs(Math.round(step * Math.pow(10, p)) - step * Math.pow(10, p)) > 1e-6) p++;
    return Math.min(8, p);
  }
  /** A tick label; the unit (k, M, B) follows the axis' largest magnitude so one axis uses one unit. */
  function compact(v, d) {
    var step = d.step, a = Math.max(Math.abs(d.min), Math.abs(d.max), step), u = 1, s = "";
    if (v === 0) return "0";
    if (a >= 1e9) { u = 1e9; s = "B"; } else if (a >= 1e6) { u = 1e6; s = "M"; } else if (a >= 1e4) { u = 1e3; s = "k"; }
    return fixed(v / u, placesFor(step / u)) + s;
  }
  function usd(t) { return t.charAt(0) === "\\u2212" ? "\\u2212$" + t.slice(1) : "$" + t; }
  var TICK = {
    usd: function (v, d) { return usd(compact(v, d)); },
    num: function (v, d) { return compact(v, d); },
    count: function (v, d) { return compact(v, d); },
    share: function (v, d) { return fixed(v, placesFor(d.step)); },
    pct: function (v, d) { return v === 0 ? "0%" : fixed(v * 100, placesFor(d.step * 100)) + "%"; }
  };
  var FULL = {
    usd: function (v) { return usd(fixed(v, 2)); },
    num: function (v) { return fixed(v, Math.abs(v) >= 100 ? 2 : 4); },
    count: function (v) { return fixed(v, v === Math.round(v) ? 0 : 2); },
    share: function (v) { return fixed(v, 6); },
    pct: function (v) { return fixed(v * 100, 4) + "%"; }
  };
  function fmtFull(fmt, v) { return finite(v) ? (FULL[fmt] || FULL.num)(v) : "\\u2014"; }
  function niceStep(span, count, integer) {
    var raw = span / Math.max(1, count);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var n = raw / mag;
    var step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
    return integer ? Math.max(1, Math.round(step)) : step;
  }
  /** A NaN-free domain with nice ticks from the finite values (or [0, 1] without any). */
  function domain(values, axis) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < values.length; i++) if (finite(values[i])) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); }
    if (lo > hi) { lo = 0; hi = 1; }
    if (axis.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (hi - lo <= Math.abs(hi) * 1e-12) { var pad = Math.abs(hi) * 0.05 || (axis.fmt === "pct" ? 0.001 : 1); lo -= pad; hi += pad; if (axis.zero && lo < 0 && hi - pad >= 0) lo = 0; }
    var integer = axis.fmt === "count";
    var step = niceStep(hi - lo, 5, integer);
    var min = Math.floor(lo / step + 1e-9) * step, max = Math.ceil(hi / step - 1e-9) * step;
    if (max <= min) max = min + step;
    var ticks = [];
    for (var k = 0; min + k * step <= max + step * 1e-9; k++) ticks.push(Math.round((min + k * step) / step) * step);
    return { min: min, max: max, step: step, ticks: ticks };
  }
  function clampTo(v, axis) { return finite(v) && axis.clamp ? Math.max(axis.clamp[0], Math.min(axis.clamp[1], v)) : v; }
  function linePath(values, x, y) {
    var d = "", open = false;
    for (var i = 0; i < values.length; i++) {
      if (!finite(values[i])) { open = false; continue; }
      var px = x(i).toFixed(2), py = y(values[i]).toFixed(2);
      var next = i + 1 < values.length && finite(values[i + 1]);
      if (!open) { d += "M" + px + " " + py + (next ? "" : "h0.01"); open = true; } else d += "L" + px + " " + py;
    }
    return d;
  }
  function bandPath(lo, hi, x, y) {
    var d = "", i = 0, k;
    function pt(px, v) { return px.toFixed(2) + " " + y(v).toFixed(2); }
    while (i < lo.length) {
      if (!finite(lo[i]) || !finite(hi[i])) { i++; continue; }
      var j = i;
      while (j + 1 < lo.length && finite(lo[j + 1]) && finite(hi[j + 1])) j++;
      if (i === j) d += "M" + pt(x(i) - 1.5, hi[i]) + "L" + pt(x(i) + 1.5, hi[i]) + "L" + pt(x(i) + 1.5, lo[i]) + "L" + pt(x(i) - 1.5, lo[i]) + "Z";
      else {
        d += "M" + pt(x(i), hi[i]);
        for (k = i + 1; k <= j; k++) d += "L" + pt(x(k), hi[k]);
        for (k = j; k >= i; k--) d += "L" + pt(x(k), lo[k]);
        d += "Z";
      }
      i = j + 1;
    }
    return d;
  }
  function swatch(parent, s) {
    var svg = el("svg", { viewBox: "0 0 26 12", "aria-hidden": "true" }, parent);
    if (s.type === "line") el("line", { x1: 1, y1: 6, x2: 25, y2: 6, stroke: s.color, "stroke-width": Math.max(2, s.width || 2), "stroke-dasharray": s.dash || null }, svg);
    else el("rect", { x: 3, y: 1, width: 20, height: 10, fill: s.color, "fill-opacity": s.type === "band" ? (s.opacity || 0.3) + 0.1 : 0.85 }, svg);
  }
  var registry = [];
  function chart(fig, spec) {
    registry.push({ fig: fig, spec: spec });
    draw(fig, spec);
  }
  function draw(fig, spec) {
    while (fig.firstChild) fig.removeChild(fig.firstChild);
    var series = spec.series || [];
    var W = Math.max(340, Math.floor(fig.clientWidth || 800));
    var m = { l: 70, r: spec.y2 ? 70 : 20, t: 14, b: 42 };
    var pw = W - m.l - m.r, ph = H - m.t - m.b, n = Math.max(1, spec.n || 0), bw = pw / n;
    var legend = div("legend", fig);
    series.forEach(function (s) { var item = div("item", legend); swatch(item, s); div("span", item, s.name); });
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": fig.getAttribute("aria-label") || "" }, fig);
    var x = function (i) { return m.l + (i + 0.5) * bw; };
    var axes = { y: spec.y, y2: spec.y2 }, scales = {}, any = false;
    ["y", "y2"].forEach(function (name) {
      var axis = axes[name];
      if (!axis) return;
      var vals = [];
      series.forEach(function (s) {
        if ((s.axis || "y") !== name) return;
        [s.values, s.lo, s.hi].forEach(function (arr) { (arr || []).forEach(function (v) { if (finite(v)) { vals.push(clampTo(v, axis)); any = true; } }); });
      });
      (spec.refs || []).forEach(function (r) { if ((r.axis || "y") === name && vals.length) vals.push(r.value); });
      var d = domain(vals, axis);
      d.y = function (v) { return m.t + ph - ((clampTo(v, axis) - d.min) / (d.max - d.min)) * ph; };
      scales[name] = d;
    });
    var y = scales.y;
    y.ticks.forEach(function (t) {
      var py = y.y(t);
      el("line", { class: "grid", x1: m.l, x2: m.l + pw, y1: py, y2: py }, svg);
      el("text", { x: m.l - 6, y: py + 4, "text-anchor": "end" }, svg).textContent = TICK[spec.y.fmt](t, y);
    });
    if (scales.y2) scales.y2.ticks.forEach(function (t) {
      el("text", { x: m.l + pw + 6, y: scales.y2.y(t) + 4, "text-anchor": "start" }, svg).textContent = TICK[spec.y2.fmt](t, scales.y2);
    });
    el("line", { class: "axis", x1: m.l, x2: m.l + pw, y1: m.t + ph, y2: m.t + ph }, svg);
    el("line", { class: "axis", x1: m.l, x2: m.l, y1: m.t, y2: m.t + ph }, svg);
    if (spec.y2) el("line", { class: "axis", x1: m.l + pw, x2: m.l + pw, y1: m.t, y2: m.t + ph }, svg);
    var xstep = niceStep(Math.max(1, n - 1), Math.max(2, Math.floor(pw / 70)), true);
    for (var i = 0; i < n; i += xstep) {
      el("line", { class: "axis", x1: x(i), x2: x(i), y1: m.t + ph, y2: m.t + ph + 4 }, svg);
      el("text", { x: x(i), y: m.t + ph + 17, "text-anchor": "middle" }, svg).textContent = spec.xTick ? spec.xTick(i) : String(i);
    }
    el("text", { class: "axis-title", x: m.l + pw / 2, y: H - 4, "text-anchor": "middle" }, svg).textContent = spec.xLabel || "step";
    el("text", { class: "axis-title", transform: "translate(13 " + (m.t + ph / 2) + ") rotate(-90)", "text-anchor": "middle" }, svg).textContent = spec.y.title || "";
    if (spec.y2) el("text", { class: "axis-title", transform: "translate(" + (W - 8) + " " + (m.t + ph / 2) + ") rotate(90)", "text-anchor": "middle" }, svg).textContent = spec.y2.title || "";
    var clipId = "clip-" + (fig.dataset.chart || "chart");
    el("rect", { x: m.l, y: m.t - 2, width: pw, height: ph + 4 }, el("clipPath", { id: clipId }, el("defs", {}, svg)));
    var plot = el("g", { "clip-path": "url(#" + clipId + ")" }, svg);
    (spec.refs || []).forEach(function (r) {
      var sc = scales[r.axis || "y"];
      if (!any || r.value < sc.min || r.value > sc.max) return;
      el("line", { class: r.label ? "ref" : "ref neutral", x1: m.l, x2: m.l + pw, y1: sc.y(r.value), y2: sc.y(r.value) }, plot);
      el("text", { class: "ref-label", x: m.l + pw - 4, y: sc.y(r.value) - 4, "text-anchor": "end" }, plot).textContent = r.label;
    });
    if (!any) {
      fig.dataset.empty = "true";
      el("text", { class: "empty-label", x: m.l + pw / 2, y: m.t + ph / 2, "text-anchor": "middle" }, svg).textContent = "no data";
    }
    var bars = series.filter(function (s) { return s.type === "bar"; });
    var gw = bw * 0.8, each = gw / Math.max(1, bars.length);
    series.forEach(function (s) {
      var sc = scales[s.axis || "y"];
      if (s.type === "band") {
        var d = bandPath(s.lo || [], s.hi || [], x, sc.y);
        if (d) el("path", { class: "series band", d: d, fill: s.color, "fill-opacity": s.opacity || 0.25,
          stroke: s.color, "stroke-opacity": 0.55, "stroke-width": 0.8 }, plot);
      }
    });
    bars.forEach(function (s, k) {
      var sc = scales[s.axis || "y"], base = sc.y(Math.max(sc.min, Math.min(sc.max, 0)));
      (s.values || []).forEach(function (v, i) {
        if (!finite(v) || v === 0) return;
        var py = sc.y(v), left = x(i) - gw / 2 + k * each;
        el("rect", { class: "bar", x: left.toFixed(2), y: Math.min(py, base).toFixed(2), width: Math.max(0.8, each - 0.6).toFixed(2),
          height: Math.max(0.8, Math.abs(base - py)).toFixed(2), fill: s.color, "fill-opacity": 0.85 }, plot);
      });
    });
    series.forEach(function (s) {
      if (s.type !== "line") return;
      var d = linePath(s.values || [], x, scales[s.axis || "y"].y);
      if (d) el("path", { class: "series", d: d, fill: "none", stroke: s.color, "stroke-width": s.width || 2,
        "stroke-dasharray": s.dash || null, "stroke-linejoin": "round", "stroke-linecap": "round" }, plot);
    });
    var cursor = el("line", { class: "cursor", y1: m.t, y2: m.t + ph, visibility: "hidden" }, svg);
    var dots = el("g", { "pointer-events": "none" }, svg);
    var tip = div("tooltip", fig);
    var overlay = el("rect", { class: "overlay", x: m.l, y: m.t, width: pw, height: ph, fill: "transparent", "pointer-events": "all" }, svg);
    function hide() { cursor.setAttribute("visibility", "hidden"); tip.style.display = "none"; while (dots.firstChild) dots.removeChild(dots.firstChild); }
    function show(evt) {
      var ctm = svg.getScreenCTM();
      if (!ctm) return;
      var pt = svg.createSVGPoint(); pt.x = evt.clientX; pt.y = evt.clientY;
      var p = pt.matrixTransform(ctm.inverse());
      var i = Math.max(0, Math.min(n - 1, Math.floor((p.x - m.l) / bw)));
      cursor.setAttribute("x1", x(i)); cursor.setAttribute("x2", x(i)); cursor.setAttribute("visibility", "visible");
      while (dots.firstChild) dots.removeChild(dots.firstChild);
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      div("title", tip, spec.xTitle ? spec.xTitle(i) : "step " + i);
      series.forEach(function (s) {
        var axis = axes[s.axis || "y"], fmt = s.tipFmt || axis.fmt, text;
        if (s.type === "band") {
          var a = (s.tipLo || s.lo || [])[i], b = (s.tipHi || s.hi || [])[i];
          text = finite(a) && finite(b) ? fmtFull(fmt, a) + " \\u2013 " + fmtFull(fmt, b) : "\\u2014";
        } else {
          var v = (s.values || [])[i];
          text = fmtFull(fmt, (s.tip || s.values || [])[i]);
          if (s.type === "line" && finite(v)) el("circle", { cx: x(i), cy: scales[s.axis || "y"].y(v), r: 3.5, fill: s.color, stroke: "#fff", "stroke-width": 1 }, dots);
        }
        var row = div("row", tip), dot = div("dot", row);
        dot.style.background = s.color;
        if (s.type === "band") dot.style.opacity = String(Math.min(1, (s.opacity || 0.25) * 2.5));
        div("name", row, s.name); div("value", row, text);
      });
      tip.style.display = "block";
      var box = fig.getBoundingClientRect(), left = evt.clientX - box.left + 14;
      if (left + tip.offsetWidth > box.width) left = Math.max(0, evt.clientX - box.left - tip.offsetWidth - 14);
      tip.style.left = left + "px";
      tip.style.top = Math.max(0, legend.offsetHeight + m.t) + "px";
    }
    overlay.addEventListener("mousemove", show);
    overlay.addEventListener("mouseenter", show);
    overlay.addEventListener("mouseleave", hide);
  }
  var resizeTimer = null, lastWidth = window.innerWidth;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { registry.forEach(function (c) { draw(c.fig, c.spec); }); }, 150);
  });
  function sortable(table) {
    var heads = table.tHead ? table.tHead.querySelectorAll("th[data-type]") : [];
    Array.prototype.forEach.call(heads, function (th) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        if (!body) return;
        var col = Array.prototype.indexOf.call(th.parentNode.cells, th), asc = !th.classList.contains("sorted-asc"), num = th.dataset.type === "num";
        Array.prototype.forEach.call(table.tHead.querySelectorAll("th"), function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var ca = a.cells[col], cb = b.cells[col];
          if (!ca || !cb) return 0;
          if (num) {
            var va = parseFloat(ca.dataset.v), vb = parseFloat(cb.dataset.v);
            if (isNaN(va) || isNaN(vb)) return isNaN(va) ? (isNaN(vb) ? 0 : 1) : -1;
            return asc ? va - vb : vb - va;
          }
          var r = ca.textContent.localeCompare(cb.textContent);
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  var CROSS = ["#1d4ed8", "#0891b2", "#6d28d9", "#0f766e", "#1e3a8a"];
  var ISOLATED = ["#ea580c", "#dc2626", "#ca8a04", "#be185d", "#9a3412"];
  var DASHES = [null, "7 4", "2 3", "10 3 2 3", "4 2"];
  /** The style of sub-series j of a mode (see the file comment of src/sim/html.ts). */
  function style(mode, j) {
    var palette = mode === "isolated" ? ISOLATED : CROSS;
    return { color: palette[j % palette.length], dash: DASHES[j % DASHES.length], width: mode === "isolated" ? 1.6 : 2.6 };
  }
  window.CM = { chart: chart, style: style, sortable: sortable, finite: finite, fixed: fixed };
})();
`;

/** Builds the report page's charts from #report-data. */
const REPORT_JS = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var modes = data.modes || [], sc = data.scenario || {};
  var finite = CM.finite;
  var steps = 0;
  modes.forEach(function (m) { steps = Math.max(steps, (m.series.time || []).length, (m.series.equity || []).length); });
  var time = modes.length ? modes[0].series.time || [] : [];
  function duration(sec) {
    if (!finite(sec)) return "";
    var d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600), mi = Math.floor((sec % 3600) / 60), parts = [];
    if (d) parts.push(d + "d"); if (h) parts.push(h + "h"); if (mi) parts.push(mi + "m");
    return "t+" + (parts.length ? parts.join(" ") : Math.round(sec) + "s");
  }
  function base(extra) {
    var spec = { n: steps, xTitle: function (i) { return "step " + i + (finite(time[i]) ? " \\u00b7 " + duration(time[i]) : ""); } };
    for (var k in extra) spec[k] = extra[k];
    return spec;
  }
  function line(name, m, j, values, more) {
    var s = CM.style(m.mode, j), out = { name: name + " \\u00b7 " + m.mode, type: "line", color: s.color, dash: s.dash, width: s.width, values: values || [] };
    for (var k in more || {}) out[k] = more[k];
    return out;
  }
  function bar(name, m, values, more) {
    var s = CM.style(m.mode, 0), out = { name: name + " \\u00b7 " + m.mode, type: "bar", color: s.color, values: values || [] };
    for (var k in more || {}) out[k] = more[k];
    return out;
  }
  function cumulative(values) {
    var sum = 0;
    return (values || []).map(function (v) { if (!finite(v)) return null; sum += v; return sum; });
  }
  function fig(id) { return document.querySelector('figure.chart[data-chart="' + id + '"]'); }
  function safeId(market) { return "open-interest-" + market.replace(/[^A-Za-z0-9_-]/g, "_"); }
  var charts = [];
  charts.push(["prices", function () {
    var series = [];
    modes.forEach(function (m) {
      (sc.symbols || Object.keys(m.series.prices || {})).forEach(function (sym, j) {
        var raw = (m.series.prices || {})[sym] || [], first = null;
        for (var i = 0; i < raw.length && first === null; i++) if (finite(raw[i]) && raw[i] !== 0) first = raw[i];
        var norm = raw.map(function (v) { return finite(v) && first !== null ? (v / first) * 100 : null; });
        series.push(line(sym, m, j, norm, { tip: raw, tipFmt: "usd" }));
      });
    });
    return base({ y: { fmt: "num", title: "index (step 0 = 100)" }, refs: [{ value: 100, label: "" }], series: series });
  }]);
  charts.push(["equity", function () {
    return base({ y: { fmt: "usd", title: "USD" }, series: modes.map(function (m) { return line("equity", m, 0, m.series.equity); }) });
  }]);
  (sc.markets || []).forEach(function (mk) {
    charts.push([safeId(mk), function () {
      var series = [];
      modes.forEach(function (m) {
        series.push(line(mk + " long", m, 0, (m.series.openInterestLong || {})[mk]));
        series.push(line(mk + " short", m, 1, (m.series.openInterestShort || {})[mk]));
      });
      return base({ y: { fmt: "usd", title: "USD notional", zero: true }, series: series });
    }]);
  });
  charts.push(["margin-ratio", function () {
    var series = [];
    modes.forEach(function (m) {
      var bands = m.series.marginRatio || [], s = CM.style(m.mode, 0);
      function pick(key) { return bands.map(function (b) { return b && finite(b[key]) ? b[key] : null; }); }
      series.push({ name: "p5\\u2013p95 \\u00b7 " + m.mode, type: "band", color: s.color, opacity: 0.08, lo: pick("p5"), hi: pick("p95") });
      series.push({ name: "p25\\u2013p75 \\u00b7 " + m.mode, type: "band", color: s.color, opacity: 0.2, lo: pick("p25"), hi: pick("p75") });
      series.push(line("p50", m, 0, pick("p50")));
    });
    return base({ y: { fmt: "num", title: "equity \\u00f7 maintenance", zero: true, clamp: [0, 10] }, refs: [{ value: 1, label: "liquidation (1.0)" }], series: series });
  }]);
  charts.push(["liquidations", function () {
    var series = [];
    modes.forEach(function (m) { series.push(bar("liquidations", m, m.series.liquidations)); });
    modes.forEach(function (m) { series.push(line("cumulative notional", m, 1, cumulative(m.series.liquidatedNotional), { axis: "y2" })); });
    return base({ y: { fmt: "count", title: "liquidations per step", zero: true }, y2: { fmt: "usd", title: "liquidated notional (USD)", zero: true }, series: series });
  }]);
  charts.push(["insurance-fund", function () {
    return base({ y: { fmt: "usd", title: "insurance fund (USD)" }, series: modes.map(function (m) { return line("insurance fund", m, 0, m.series.insuranceFund); }) });
  }]);
  charts.push(["pool-share-price", function () {
    return base({ y: { fmt: "share", title: "USDC per pool share" }, series: modes.map(function (m) { return line("share price", m, 0, m.series.poolSharePrice); }) });
  }]);
  charts.push(["bad-debt", function () {
    var series = [];
    modes.forEach(function (m) { series.push(bar("cascade depth", m, m.series.cascadeDepth)); });
    modes.forEach(function (m) { series.push(line("bad debt (cumulative)", m, 1, m.series.badDebt, { axis: "y2" })); });
    return base({ y: { fmt: "count", title: "cascade depth", zero: true }, y2: { fmt: "usd", title: "bad debt (USD)", zero: true }, series: series });
  }]);
  charts.push(["funding-rate", function () {
    var series = [];
    modes.forEach(function (m) {
      (sc.markets || Object.keys(m.series.fundingRate || {})).forEach(function (mk, j) { series.push(line(mk, m, j, (m.series.fundingRate || {})[mk])); });
    });
    return base({ y: { fmt: "pct", title: "funding (% per day)" }, refs: [{ value: 0, label: "" }], series: series });
  }]);
  charts.forEach(function (c) {
    var f = fig(c[0]);
    if (!f) { console.error("chart container missing: " + c[0]); return; }
    try { CM.chart(f, c[1]()); } catch (err) { console.error("chart " + c[0] + " failed: " + (err && err.stack || err)); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), CM.sortable);
  document.body.dataset.rendered = "true";
})();
`;

/** Builds the sweep page's charts from #report-data. */
const SWEEP_JS = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var keys = data.keys || [], modes = data.modes || [], points = data.points || [], finite = CM.finite;
  var first = keys[0];
  function label(v) { return typeof v === "number" ? String(v) : String(v === undefined ? "\\u2014" : v); }
  var cats = [], catIndex = {};
  points.forEach(function (p, i) {
    var v = first === undefined ? i : p.parameters[first], key = typeof v + ":" + label(v);
    if (!(key in catIndex)) { catIndex[key] = cats.length; cats.push(v); }
  });
  var numeric = cats.every(function (v) { return typeof v === "number"; });
  if (numeric) cats.sort(function (a, b) { return a - b; });
  cats.forEach(function (v, i) { catIndex[typeof v + ":" + label(v)] = i; });
  var groups = [], groupIndex = {};
  points.forEach(function (p) {
    var g = keys.slice(1).map(function (k) { return k + "=" + label(p.parameters[k]); }).join(", ");
    if (!(g in groupIndex)) { groupIndex[g] = groups.length; groups.push(g); }
  });
  function spec(metric, title) {
    var series = [];
    modes.forEach(function (mode) {
      groups.forEach(function (g, j) {
        var values = cats.map(function () { return null; });
        points.forEach(function (p, i) {
          var gk = keys.slice(1).map(function (k) { return k + "=" + label(p.parameters[k]); }).join(", ");
          if (gk !== g) return;
          var v = first === undefined ? i : p.parameters[first], s = p.summaries[mode];
          if (s && finite(s[metric])) values[catIndex[typeof v + ":" + label(v)]] = s[metric];
        });
        var st = CM.style(mode, j);
        series.push({ name: mode + (g ? " \\u00b7 " + g : ""), type: "line", color: st.color, dash: st.dash, width: st.width, values: values });
      });
    });
    return {
      n: cats.length, xLabel: first || "point",
      xTick: function (i) { return label(cats[i]); },
      xTitle: function (i) { return (first || "point") + " = " + label(cats[i]); },
      y: { fmt: "usd", title: title, zero: true }, series: series
    };
  }
  [["sweep-bad-debt", "badDebt", "bad debt (USD)"], ["sweep-notional-liquidated", "notionalLiquidated", "notional liquidated (USD)"]].forEach(function (c) {
    var f = document.querySelector('figure.chart[data-chart="' + c[0] + '"]');
    if (!f) { console.error("chart container missing: " + c[0]); return; }
    try { CM.chart(f, spec(c[1], c[2])); } catch (err) { console.error("chart " + c[0] + " failed: " + (err && err.stack || err)); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), CM.sortable);
  document.body.dataset.rendered = "true";
})();
`;
