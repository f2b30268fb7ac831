import hre from "hardhat";
import { runCollateralDemo } from "../src/demo/collateralDemo";

runCollateralDemo(hre).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
