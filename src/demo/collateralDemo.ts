import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Signer } from "ethers";
import type { MockERC20, Vault } from "../../typechain-types";
import { deployLocal, type LocalProtocol } from "../deploy/local";
import { readAccountCollateral, type AccountCollateral } from "../protocol/collateral";
import { formatFixed, renderTable, usd } from "../report/format";

const MODE_NAMES = ["Cross", "Isolated"];

interface DemoAccount {
  name: string;
  signer: Signer;
  mode: 0 | 1;
  deposits: { token: MockERC20; amount: bigint }[];
}

/** What the demo measured, for tests and for anyone scripting it. */
export interface DemoResult {
  protocol: LocalProtocol;
  accountIds: bigint[];
  before: AccountCollateral[];
  after: AccountCollateral[];
}

async function fund(vault: Vault, token: MockERC20, signer: Signer, accountId: bigint, amount: bigint) {
  const owner = await signer.getAddress();
  await (await token.connect(signer).mint(owner, amount)).wait();
  await (await token.connect(signer).approve(await vault.getAddress(), amount)).wait();
  await (await vault.connect(signer).deposit(accountId, await token.getAddress(), amount)).wait();
}

function collateralTable(names: string[], views: AccountCollateral[], previous?: AccountCollateral[]): string {
  const headers = ["account", "mode", "USDC", "WETH", "WBTC", "value (no haircut)", "collateral value"];
  if (previous) headers.push("change");
  const rows = views.map((v, i) => {
    const amount = (symbol: string) => {
      const h = v.holdings.find((x) => x.symbol === symbol);
      return h ? formatFixed(h.balance, h.decimals, 4) : "-";
    };
    const row = [
      `#${v.accountId} ${names[i]}`,
      MODE_NAMES[v.mode] ?? String(v.mode),
      formatFixed(v.quoteBalance, 18, 2),
      amount("WETH"),
      amount("WBTC"),
      usd(v.rawValue),
      usd(v.collateralValue),
    ];
    if (previous) row.push(usd(v.collateralValue - previous[i].collateralValue));
    return row;
  });
  return renderTable(headers, rows);
}

/**
 * The scripted demo behind `npm run demo`: deploys the local protocol on the connected network,
 * opens three accounts holding USDC, WETH and WBTC, prints each account's collateral value with
 * haircuts, drops ETH by 20 % and prints the change. Every figure is read from the chain (the
 * Vault's own `collateralValue`) and checked against the TypeScript mirror.
 */
export async function runCollateralDemo(
  hre: HardhatRuntimeEnvironment,
  print: (line: string) => void = console.log,
): Promise<DemoResult> {
  print("Deploying the local Crossmargin protocol (ignition/modules/Protocol.ts, parameters local.json)...");
  const protocol = await deployLocal(hre);
  const { vault, usdc, weth, wbtc, ethFeed } = protocol;
  const [, alice, bob, carol] = await hre.ethers.getSigners();
  const unit = (decimals: number) => 10n ** BigInt(decimals);

  const accounts: DemoAccount[] = [
    {
      name: "alice",
      signer: alice,
      mode: 0,
      deposits: [
        { token: usdc, amount: 10_000n * unit(6) },
        { token: weth, amount: 5n * unit(18) },
      ],
    },
    {
      name: "bob",
      signer: bob,
      mode: 0,
      deposits: [
        { token: wbtc, amount: unit(8) / 2n },
        { token: weth, amount: 2n * unit(18) },
      ],
    },
    { name: "carol", signer: carol, mode: 1, deposits: [{ token: usdc, amount: 25_000n * unit(6) }] },
  ];

  const accountIds: bigint[] = [];
  for (const account of accounts) {
    const tx = await vault.connect(account.signer).createAccount(account.mode);
    const receipt = await tx.wait();
    const created = receipt?.logs
      .map((log) => vault.interface.parseLog(log))
      .find((parsed) => parsed?.name === "AccountCreated");
    if (!created) throw new Error(`createAccount by ${account.name} emitted no AccountCreated event`);
    const accountId = created.args.accountId as bigint;
    accountIds.push(accountId);
    for (const d of account.deposits) await fund(vault, d.token, account.signer, accountId, d.amount);
  }

  const readAll = async () => {
    const views = await Promise.all(accountIds.map((id) => readAccountCollateral(vault, id)));
    for (const view of views) {
      const onChain = await vault.collateralValue(view.accountId);
      if (onChain !== view.collateralValue) {
        throw new Error(
          `account ${view.accountId}: Vault.collateralValue ${onChain} differs from the TypeScript mirror ${view.collateralValue}`,
        );
      }
    }
    return views;
  };

  const names = accounts.map((a) => a.name);
  const ethPrice = (await ethFeed.latestRoundData()).answer;
  print("");
  print(`Collateral at ETH ${usd(ethPrice * 10n ** 10n)} (haircuts: WETH 10 %, WBTC 15 %, USDC counted at par)`);
  const before = await readAll();
  print(collateralTable(names, before));

  const crashed = (ethPrice * 80n) / 100n;
  await (await ethFeed.updateAnswer(crashed)).wait();
  print("");
  print(`ETH falls 20 % to ${usd(crashed * 10n ** 10n)}: only accounts holding WETH lose collateral value`);
  const after = await readAll();
  print(collateralTable(names, after, before));

  return { protocol, accountIds, before, after };
}
