/**
 * The keeper's Prometheus metrics (prom-client), one registry per keeper so several keepers can
 * run in one process (the simulator, the tests) without clashing.
 */
import http from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class KeeperMetrics {
  readonly registry = new Registry();
  readonly accountsTracked: Gauge;
  readonly lastBlockSeen: Gauge;
  readonly scanDuration: Histogram;
  readonly candidates: Gauge;
  readonly sent: Counter;
  readonly succeeded: Counter;
  readonly failed: Counter;
  readonly skipped: Counter;
  readonly rewardsUsd: Counter;
  readonly rpcRetries: Counter;

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.accountsTracked = new Gauge({
      name: "keeper_accounts_tracked",
      help: "Accounts this keeper (shard) watches",
      registers,
    });
    this.lastBlockSeen = new Gauge({ name: "keeper_last_block_seen", help: "Latest block number seen", registers });
    this.scanDuration = new Histogram({
      name: "keeper_scan_duration_seconds",
      help: "Duration of one health scan over all tracked accounts",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.candidates = new Gauge({
      name: "keeper_candidates",
      help: "Accounts due for an action at the last scan, by action",
      labelNames: ["action"],
      registers,
    });
    const kind = ["kind"];
    this.sent = new Counter({ name: "keeper_tx_sent_total", help: "Transactions sent", labelNames: kind, registers });
    this.succeeded = new Counter({
      name: "keeper_tx_succeeded_total",
      help: "Transactions mined successfully",
      labelNames: kind,
      registers,
    });
    this.failed = new Counter({
      name: "keeper_tx_failed_total",
      help: "Transactions that reverted or could not be sent",
      labelNames: kind,
      registers,
    });
    this.skipped = new Counter({
      name: "keeper_skipped_total",
      help: "Opportunities not acted on, by reason (lost_race, unprofitable, no_funds, error)",
      labelNames: ["reason"],
      registers,
    });
    this.rewardsUsd = new Counter({
      name: "keeper_rewards_usd_total",
      help: "Rewards earned: liquidation keeper rewards and collateral discounts, USD",
      registers,
    });
    this.rpcRetries = new Counter({ name: "keeper_rpc_retries_total", help: "RPC calls retried", registers });
  }

  /** Serves `/metrics` on `port` (0 = any free port); resolves with the port bound. */
  async serve(port: number, host = "127.0.0.1"): Promise<{ port: number; close: () => Promise<void> }> {
    const server = http.createServer((request, response) => {
      if (request.url !== "/metrics") {
        response.writeHead(404).end("see /metrics\n");
        return;
      }
      this.registry
        .metrics()
        .then((body) => response.writeHead(200, { "Content-Type": this.registry.contentType }).end(body))
        .catch((error: unknown) => response.writeHead(500).end(String(error)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === "object" && address !== null ? address.port : port;
    return {
      port: bound,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
