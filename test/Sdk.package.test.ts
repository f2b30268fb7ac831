/**
 * The SDK as a dApp gets it: `sdk/` built with tsc and packed with `npm pack` (what `npm run
 * sdk:pack` does), the tarball installed into a fresh project outside this repository next to
 * ethers, then imported — the client, the Node entry and the typed bindings — and type-checked
 * with tsc under both `node16` (package `exports`) and classic `node` resolution (`typesVersions`).
 * A deliberate type error must fail: the types are real, not `any`.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";

const ROOT = path.resolve(__dirname, "..");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  if (result.error) throw result.error;
  return result;
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  expect(result.status, `${what} failed:\n${result.stdout}\n${result.stderr}`).to.equal(0);
  return result.stdout;
}

const CONSUMER = `import {
  ContractRevertError,
  CrossmarginClient,
  parseDeployment,
  type AccountHealth,
  type Deployment,
  type PositionInfo,
  type TradePreview,
} from "@crossmargin/sdk";
import { loadDeployment } from "@crossmargin/sdk/node";
import { MarginLens__factory, Vault__factory, type Vault } from "@crossmargin/sdk/typechain";
import { JsonRpcProvider, type Signer } from "ethers";

export async function main(url: string, signer: Signer): Promise<bigint> {
  const provider = new JsonRpcProvider(url);
  const deployment: Deployment = parseDeployment(loadDeployment(31337));
  const reader = await CrossmarginClient.connect(provider, { deployment });
  const client = await CrossmarginClient.connect(signer, { chainId: 31337, deployments: [deployment] });
  const vault: Vault = Vault__factory.connect(deployment.contracts.Vault.address, provider);
  const lens = MarginLens__factory.connect(deployment.contracts.MarginLens.address, provider);
  const health: AccountHealth = await reader.health(1n);
  const positions: PositionInfo[] = await reader.positions(1n);
  const preview: TradePreview = await client.previewTrade(1n, 1n, 10n ** 18n);
  const { accountId } = await client.createAccount("cross");
  try {
    await client.openPosition(accountId, 1n, 10n ** 18n, { slippageBps: 30 });
  } catch (error) {
    if (error instanceof ContractRevertError) console.log(error.errorName);
  }
  const quote: bigint = await vault.quoteBalance(accountId);
  const onChain = await lens.health(accountId);
  return health.equity + quote + onChain.equity + preview.fee + (positions[0]?.size ?? 0n);
}
`;

describe("SDK package (npm pack → fresh project → tsc)", function () {
  this.timeout(240_000);
  let work: string;
  let tarball: string;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "crossmargin-sdk-"));
    fs.rmSync(path.join(ROOT, "sdk", "dist"), { recursive: true, force: true });
    ok(run(process.execPath, [TSC, "-p", path.join("sdk", "tsconfig.json")], ROOT), "tsc -p sdk/tsconfig.json");
    const packed = JSON.parse(
      ok(run(NPM, ["pack", "./sdk", "--pack-destination", work, "--json"], ROOT), "npm pack"),
    ) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = path.join(work, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    expect(files).to.include.members([
      "package.json",
      "README.md",
      "dist/sdk/src/index.js",
      "dist/sdk/src/index.d.ts",
      "dist/sdk/src/node.js",
      "dist/typechain-types/index.d.ts",
      "dist/src/math/margin.js", // the mirror ships with the client: one copy of the math
    ]);
    expect(files.filter((f) => !f.startsWith("dist/") && !["package.json", "README.md"].includes(f))).to.deep.equal([]);
  });

  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("installs into a fresh project, loads at runtime and type-checks with both module resolutions", () => {
    const app = path.join(work, "dapp");
    fs.mkdirSync(path.join(app, "src"), { recursive: true });
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "dapp", version: "1.0.0", private: true }));
    const ethersVersion = (
      JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "ethers", "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
    ok(
      run(
        NPM,
        [
          "install",
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
          tarball,
          `ethers@${ethersVersion}`,
        ],
        app,
      ),
      "npm install of the tarball",
    );
    const installed = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(installed.dependencies).to.have.keys("@crossmargin/sdk", "ethers");

    const loaded = ok(
      run(
        process.execPath,
        [
          "-e",
          `const sdk = require("@crossmargin/sdk"); const tc = require("@crossmargin/sdk/typechain"); const node = require("@crossmargin/sdk/node");
           console.log([typeof sdk.CrossmarginClient.connect, typeof tc.Vault__factory.connect, typeof node.loadDeployment, sdk.DEPLOYMENT_SCHEMA].join(" "));`,
        ],
        app,
      ),
      "require",
    );
    expect(loaded.trim()).to.equal("function function function crossmargin.deployment/1");

    fs.writeFileSync(path.join(app, "src", "dapp.ts"), CONSUMER);
    for (const [module, moduleResolution] of [
      ["node16", "node16"],
      ["commonjs", "node"],
    ]) {
      const args = [
        TSC,
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "false",
        "--target",
        "es2022",
        "--module",
        module,
        "--moduleResolution",
        moduleResolution,
        "--types",
        "node",
        "src/dapp.ts",
      ];
      // @types/node comes with ethers; skipLibCheck false: the package's own declarations must check too
      ok(run(process.execPath, args, app), `tsc (${moduleResolution})`);
    }
    fs.writeFileSync(
      path.join(app, "src", "wrong.ts"),
      `${CONSUMER}\nexport const wrong: string = (null as unknown as import("@crossmargin/sdk").AccountHealth).equity;\n`,
    );
    const wrong = run(
      process.execPath,
      [
        TSC,
        "--noEmit",
        "--strict",
        "--module",
        "node16",
        "--moduleResolution",
        "node16",
        "--types",
        "node",
        "src/wrong.ts",
      ],
      app,
    );
    expect(wrong.status, "a type error must fail").to.not.equal(0);
    expect(wrong.stdout).to.contain("error TS2322: Type 'bigint' is not assignable to type 'string'.");
  });
});
