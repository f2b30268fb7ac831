/**
 * The simulator's HTML pages (src/sim/html.ts): string-level checks, then the real thing in headless
 * Chromium (test/shared/browser.ts): no console errors, every chart drawn, tooltip on hover, the
 * cross-vs-isolated table, and full-page screenshots in reports/test-artifacts/ (git-ignored).
 * Chromium is required: without it the browser tests fail and say how to install it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { MAX_TRADER_ROWS, renderReportHtml, renderSweepHtml } from "../src/sim/html";
import type { ModeSummary, SimulationReport, SweepReport } from "../src/sim/report";
import { sampleReport } from "../src/sim/sampleReport";
import { chartStats, checkReportInBrowser, closeBrowser, openReport, type DomNode } from "./shared/browser";

const ARTIFACTS = path.resolve(__dirname, "..", "reports", "test-artifacts");
const HOSTILE = 'Crash </script><script>window.__pwned = 1</script> <!-- & "quotes" \u2028 end';

function withDescription(report: SimulationReport, description: string): SimulationReport {
  return { ...report, scenario: { ...report.scenario, description } };
}

function embeddedData(html: string): { scenario: { description: string }; modes: unknown[] } {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(match, "report-data script").to.not.equal(null);
  return JSON.parse(match![1]) as { scenario: { description: string }; modes: unknown[] };
}

function sampleSweep(): SweepReport {
  const report = sampleReport(40);
  const scale = (summary: ModeSummary, k: number): ModeSummary => ({
    ...summary,
    accountsLiquidated: Math.round(summary.accountsLiquidated * k),
    notionalLiquidated: Math.round(summary.notionalLiquidated * k * 100) / 100,
    badDebt: Math.round(summary.badDebt * k * k * 100) / 100,
    insuranceDrawdown: Math.round(summary.insuranceDrawdown * k * 100) / 100,
    maxCascadeDepth: Math.max(1, Math.round(summary.maxCascadeDepth * k)),
  });
  const penalties = [0.01, 0.025, 0.05, 0.1];
  return {
    schema: "crossmargin.sweep/1",
    scenario: "sample-crash",
    seed: 42,
    keys: ["liquidationPenalty"],
    points: penalties.map((penalty, i) => ({
      parameters: { liquidationPenalty: penalty },
      reportPath: `points/${i}/report.html`,
      summaries: {
        cross: scale(report.modes.cross!.summary, 0.6 + i * 0.3),
        isolated: scale(report.modes.isolated!.summary, 0.8 + i * 0.35),
      },
    })),
    timing: { totalSeconds: 48.2, workers: 4 },
  };
}

function externalRefs(html: string): string[] {
  const refs = html.match(/\b(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?\/\/[^"'\s>]*/gi) ?? [];
  const cssUrls = html.match(/url\(\s*["']?\s*(?:https?:)?\/\/[^)]*\)/gi) ?? [];
  const imports = html.match(/@import/gi) ?? [];
  return [...refs, ...cssUrls, ...imports];
}

describe("Simulator HTML report", function () {
  describe("rendering (no browser)", function () {
    it("embeds JSON that survives a description containing </script>", function () {
      const html = renderReportHtml(withDescription(sampleReport(20), HOSTILE));
      // Three script elements (data, chart library, page script) and nothing closes one early.
      expect(html.match(/<script\b/gi)).to.have.length(3);
      expect(html.match(/<\/script>/gi)).to.have.length(3);
      expect(html).to.not.include("window.__pwned = 1</script>");
      expect(embeddedData(html).scenario.description).to.equal(HOSTILE);
      // The visible description is escaped text.
      expect(html).to.include("Crash &lt;/script&gt;&lt;script&gt;window.__pwned = 1&lt;/script&gt;");
    });

    it("is deterministic: identical input gives identical output", function () {
      expect(renderReportHtml(sampleReport())).to.equal(renderReportHtml(sampleReport()));
      expect(renderSweepHtml(sampleSweep())).to.equal(renderSweepHtml(sampleSweep()));
      expect(renderReportHtml(sampleReport(30))).to.not.equal(renderReportHtml(sampleReport()));
    });

    it("references nothing over the network (no http(s) src/href, no CSS imports)", function () {
      expect(externalRefs(renderReportHtml(sampleReport()))).to.deep.equal([]);
      expect(externalRefs(renderSweepHtml(sampleSweep()))).to.deep.equal([]);
    });

    it("lists every summary field per mode, the comparison rows and a difference column", function () {
      const report = sampleReport();
      const html = renderReportHtml(report);
      const fields = Object.keys(report.modes.cross!.summary).length;
      for (const mode of ["cross", "isolated"]) {
        const table = new RegExp(`<table class="summary" data-mode="${mode}">([\\s\\S]*?)</table>`).exec(html);
        expect(table, `${mode} summary`).to.not.equal(null);
        expect(table![1].match(/<tr data-field=/g)).to.have.length(fields);
      }
      expect(html).to.include("difference (isolated − cross)");
      expect(html.match(/<tr data-metric=/g)).to.have.length(report.comparison.length);
      // $1,234.56 formatting, independent of the machine's locale.
      expect(html).to.match(/\$\d{1,3}(,\d{3})+\.\d{2}/);
    });

    it("shows each keeper's books, the time-to-liquidation histogram and the oracle outages", function () {
      const report = sampleReport();
      const html = renderReportHtml(report);
      const section = /<section id="keepers">([\s\S]*?)<\/section>/.exec(html);
      expect(section, "keepers section").to.not.equal(null);
      const body = section![1];
      for (const k of report.modes.cross!.keepers.agents) {
        expect(body).to.include(k.address);
      }
      // one table per mode, one row per keeper
      expect(body.match(/<table class="keepers">/g)).to.have.length(2);
      expect(body.match(/<tr><td class="num">\d+<\/td><td class="mono">/g)).to.have.length(4);
      // waits 0, 0, 1, 4: a bar per wait from 0 to 4 steps, with its count
      expect(body).to.include("<title>0 steps: 2 accounts</title>").and.include("<title>4 steps: 1 accounts</title>");
      expect(body).to.include("No keeper ran for 3 steps");
      expect(body).to.not.include("feeds silent"); // no oracle outage in the sample
      const silent = structuredClone(report);
      silent.modes.cross!.oracles = {
        frozenSteps: { ETH: 6 },
        stepsWithUnpriced: 2,
        unpricedAccountSteps: 9,
        mirrorChecksSkipped: 12,
      };
      expect(renderReportHtml(silent)).to.include(
        "feeds silent — ETH 6 steps; 2 steps in which the protocol refused to price some account (9 account-steps",
      );
    });

    it("omits the comparison table with a single mode and caps the trader table", function () {
      const report = sampleReport(20);
      const cross = report.modes.cross!;
      const many = Array.from({ length: MAX_TRADER_ROWS + 100 }, (_, i) => ({
        ...cross.traders[i % cross.traders.length],
        trader: i,
      }));
      const single: SimulationReport = { ...report, modes: { cross: { ...cross, traders: many } }, comparison: [] };
      const html = renderReportHtml(single);
      expect(html).to.not.include('id="comparison"');
      expect(html).to.not.include('data-mode="isolated"');
      const tbody = /<table class="traders sortable" data-mode="cross">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html);
      expect(tbody![1].match(/<tr[ >]/g)).to.have.length(MAX_TRADER_ROWS);
      expect(html).to.include(`Showing the first ${MAX_TRADER_ROWS} of 600 traders`);
    });
  });

  describe("in headless Chromium", function () {
    this.timeout(60_000);
    let dir: string;

    before(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossmargin-html-"));
      fs.mkdirSync(ARTIFACTS, { recursive: true });
    });

    after(async function () {
      await closeBrowser();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("draws the simulation report without errors", async function () {
      const report = withDescription(sampleReport(), HOSTILE);
      const htmlPath = path.join(dir, "report.html");
      fs.writeFileSync(htmlPath, renderReportHtml(report));

      const result = await checkReportInBrowser(htmlPath, path.join(ARTIFACTS, "report.png"));
      expect(result.errors).to.deep.equal([]);
      // prices, equity, open interest × 2 markets, margin ratio, liquidations, insurance, share price, bad debt, funding
      expect(result.charts).to.equal(10);
      expect(result.series).to.be.greaterThan(40);
      expect(fs.statSync(path.join(ARTIFACTS, "report.png")).size).to.be.greaterThan(10_000);

      const { page, errors, close } = await openReport(htmlPath);
      try {
        const stats = await chartStats(page);
        for (const chart of stats) {
          expect(chart.hasSvg, `${chart.id} has an svg`).to.equal(true);
          expect(chart.empty, `${chart.id} has data`).to.equal(false);
          expect(chart.visible, `${chart.id} visible series`).to.be.greaterThan(0);
        }
        const byId = Object.fromEntries(stats.map((chart) => [chart.id, chart]));
        expect(byId["prices"].series).to.equal(4); // 2 symbols × 2 modes
        expect(byId["margin-ratio"].series).to.equal(6); // 2 bands + median, × 2 modes
        expect(byId["liquidations"].series).to.be.greaterThan(2); // bars + 2 cumulative lines

        // The hostile description neither ran nor broke the page.
        expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).to.equal(undefined);
        expect(await page.textContent(".description")).to.equal(HOSTILE);

        // Cross vs isolated table: one row per comparison metric, with a difference column.
        const metrics = await page.$$eval("#comparison tbody tr", (rows) =>
          (rows as unknown as DomNode[]).map((row) => row.getAttribute("data-metric")),
        );
        expect(metrics).to.deep.equal(report.comparison.map((row) => row.metric));
        const heads = await page.$$eval("#comparison thead th", (cells) => cells.map((cell) => cell.textContent));
        expect(heads).to.include("difference (isolated − cross)");

        // Hover: cursor line and tooltip with the step and one row per series.
        const equity = page.locator('figure.chart[data-chart="equity"]');
        const tooltip = equity.locator(".tooltip");
        expect(await tooltip.isVisible()).to.equal(false);
        await equity.locator("svg rect.overlay").hover();
        await tooltip.waitFor({ state: "visible", timeout: 5_000 });
        const tipText = (await tooltip.textContent()) ?? "";
        expect(tipText).to.match(/step \d+/);
        expect(tipText).to.include("equity · cross").and.to.include("equity · isolated");
        expect(await equity.locator("line.cursor").getAttribute("visibility")).to.equal("visible");
        // The price tooltip shows USD prices, not the index.
        await page.locator('figure.chart[data-chart="prices"] svg rect.overlay').hover();
        const priceTip = (await page.locator('figure.chart[data-chart="prices"] .tooltip').textContent()) ?? "";
        expect(priceTip).to.match(/ETH · cross\$\d/);
        await page.mouse.move(0, 0);
        expect(await tooltip.isVisible()).to.equal(false);

        // Liquidated traders are highlighted; sorting by a numeric column orders the rows.
        const liquidated = report.modes.cross!.traders.filter((t) => t.liquidated).length;
        expect(await page.locator('table.traders[data-mode="cross"] tr.liquidated').count()).to.equal(liquidated);
        await page.locator('table.traders[data-mode="cross"] th', { hasText: "end equity" }).click();
        const values = await page.$$eval('table.traders[data-mode="cross"] tbody tr td:nth-child(9)', (cells) =>
          (cells as unknown as DomNode[]).map((cell) => Number(cell.getAttribute("data-v"))),
        );
        expect(values).to.deep.equal([...values].sort((a, b) => a - b));
        expect(errors).to.deep.equal([]);
      } finally {
        await close();
      }
    });

    it("handles degenerate data: one mode, one step, constant, empty and all-null series", async function () {
      const base = sampleReport(1); // positions open at step 2: no margin-ratio bands, no liquidations
      const cross = base.modes.cross!;
      const series = { ...cross.series, insuranceFund: [50_000], poolSharePrice: [1], equity: [0] };
      const report: SimulationReport = { ...base, modes: { cross: { ...cross, series } }, comparison: [] };
      const htmlPath = path.join(dir, "degenerate.html");
      fs.writeFileSync(htmlPath, renderReportHtml(report));
      const result = await checkReportInBrowser(htmlPath, path.join(ARTIFACTS, "degenerate.png"));
      expect(result.errors).to.deep.equal([]);
      const { page, close } = await openReport(htmlPath);
      try {
        const stats = Object.fromEntries((await chartStats(page)).map((chart) => [chart.id, chart]));
        expect(stats["margin-ratio"].empty).to.equal(true);
        expect(stats["equity"].visible).to.equal(1);
        expect(await page.locator("#comparison").count()).to.equal(0);
      } finally {
        await close();
      }
    });

    it("draws the sweep report without errors", async function () {
      const sweep = sampleSweep();
      const htmlPath = path.join(dir, "sweep.html");
      fs.writeFileSync(htmlPath, renderSweepHtml(sweep));

      const result = await checkReportInBrowser(htmlPath, path.join(ARTIFACTS, "sweep.png"));
      expect(result.errors).to.deep.equal([]);
      expect(result.charts).to.equal(2);
      expect(result.series).to.equal(4); // 2 metrics charts × 2 modes

      const { page, errors, close } = await openReport(htmlPath);
      try {
        for (const chart of await chartStats(page)) expect(chart.visible, chart.id).to.equal(2);
        // One row per grid point and mode, each linking to the point's report.
        expect(await page.locator("table.sweep tbody tr").count()).to.equal(sweep.points.length * 2);
        const links = await page.$$eval("table.sweep a", (anchors) =>
          (anchors as unknown as DomNode[]).map((a) => a.getAttribute("href")),
        );
        expect(links).to.deep.equal(sweep.points.flatMap((p) => [p.reportPath, p.reportPath]));
        const ticks = await page.$$eval('figure.chart[data-chart="sweep-bad-debt"] svg text', (texts) =>
          texts.map((t) => t.textContent),
        );
        expect(ticks).to.include.members(["0.01", "0.025", "0.05", "0.1"]);
        const figure = page.locator('figure.chart[data-chart="sweep-bad-debt"]');
        await figure.locator("svg rect.overlay").hover();
        await figure.locator(".tooltip").waitFor({ state: "visible", timeout: 5_000 });
        expect(await figure.locator(".tooltip").textContent()).to.include("liquidationPenalty = ");
        expect(errors).to.deep.equal([]);
      } finally {
        await close();
      }
    });
  });
});
