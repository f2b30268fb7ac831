/**
 * Deployment and SDK end to end against a real `hardhat node` on a loopback port: `npx hardhat
 * deploy --network localhost` (the command behind `npm run deploy:local`) deploys and writes the
 * registry, `deployments:export` rewrites it identically from Ignition's record, the SDK connects
 * from the registry alone, and the example dApp (`npm run example`) runs its whole flow. The
 * registry goes to a temporary folder and the Ignition record to its own deployment id, so a
 * developer's own local deployment is untouched.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { CrossmarginClient, DEPLOYMENT_SCHEMA, parseDeployment, type Deployment } from "../sdk/src";
import { connectFromRegistry } from "../sdk/src/node";
import { loadParameters } from "../src/deploy/parameters";
import { sleep } from "../src/keeper/retry";
import { MockERC20__factory } from "../typechain-types";
import { ROOT, freePort, procs, spawnHardhat, stopProc, waitForNode, type Proc } from "./shared/node";

describe("Deployment and SDK against a hardhat node", function () {
  this.timeout(180_000);
  let node: Proc | undefined;
  let url: string;
  let registryDir: string;
  let deploymentId: string;
  let provider: JsonRpcProvider;

  /** Runs a hardhat CLI command against the node; its output, or a failure with it. */
  async function hardhat(args: string[], timeoutMs = 120_000): Promise<string> {
    const proc = spawnHardhat(args, { LOCALHOST_URL: url });
    const result = await Promise.race([proc.exit, sleep(timeoutMs).then(() => undefined)]);
    await stopProc(proc, 1_000);
    if (!result || result.code !== 0) {
      throw new Error(`hardhat ${args.join(" ")} failed (${JSON.stringify(result ?? "timed out")}):\n${proc.tail()}`);
    }
    return proc.out.join("\n");
  }

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    deploymentId = `sdk-node-${port}`;
    registryDir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-"));
    node = spawnHardhat(["node", "--port", String(port), "--hostname", "127.0.0.1"], {}, 300);
    expect(await waitForNode(url, node, 60_000)).to.equal(31337n);
    provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100 });
  });

  after(async () => {
    provider?.destroy();
    await stopProc(node);
    for (const proc of [...procs]) await stopProc(proc, 1_000);
    fs.rmSync(registryDir, { recursive: true, force: true });
    const deployments = path.join(ROOT, "ignition", "deployments");
    for (const dir of fs
      .readdirSync(deployments)
      .filter((d) => d === deploymentId || d.startsWith(`${deploymentId}.stale-`))) {
      fs.rmSync(path.join(deployments, dir), { recursive: true, force: true });
    }
  });

  let deployment: Deployment;

  it("npx hardhat deploy --network localhost deploys and writes deployments/31337.json", async () => {
    // a record left by a node that has since restarted: its contracts are gone, Ignition must not trust it
    const stale = path.join(ROOT, "ignition", "deployments", deploymentId);
    fs.mkdirSync(stale, { recursive: true });
    fs.writeFileSync(
      path.join(stale, "deployed_addresses.json"),
      JSON.stringify({ "Core#Vault": Wallet.createRandom().address }),
    );
    const out = await hardhat([
      "deploy",
      "--network",
      "localhost",
      "--deployment-id",
      deploymentId,
      "--registry-dir",
      registryDir,
    ]);
    expect(out).to.contain('deploying Protocol to "localhost" (chain 31337) with ignition/parameters/local.json');
    expect(out).to.match(
      new RegExp(
        `the node no longer has the contracts of ignition/deployments/${deploymentId} \\(restarted\\?\\): moved that record to ${deploymentId}\\.stale-\\d+ and deploying afresh`,
      ),
    );
    const file = path.join(registryDir, "31337.json");
    expect(out).to.match(/registry: .*31337\.json \(Vault 0x[0-9a-fA-F]{40}, from block 1\)/);
    deployment = parseDeployment(JSON.parse(fs.readFileSync(file, "utf8")), file);

    expect(deployment.schema).to.equal(DEPLOYMENT_SCHEMA);
    expect([deployment.chainId, deployment.network, deployment.module, deployment.deploymentId]).to.deep.equal([
      31337,
      "localhost",
      "Protocol",
      deploymentId,
    ]);
    expect(deployment.startBlock).to.equal(1);
    // every contract with the block and transaction that created it, as the chain says
    for (const [name, c] of Object.entries(deployment.contracts)) {
      const receipt = await provider.getTransactionReceipt(c.transactionHash);
      expect(receipt?.contractAddress, name).to.equal(c.address);
      expect(receipt?.blockNumber, name).to.equal(c.blockNumber);
    }
    expect(Object.keys(deployment.contracts).sort()).to.deep.equal(
      [
        "Vault",
        "ClearingHouse",
        "LiquidityPool",
        "MarginLens",
        "MarketConfig",
        "USDC",
        "WETH",
        "WBTC",
        "usdcFeed",
        "ethFeed",
        "btcFeed",
        "stethFeed",
        "usdcOracle",
        "ethOracle",
        "btcOracle",
        "stethOracle",
      ].sort(),
    );
    const c = deployment.contracts;
    expect(deployment.settlementToken).to.deep.equal({
      symbol: "USDC",
      address: c.USDC.address,
      decimals: 6,
      oracle: c.usdcOracle.address,
      feed: c.usdcFeed.address,
    });
    expect(deployment.collateral).to.deep.equal([
      { symbol: "WETH", address: c.WETH.address, decimals: 18, oracle: c.ethOracle.address, feed: c.ethFeed.address },
      { symbol: "WBTC", address: c.WBTC.address, decimals: 8, oracle: c.btcOracle.address, feed: c.btcFeed.address },
    ]);
    expect(deployment.markets).to.deep.equal([
      { marketId: 1, symbol: "ETH-PERP", oracle: c.ethOracle.address, feed: c.ethFeed.address, group: 1 },
      { marketId: 2, symbol: "BTC-PERP", oracle: c.btcOracle.address, feed: c.btcFeed.address, group: 0 },
      { marketId: 3, symbol: "STETH-PERP", oracle: c.stethOracle.address, feed: c.stethFeed.address, group: 1 },
    ]);
    // the parameters deployed with, integers as decimal strings
    const local = loadParameters("local");
    expect(deployment.parameters.Markets.hedgeOffset).to.equal(String(local.Markets.hedgeOffset));
    expect(deployment.parameters.Protocol.poolSeed).to.equal(String(local.Protocol.poolSeed));
  });

  it("deployments:export rewrites the same registry from Ignition's record", async () => {
    const file = path.join(registryDir, "31337.json");
    const before = fs.readFileSync(file, "utf8");
    fs.rmSync(file);
    await hardhat([
      "deployments:export",
      "--network",
      "localhost",
      "--deployment-id",
      deploymentId,
      "--registry-dir",
      registryDir,
    ]);
    expect(fs.readFileSync(file, "utf8")).to.equal(before);
  });

  it("the SDK connects from the registry alone and reads what the chain says", async () => {
    const signer = await provider.getSigner(3);
    const client = await connectFromRegistry(signer, { dir: registryDir });
    expect(client.addresses.vault).to.equal(deployment.contracts.Vault.address);
    expect(client.startBlock).to.equal(1);
    const usdc = MockERC20__factory.connect(deployment.settlementToken.address, signer);
    await (await usdc.mint(signer.address, 5_000n * 10n ** 6n)).wait();
    const { accountId } = await client.createAccount("cross");
    await client.deposit(accountId, deployment.settlementToken.address, 5_000n * 10n ** 6n);
    const trade = await client.openPosition(accountId, 1n, 10n ** 18n, { slippageBps: 20 });
    const [size] = await client.clearingHouse.positionOf(accountId, 1n);
    expect(size).to.equal(10n ** 18n);
    expect(trade.trade.newSize).to.equal(size);
    const health = await client.health(accountId);
    const lens = await client.lens.health(accountId);
    expect([health.equity, health.maintenanceMargin, health.initialMargin]).to.deep.equal([
      lens.equity,
      lens.maintenanceMargin,
      lens.initialMargin,
    ]);
    const reader = await CrossmarginClient.connect(provider, { chainId: 31337, deployments: [deployment] });
    expect(await reader.accountsOf(signer.address)).to.deep.equal([accountId]);
    expect((await reader.positionHistory(accountId)).map((t) => t.sizeDelta)).to.deep.equal([10n ** 18n]);
  });

  it("the example dApp (npm run example) runs its whole flow against the node", async () => {
    // what `npm run example` runs, with the node and the registry of this test
    const ts = path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js");
    const run = spawnSync(process.execPath, [ts, "--transpile-only", "scripts/example-dapp.ts"], {
      cwd: ROOT,
      env: { ...process.env, RPC_URL: url, DEPLOYMENTS_DIR: registryDir, USER_INDEX: "6" },
      encoding: "utf8",
      timeout: 120_000,
    });
    const out = `${run.stdout}${run.stderr}`;
    expect(run.status, out).to.equal(0);
    for (const line of [
      /connected to chain 31337: Vault 0x[0-9a-fA-F]{40}/,
      /approvals sent: USDC yes, WETH yes/,
      /filled at \$3,000\.\d\d \(limit \$3,015\.\d\d\), fee \$7\.50/,
      /initial margin \$\d+\.\d\d → \$\d+\.\d\d \(hedge offset\)/,
      /ETH-PERP long 5\.0000 @ \$3,000\.\d\d: mark \$3,150\.00, PnL \$749\.\d\d/,
      /withdrew \$[\d,.]+ of USDC and 2 WETH/,
      /account #\d+: 4 trades/,
      /seen live by onPositionChanged: 4 trades/,
    ]) {
      expect(out).to.match(line);
    }
  });
});
