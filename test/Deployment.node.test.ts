/**
 * A public-network deployment rehearsed against a `hardhat node` posing as Sepolia
 * (HARDHAT_CHAIN_ID=11155111): stand-in tokens and feeds are deployed first, as the real ones
 * exist on Sepolia; then `npx hardhat deploy --network sepolia` runs exactly as it would against
 * Sepolia — preflight (refusing a stale feed with nothing sent), PublicProtocol through Ignition,
 * the registry — with SEPOLIA_RPC_URL and DEPLOYER_PRIVATE_KEY from the environment.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { CrossmarginClient, parseDeployment } from "../sdk/src";
import { loadParameters } from "../src/deploy/parameters";
import { sleep } from "../src/keeper/retry";
import { MockAggregator__factory, MockERC20__factory } from "../typechain-types";
import { ROOT, freePort, procs, spawnHardhat, stopProc, waitForNode, type Proc } from "./shared/node";

/** Hardhat's well-known account 0 (test mnemonic): the node's funded deployer. */
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SEPOLIA = 11155111;

describe("Deployment to a public network, rehearsed on a node posing as Sepolia", function () {
  this.timeout(180_000);
  let node: Proc | undefined;
  let url: string;
  let work: string;
  let deploymentId: string;
  let provider: JsonRpcProvider;
  let goodFile: string;
  let staleFile: string;

  /** `npx hardhat deploy --network sepolia …` against the node; its exit code and output. */
  async function deploy(extra: string[]): Promise<{ code: number | null; out: string }> {
    const proc = spawnHardhat(
      ["deploy", "--network", "sepolia", "--deployment-id", deploymentId, "--registry-dir", work, ...extra],
      // NO_COLOR: CI=true turns Hardhat's colours on
      { SEPOLIA_RPC_URL: url, DEPLOYER_PRIVATE_KEY: DEPLOYER_KEY, NO_COLOR: "1" },
    );
    const result = await Promise.race([proc.exit, sleep(150_000).then(() => undefined)]);
    await stopProc(proc, 1_000);
    if (!result) throw new Error(`deploy timed out:\n${proc.tail()}`);
    return { code: result.code, out: proc.out.join("\n") };
  }

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    deploymentId = `public-rehearsal-${port}`;
    work = fs.mkdtempSync(path.join(os.tmpdir(), "public-deploy-"));
    node = spawnHardhat(
      ["node", "--port", String(port), "--hostname", "127.0.0.1"],
      { HARDHAT_CHAIN_ID: String(SEPOLIA) },
      300,
    );
    expect(await waitForNode(url, node, 60_000)).to.equal(BigInt(SEPOLIA));
    provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100 });
    const deployer = new Wallet(DEPLOYER_KEY, provider);

    // what Sepolia already has: tokens and Chainlink-style feeds (stand-ins here)
    let nonce = await provider.getTransactionCount(deployer.address);
    const token = async (name: string, symbol: string, decimals: number) =>
      (await new MockERC20__factory(deployer).deploy(name, symbol, decimals, { nonce: nonce++ })).getAddress();
    const feed = async (description: string, answer: bigint) =>
      (await new MockAggregator__factory(deployer).deploy(8, description, answer, { nonce: nonce++ })).getAddress();
    const assets = {
      usdc: await token("USD Coin", "USDC", 6),
      weth: await token("Wrapped Ether", "WETH", 18),
      wbtc: await token("Wrapped Bitcoin", "WBTC", 8),
      usdcFeed: await feed("USDC / USD", 100_000_000n),
      ethFeed: await feed("ETH / USD", 300_000_000_000n),
      btcFeed: await feed("BTC / USD", 6_000_000_000_000n),
      stethFeed: await feed("STETH / USD", 299_000_000_000n),
    };
    const sepolia = loadParameters("sepolia");
    const seeds = (sepolia.PublicProtocol.poolSeed as bigint) + (sepolia.PublicProtocol.insuranceSeed as bigint);
    await (
      await MockERC20__factory.connect(assets.usdc, deployer).mint(deployer.address, seeds, { nonce: nonce++ })
    ).wait();

    // sepolia.json with its REQUIRED entries filled in
    const filled = (heartbeat: string, ethHeartbeat = heartbeat) => {
      const text = JSON.stringify(
        {
          ...sepolia,
          ExternalAssets: assets,
          Markets: {
            ...sepolia.Markets,
            usdcOracleHeartbeat: heartbeat,
            ethOracleHeartbeat: ethHeartbeat,
            btcOracleHeartbeat: heartbeat,
            stethOracleHeartbeat: heartbeat,
          },
        },
        (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v),
      );
      return text;
    };
    goodFile = path.join(work, "sepolia-filled.json");
    fs.writeFileSync(goodFile, filled("3600n"));
    staleFile = path.join(work, "sepolia-stale.json");
    fs.writeFileSync(staleFile, filled("3600n", "1n")); // ETH/USD must be under a second old
    await sleep(2_100); // make the ETH feed older than that
    await provider.send("evm_mine", []);
  });

  after(async () => {
    provider?.destroy();
    await stopProc(node);
    for (const proc of [...procs]) await stopProc(proc, 1_000);
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(path.join(ROOT, "ignition", "deployments", deploymentId), { recursive: true, force: true });
  });

  it("the preflight refuses a stale feed through the CLI and sends nothing", async () => {
    const block = await provider.getBlockNumber();
    const run = await deploy(["--parameters", staleFile]);
    expect(run.code, run.out).to.equal(1);
    expect(run.out).to.contain('deploying PublicProtocol to "sepolia" (chain 11155111)');
    expect(run.out).to.match(
      /✗ feed ethFeed: ETH \/ USD at 0x[0-9a-fA-F]{40} is stale: last update \d+ s ago, heartbeat \(Markets.ethOracleHeartbeat\) 1 s/,
    );
    expect(run.out).to.contain("✓ feed btcFeed: BTC / USD = 60000.0");
    expect(run.out).to.contain(
      "Error in plugin deploy: preflight failed, nothing was sent: 1 of 10 checks failed (marked ✗ above)",
    );
    expect(await provider.getBlockNumber(), "nothing mined").to.equal(block);
  });

  it("--preflight-only passes every check, measures the gas and sends nothing", async () => {
    const block = await provider.getBlockNumber();
    const run = await deploy(["--parameters", goodFile, "--preflight-only"]);
    expect(run.code, run.out).to.equal(0);
    expect(run.out.match(/✓ /g)).to.have.length(11);
    expect(run.out).to.not.contain("✗");
    expect(run.out).to.contain("preflight passed; nothing sent (--preflight-only)");
    expect(await provider.getBlockNumber(), "nothing mined").to.equal(block);
  });

  it("deploys PublicProtocol, spends the measured gas, and writes a registry the SDK connects with", async () => {
    const from = (await provider.getBlockNumber()) + 1;
    const run = await deploy(["--parameters", goodFile]);
    expect(run.code, run.out).to.equal(0);
    const measured = BigInt(/about ([\d,]+) gas/.exec(run.out)![1].replace(/,/g, ""));
    const to = await provider.getBlockNumber();
    let spent = 0n;
    for (let n = from; n <= to; n++) spent += (await provider.getBlock(n))!.gasUsed;
    // the same module on the same EVM: the in-process measurement is exact
    expect(spent).to.equal(measured);

    const file = path.join(work, `${SEPOLIA}.json`);
    expect(run.out).to.contain(`verify the sources: npx hardhat ignition verify ${deploymentId}`);
    const deployment = parseDeployment(JSON.parse(fs.readFileSync(file, "utf8")), file);
    expect([deployment.chainId, deployment.network, deployment.module, deployment.startBlock]).to.deep.equal([
      SEPOLIA,
      "sepolia",
      "PublicProtocol",
      from,
    ]);
    // only what the deployment created: the tokens and feeds were there before it
    expect(Object.keys(deployment.contracts).sort()).to.deep.equal(
      [
        "ClearingHouse",
        "LiquidityPool",
        "MarginLens",
        "MarketConfig",
        "Vault",
        "btcOracle",
        "ethOracle",
        "stethOracle",
        "usdcOracle",
      ].sort(),
    );
    const client = await CrossmarginClient.connect(new Wallet(DEPLOYER_KEY, provider), {
      chainId: SEPOLIA,
      deployments: [deployment],
    });
    expect(await client.pool.totalAssets()).to.equal(100_000_000n); // poolSeed: 100 USDC
    expect(await client.vault.insuranceFund()).to.equal(10n * 10n ** 18n); // insuranceSeed: 10 USDC, WAD
    expect((await client.funding(1n)).price).to.equal(3_000n * 10n ** 18n);
  });
});
