import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import { Wallet } from "ethers";
import Mocks from "../ignition/modules/Mocks";
import ProtocolModule from "../ignition/modules/Protocol";
import PublicProtocol from "../ignition/modules/PublicProtocol";
import { measurePublicDeploymentGas, spawnGasMeasurement } from "../src/deploy/gas";
import { checkParameters, moduleParameters } from "../src/deploy/moduleParameters";
import {
  deployerKeyProblem,
  missingNetworkVariable,
  publicNetworksConfig,
  PUBLIC_NETWORKS,
} from "../src/deploy/networks";
import { loadParameters } from "../src/deploy/parameters";
import {
  EXTERNAL_FEEDS,
  EXTERNAL_TOKENS,
  PreflightError,
  preflight,
  type PreflightInput,
} from "../src/deploy/preflight";
import { runDeployTask } from "../src/deploy/cli";
import { MockAggregator__factory, MockERC20__factory } from "../typechain-types";

const HARDHAT_CLI = require.resolve("hardhat/internal/cli/cli");

describe("Deployment: modules, parameter files, networks and preflight", () => {
  describe("Ignition modules and parameter files", () => {
    it("the local module composes Mocks, Core and Markets, and local.json sets exactly the parameters it reads", () => {
      expect([...ProtocolModule.submodules].map((m) => m.id).sort()).to.deep.equal(["Core", "Markets", "Mocks"]);
      const known = moduleParameters(ProtocolModule);
      const local = loadParameters("local");
      const keys = Object.entries(local).flatMap(([moduleId, v]) => Object.keys(v).map((k) => `${moduleId}.${k}`));
      // every key of the file is read by the module; the module reads nothing else except Core.guardian
      expect([...known.keys()].sort()).to.deep.equal([...keys, "Core.guardian"].sort());
      expect(checkParameters(ProtocolModule, local)).to.deep.equal([]);
      // the file's values equal the module's defaults (one source of truth for DESIGN §13)
      for (const [key, p] of known) {
        if (key === "Core.guardian") continue;
        expect(local[p.moduleId][p.name], key).to.equal(p.defaultValue);
      }
    });

    it("catches a misspelt key, an unknown module and a missing required parameter", () => {
      const local = loadParameters("local");
      const typo: DeploymentParameters = { ...local, Markets: { ...local.Markets, wethHaircutt: 1n }, Nope: { x: 1n } };
      const problems = checkParameters(ProtocolModule, typo).map((p) => p.message);
      expect(problems).to.have.length(2);
      expect(problems[0]).to.match(/^Markets has no parameter "wethHaircutt" \(it reads: .*wethHaircut[,)]/);
      expect(problems[1]).to.match(
        /^no module "Nope" in Protocol reads parameters \(modules: Core, Markets, Mocks, Protocol\)/,
      );
      const withoutSeed = loadParameters("sepolia");
      delete withoutSeed.PublicProtocol.poolSeed;
      expect(checkParameters(PublicProtocol, withoutSeed).map((p) => p.message)).to.include(
        "PublicProtocol.poolSeed is required and missing",
      );
    });

    it("the testnet files require what was not verified and say so; Sepolia's ETH/USD and BTC/USD feeds are set", () => {
      const sepolia = loadParameters("sepolia");
      expect(sepolia.ExternalAssets.ethFeed).to.equal("0x694AA1769357215DE4FAC081bf1f309aDC325306");
      expect(sepolia.ExternalAssets.btcFeed).to.equal("0x1b44F3514812d835EB1BDB0acB33d3fA3351Ee43");
      const required = (name: string) =>
        checkParameters(PublicProtocol, loadParameters(name))
          .map((p) => p.key)
          .sort();
      const heartbeats = EXTERNAL_FEEDS.map((f) => `Markets.${f.heartbeat}`);
      expect(required("sepolia")).to.deep.equal(
        [...heartbeats, ...["usdc", "weth", "wbtc", "usdcFeed", "stethFeed"].map((k) => `ExternalAssets.${k}`)].sort(),
      );
      expect(required("arbitrumSepolia")).to.deep.equal(
        [
          ...heartbeats,
          ...[...EXTERNAL_TOKENS, ...EXTERNAL_FEEDS.map((f) => f.feed)].map((k) => `ExternalAssets.${k}`),
        ].sort(),
      );
      const message = checkParameters(PublicProtocol, loadParameters("arbitrumSepolia")).find(
        (p) => p.key === "ExternalAssets.ethFeed",
      )?.message;
      expect(message).to.match(/must be filled in: REQUIRED: Chainlink's ETH\/USD proxy on Arbitrum Sepolia/);
    });
  });

  describe("networks", () => {
    it("sepolia and arbitrumSepolia are configured without their variables, and only using one is an error", function () {
      for (const n of PUBLIC_NETWORKS) {
        if (process.env[n.urlVariable]) this.skip(); // configured on this machine
      }
      expect(Object.keys(hre.config.networks)).to.include.members([
        "hardhat",
        "localhost",
        "sepolia",
        "arbitrumSepolia",
      ]);
      expect(hre.config.networks.sepolia.chainId).to.equal(11155111);
      expect(hre.config.networks.arbitrumSepolia.chainId).to.equal(421614);
      expect(publicNetworksConfig().sepolia.url).to.equal("http://unset.invalid");
      expect(missingNetworkVariable("hardhat")).to.equal(undefined);
      expect(missingNetworkVariable("arbitrumSepolia")).to.match(
        /network "arbitrumSepolia" needs its JSON-RPC URL: set ARBITRUM_SEPOLIA_RPC_URL: `npx hardhat vars set ARBITRUM_SEPOLIA_RPC_URL`/,
      );
    });

    it("a malformed DEPLOYER_PRIVATE_KEY is left out of the configuration and reported when a deployment needs it", () => {
      const saved = process.env.DEPLOYER_PRIVATE_KEY;
      try {
        process.env.DEPLOYER_PRIVATE_KEY = "not-a-key";
        expect(publicNetworksConfig().sepolia.accounts).to.deep.equal([]);
        expect(deployerKeyProblem()).to.equal(
          "DEPLOYER_PRIVATE_KEY is set but is not a private key (64 hex digits, optionally after 0x): set it again",
        );
        process.env.DEPLOYER_PRIVATE_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        expect(publicNetworksConfig().sepolia.accounts).to.deep.equal([`0x${process.env.DEPLOYER_PRIVATE_KEY}`]);
        expect(deployerKeyProblem()).to.equal("");
      } finally {
        if (saved === undefined) delete process.env.DEPLOYER_PRIVATE_KEY;
        else process.env.DEPLOYER_PRIVATE_KEY = saved;
      }
    });

    it("npx hardhat deploy --network sepolia without SEPOLIA_RPC_URL stops with the variable to set", function () {
      this.timeout(60_000);
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }; // CI=true turns Hardhat's colours on
      delete env.SEPOLIA_RPC_URL;
      delete env.HARDHAT_VAR_SEPOLIA_RPC_URL;
      const run = spawnSync(process.execPath, [HARDHAT_CLI, "deploy", "--network", "sepolia"], {
        cwd: hre.config.paths.root,
        env,
        encoding: "utf8",
      });
      expect(run.status).to.equal(1);
      expect(run.stderr).to.contain(
        'Error in plugin crossmargin: network "sepolia" needs its JSON-RPC URL: set SEPOLIA_RPC_URL: `npx hardhat vars set SEPOLIA_RPC_URL`',
      );
    });
  });

  describe("preflight (against mocks on the in-process chain)", () => {
    let parameters: DeploymentParameters;
    let deployer: string;
    let mocks: Awaited<ReturnType<typeof deployMocks>>;

    async function deployMocks() {
      return hre.ignition.deploy(Mocks, { parameters: { Mocks: loadParameters("local").Mocks } });
    }

    before(async function () {
      this.timeout(60_000);
      mocks = await deployMocks();
      const sepolia = loadParameters("sepolia");
      const external: Record<string, string> = {};
      for (const key of [...EXTERNAL_TOKENS, ...EXTERNAL_FEEDS.map((f) => f.feed)]) {
        external[key] = await mocks[key].getAddress();
      }
      const markets = { ...sepolia.Markets };
      for (const f of EXTERNAL_FEEDS) markets[f.heartbeat] = 3_600n;
      parameters = { ...sepolia, ExternalAssets: external, Markets: markets };
      [deployer] = await Promise.all([(await ethers.getSigners())[0].getAddress()]);
      const seeds = (sepolia.PublicProtocol.poolSeed as bigint) + (sepolia.PublicProtocol.insuranceSeed as bigint);
      await MockERC20__factory.connect(external.usdc, (await ethers.getSigners())[0]).mint(deployer, seeds);
      // the feeds were deployed moments ago: fresh
    });

    const input = (over: Partial<PreflightInput> = {}): PreflightInput => ({
      provider: ethers.provider,
      module: PublicProtocol,
      parameters,
      deployer,
      deployerHint: "set DEPLOYER_PRIVATE_KEY",
      expectedChainId: 31337,
      seedParameters: ["PublicProtocol.poolSeed", "PublicProtocol.insuranceSeed"],
      estimateGas: () => measurePublicDeploymentGas(hre, parameters),
      ...over,
    });

    /** Runs a preflight expected to fail and returns its failed checks; checks that nothing was sent. */
    async function failing(over: Partial<PreflightInput>): Promise<string[]> {
      const block = await ethers.provider.getBlockNumber();
      const nonce = await ethers.provider.getTransactionCount(deployer);
      const error = await preflight(input({ estimateGas: async () => 1_000_000n, ...over })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, "preflight should fail").to.be.instanceOf(PreflightError);
      expect(await ethers.provider.getBlockNumber(), "no block mined").to.equal(block);
      expect(await ethers.provider.getTransactionCount(deployer), "nothing sent").to.equal(nonce);
      const e = error as PreflightError;
      expect(e.message).to.match(/^preflight failed, nothing was sent/);
      return e.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    }

    it("passes with every address holding code, fresh feeds, the seeds held and gas measured", async function () {
      this.timeout(60_000);
      const checks = await preflight(input());
      expect(checks.every((c) => c.ok)).to.equal(true);
      expect(checks.map((c) => c.name)).to.deep.equal([
        "parameters",
        "chain",
        "token usdc",
        "token weth",
        "token wbtc",
        "feed usdcFeed",
        "feed ethFeed",
        "feed btcFeed",
        "feed stethFeed",
        "seed tokens",
        "deployer funds",
      ]);
      expect(checks.find((c) => c.name === "feed ethFeed")?.detail).to.match(
        /^ETH \/ USD = 3000\.0, \d+ s old \(heartbeat 3600 s\)$/,
      );
      // the measured gas of the whole public deployment: millions (seven contracts, nine calls)
      const gas = BigInt(/about ([\d,]+) gas/.exec(checks.at(-1)!.detail)![1].replace(/,/g, ""));
      expect(gas > 10_000_000n && gas < 40_000_000n, `gas ${gas}`).to.equal(true);
    });

    it("measures the same gas in a child process (as the deploy task does against a public network)", async function () {
      this.timeout(90_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gas-"));
      try {
        const file = path.join(dir, "sepolia-filled.json");
        const text = JSON.stringify(parameters, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
        fs.writeFileSync(file, text);
        const [child, here] = [
          await spawnGasMeasurement(hre.config.paths.root, file),
          await measurePublicDeploymentGas(hre, parameters),
        ];
        // the same calls and bytecode; only the addresses (zero vs non-zero calldata bytes) differ
        expect(Number(child - here) / Number(here), `child ${child}, here ${here}`).to.be.within(-0.001, 0.001);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("refuses a parameter file with a missing feed, naming the parameter", async () => {
      const without = { ...parameters, ExternalAssets: { ...parameters.ExternalAssets } };
      delete without.ExternalAssets.btcFeed;
      expect(await failing({ parameters: without })).to.deep.equal([
        "parameter ExternalAssets.btcFeed: ExternalAssets.btcFeed is required and missing",
      ]);
    });

    it("refuses an address with no code", async () => {
      const nobody = Wallet.createRandom().address;
      const bad = { ...parameters, ExternalAssets: { ...parameters.ExternalAssets, ethFeed: nobody } };
      expect(await failing({ parameters: bad })).to.deep.equal([
        `code ethFeed: ExternalAssets.ethFeed = ${nobody} holds no contract on chain 31337: wrong address or wrong network`,
      ]);
    });

    it("refuses a stale feed, a zero answer and a feed that is not a feed", async () => {
      const [signer] = await ethers.getSigners();
      const stale = await new MockAggregator__factory(signer).deploy(8, "BTC / USD", 6_000_000_000_000n);
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      await stale.setUpdatedAt(now - 7_200);
      const zero = await new MockAggregator__factory(signer).deploy(8, "STETH / USD", 0n);
      const external = {
        ...parameters.ExternalAssets,
        btcFeed: await stale.getAddress(),
        stethFeed: await zero.getAddress(),
        usdcFeed: parameters.ExternalAssets.weth, // a token, not a feed
      };
      const failed = await failing({ parameters: { ...parameters, ExternalAssets: external } });
      expect(failed).to.have.length(3);
      expect(failed[0]).to.match(
        /^feed usdcFeed: ExternalAssets.usdcFeed = 0x[0-9a-fA-F]{40} does not answer decimals\(\)\/latestRoundData\(\): not a Chainlink feed$/,
      );
      expect(failed[1]).to.match(
        /^feed btcFeed: BTC \/ USD at 0x[0-9a-fA-F]{40} is stale: last update 720\d s ago, heartbeat \(Markets.btcOracleHeartbeat\) 3600 s/,
      );
      expect(failed[2]).to.match(/^feed stethFeed: STETH \/ USD at 0x[0-9a-fA-F]{40} answers 0: not a price$/);
    });

    it("refuses a deployer without the seed tokens or the ether for the gas, and no deployer at all", async () => {
      const poor = Wallet.createRandom().address;
      const failed = await failing({ deployer: poor });
      expect(failed).to.have.length(1);
      expect(failed[0]).to.match(
        new RegExp(
          `^seed tokens: the deployer ${poor} holds 0.0 of the settlement token, the seeds \\(PublicProtocol.poolSeed \\+ PublicProtocol.insuranceSeed\\) need 110.0: fund it, or lower the seeds$`,
        ),
      );
      const noSeeds = { ...parameters, PublicProtocol: { poolSeed: 0n, insuranceSeed: 0n } };
      const broke = await failing({ deployer: poor, parameters: noSeeds });
      expect(broke[0]).to.match(
        new RegExp(
          `^deployer funds: ${poor} holds 0.0 ETH; the deployment needs about 1,000,000 gas × [\\d.]+ gwei \\+ 25 % = [\\d.]+ ETH: fund the deployer`,
        ),
      );
      expect(await failing({ deployer: undefined })).to.deep.equal([
        "deployer: no deployer account: set DEPLOYER_PRIVATE_KEY",
      ]);
    });

    it("refuses a chain other than the network's", async () => {
      expect(await failing({ expectedChainId: 11155111 })).to.deep.equal([
        "chain: the RPC URL serves chain 31337, the network is configured for 11155111: check the URL",
      ]);
    });
  });

  describe("npx hardhat deploy on the in-process network", () => {
    it("deploys the local module, checks its parameter file, and writes no registry", async function () {
      this.timeout(60_000);
      const lines: string[] = [];
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-"));
      try {
        const result = await runDeployTask(
          { parameters: "", registryDir: dir, deploymentId: "", preflightOnly: false },
          hre,
          (l) => lines.push(l),
        );
        expect(result).to.equal(undefined);
        expect(lines[0]).to.equal('deploying Protocol to "hardhat" (chain 31337) with ignition/parameters/local.json');
        expect(lines.at(-1)).to.match(/no registry written/);
        expect(fs.readdirSync(dir)).to.deep.equal([]);
        const block = await ethers.provider.getBlockNumber();
        const checked: string[] = [];
        expect(
          await runDeployTask({ parameters: "", registryDir: dir, deploymentId: "", preflightOnly: true }, hre, (l) =>
            checked.push(l),
          ),
        ).to.equal(undefined);
        expect(checked.at(-1)).to.equal("parameters checked; nothing sent (--preflight-only)");
        expect(await ethers.provider.getBlockNumber(), "nothing mined").to.equal(block);
        const typo = path.join(dir, "typo.json");
        fs.writeFileSync(typo, JSON.stringify({ Markets: { hedgeOfset: "1n" } }));
        await expect(
          runDeployTask(
            { parameters: typo, registryDir: dir, deploymentId: "", preflightOnly: false },
            hre,
            () => undefined,
          ),
        ).to.be.rejectedWith(/parameter Markets.hedgeOfset: Markets has no parameter "hedgeOfset"/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
