/**
 * The gas of a PublicProtocol deployment, measured by deploying it on the in-process Hardhat
 * chain with mock tokens and feeds standing in for the public network's (same bytecode, same
 * calls, same parameters). Exact for that chain's EVM; on an L2 such as Arbitrum the L1 data fee
 * comes on top, which the preflight's margin is meant to absorb.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import Mocks from "../../ignition/modules/Mocks";
import PublicProtocol from "../../ignition/modules/PublicProtocol";
import { EXTERNAL_FEEDS, EXTERNAL_TOKENS } from "./preflight";
import { loadParameters } from "./parameters";

/** Deploys PublicProtocol over fresh mocks on the in-process chain and returns the gas it used. */
export async function measurePublicDeploymentGas(
  hre: HardhatRuntimeEnvironment,
  parameters: DeploymentParameters,
): Promise<bigint> {
  if (hre.network.name !== "hardhat") {
    throw new Error(`the deployment gas is measured on the in-process network, not on "${hre.network.name}"`);
  }
  const mocks = await hre.ignition.deploy(Mocks, { parameters: { Mocks: loadParameters("local").Mocks ?? {} } });
  const external: Record<string, string> = {};
  for (const key of [...EXTERNAL_TOKENS, ...EXTERNAL_FEEDS.map((f) => f.feed)]) {
    external[key] = await mocks[key].getAddress();
  }
  const seeds = parameters.PublicProtocol ?? {};
  const seedTotal = [seeds.poolSeed, seeds.insuranceSeed].reduce<bigint>(
    (sum, v) => sum + (typeof v === "bigint" ? v : 0n),
    0n,
  );
  const [deployer] = await hre.ethers.getSigners();
  await (await mocks.usdc.getFunction("mint")(deployer.address, seedTotal)).wait();
  // the public file's heartbeats may be tighter than the mocks' age allows; gas does not depend on them
  const measured: DeploymentParameters = { ...parameters, ExternalAssets: external };
  const from = await hre.ethers.provider.getBlockNumber();
  await hre.ignition.deploy(PublicProtocol, { parameters: measured });
  const to = await hre.ethers.provider.getBlockNumber();
  let gas = 0n;
  for (let n = from + 1; n <= to; n++) gas += (await hre.ethers.provider.getBlock(n))?.gasUsed ?? 0n;
  return gas;
}

/**
 * Runs {@link measurePublicDeploymentGas} in a child Hardhat process on the in-process network
 * (the calling process is connected to the public network) and returns its figure.
 */
export function spawnGasMeasurement(root: string, parametersFile: string): Promise<bigint> {
  const cli = path.join(path.dirname(require.resolve("hardhat/package.json")), "internal", "cli", "cli.js");
  const args = [cli, "deploy:gas", "--network", "hardhat", "--parameters", parametersFile];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const match = /^deployment gas: (\d+)$/m.exec(stdout);
      if (code === 0 && match) resolve(BigInt(match[1]));
      else
        reject(
          new Error(
            `measuring the deployment's gas on the in-process chain failed (exit ${code}):\n${stderr.trim() || stdout.trim()}`,
          ),
        );
    });
  });
}
