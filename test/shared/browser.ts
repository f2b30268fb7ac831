/**
 * Headless-Chromium checks of the simulator's HTML pages (src/sim/html.ts), through playwright-core
 * and the system Chromium (CHROMIUM_PATH, default /usr/bin/chromium). One browser is launched on
 * first use and shared; call `closeBrowser()` in the suite's `after`.
 *
 * A missing Chromium is an error, not a skip: the message says how to install it.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const RENDER_TIMEOUT_MS = 20_000;

let browser: Browser | undefined;

/** The shared browser, launched on first use; throws with install instructions when Chromium is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (browser?.isConnected()) return browser;
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install it with \`apt-get install -y chromium\` ` +
        `(Debian/Ubuntu, as root) or point CHROMIUM_PATH at a Chromium/Chrome binary.`,
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  const current = browser;
  browser = undefined;
  if (current) await current.close();
}

export interface OpenedPage {
  page: Page;
  /** Console errors, page errors and blocked network requests seen so far (grows while the page is open). */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Opens an HTML file in a fresh page (1280×900 viewport) and waits for `body[data-rendered=true]`.
 * Any request other than file: and data: URLs is blocked and reported as an error (the pages must
 * be self-contained), as are console errors and uncaught page errors.
 */
export async function openReport(htmlPath: string): Promise<OpenedPage> {
  const b = await launchBrowser();
  const context = await b.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
    errors.push(`external request blocked: ${url}`);
    return route.abort();
  });
  await page.goto(pathToFileURL(path.resolve(htmlPath)).href, { waitUntil: "load" });
  try {
    await page.waitForSelector("body[data-rendered=true]", { state: "attached", timeout: RENDER_TIMEOUT_MS });
  } catch {
    errors.push(`page did not set body[data-rendered=true] within ${RENDER_TIMEOUT_MS} ms`);
  }
  return { page, errors, close: () => context.close() };
}

export interface ChartStats {
  id: string;
  hasSvg: boolean;
  empty: boolean;
  series: number;
  /** Series (path.series / rect.bar) whose bounding box has a non-zero width or height. */
  visible: number;
}

/** The few DOM members used in page callbacks (the project compiles without the "dom" lib). */
export interface DomNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getAttributeNames(): string[];
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
  getBoundingClientRect(): { width: number; height: number };
}

/** Per-chart counts of `figure.chart` elements on an opened page. */
export async function chartStats(page: Page): Promise<ChartStats[]> {
  return page.$$eval("figure.chart", (figures) =>
    (figures as unknown as DomNode[]).map((figure) => {
      // The chart's own svg is a direct child; the legend's swatches are svgs too.
      const svg = figure.querySelector(":scope > svg");
      const drawn = svg ? Array.from(svg.querySelectorAll("path.series, rect.bar")) : [];
      const visible = drawn.filter((node) => {
        const box = node.getBoundingClientRect();
        return box.width > 0 || box.height > 0;
      });
      return {
        id: figure.getAttribute("data-chart") ?? "",
        hasSvg: svg !== null,
        empty: figure.getAttribute("data-empty") === "true",
        series: drawn.length,
        visible: visible.length,
      };
    }),
  );
}

/**
 * Opens a report page in headless Chromium and checks it: no console/page errors or external
 * requests, rendering finished, every chart has an SVG with at least one visible series (a chart
 * marked data-empty, "no data", is accepted), no SVG attribute or label is NaN/Infinity/undefined, and hovering the first non-empty chart shows its
 * tooltip. Saves a full-page screenshot (its directory is created). Problems are returned in
 * `errors`, not thrown (a missing Chromium is thrown).
 */
export async function checkReportInBrowser(
  htmlPath: string,
  screenshotPath: string,
): Promise<{ charts: number; series: number; errors: string[] }> {
  const opened = await openReport(htmlPath);
  const { page } = opened;
  try {
    const stats = await chartStats(page);
    const problems: string[] = [];
    for (const chart of stats) {
      if (!chart.hasSvg) problems.push(`chart ${chart.id}: no svg`);
      else if (chart.visible === 0 && !chart.empty) problems.push(`chart ${chart.id}: no visible series`);
    }
    const nan = await page.$$eval("figure.chart svg *", (nodes) =>
      (nodes as unknown as DomNode[]).flatMap((node) =>
        node.getAttributeNames().flatMap((name) => {
          const value = node.getAttribute(name) ?? "";
          return /NaN|Infinity|undefined/.test(value) ? [`${name}="${value.slice(0, 60)}"`] : [];
        }),
      ),
    );
    if (nan.length > 0) problems.push(`non-finite SVG attributes: ${nan.slice(0, 5).join(", ")}`);
    const labels = await page.$$eval("figure.chart svg text", (nodes) =>
      (nodes as unknown as DomNode[])
        .map((node) => node.textContent ?? "")
        .filter((t) => /NaN|Infinity|undefined/.test(t)),
    );
    if (labels.length > 0) problems.push(`non-finite SVG labels: ${labels.slice(0, 5).join(", ")}`);
    const target = stats.find((chart) => chart.visible > 0);
    if (target) {
      const figure = page.locator(`figure.chart[data-chart="${target.id}"]`);
      await figure.locator("svg rect.overlay").hover();
      const tooltip = figure.locator(".tooltip");
      try {
        await tooltip.waitFor({ state: "visible", timeout: 5_000 });
      } catch {
        problems.push(`chart ${target.id}: tooltip did not appear on hover`);
      }
      await page.mouse.move(0, 0);
    }
    fs.mkdirSync(path.dirname(path.resolve(screenshotPath)), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    return {
      charts: stats.length,
      series: stats.reduce((sum, chart) => sum + chart.series, 0),
      errors: [...opened.errors, ...problems],
    };
  } finally {
    await opened.close();
  }
}
