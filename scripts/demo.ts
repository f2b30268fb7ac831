import hre from "hardhat";
import { runCollateralDemo } from "../src/demo/collateralDemo";
import { runHedgeDemo } from "../src/demo/hedgeDemo";
import { runLiquidationDemo } from "../src/demo/liquidationDemo";
import { usd } from "../src/report/format";

async function main() {
  const { protocol } = await runCollateralDemo(hre);
  await runHedgeDemo(hre, protocol);
  await runLiquidationDemo(hre, protocol);
  const [pool, insurance] = await Promise.all([protocol.vault.poolBalance(), protocol.vault.insuranceFund()]);
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  console.log("");
  console.log(
    `Pool ${usd(pool)} | insurance fund ${usd(insurance)} | Vault ${await protocol.vault.getAddress()} on chain ${chainId}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
